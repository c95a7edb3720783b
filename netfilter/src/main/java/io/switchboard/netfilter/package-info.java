/** What several backends share: kube-proxy chain names, iptables execution and conntrack cleanup. */
package io.switchboard.netfilter;
