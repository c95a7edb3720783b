/**
 * Parsers for iptables-save / iptables-restore text and for {@code nft list table} output, and
 * packet tracers over each ({@link io.switchboard.netfilter.trace.Tracer}).
 */
package io.switchboard.netfilter.trace;
