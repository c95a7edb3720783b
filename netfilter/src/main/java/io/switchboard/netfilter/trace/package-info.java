/** A parser for iptables-save / iptables-restore text and a packet tracer over the parsed rules. */
package io.switchboard.netfilter.trace;
