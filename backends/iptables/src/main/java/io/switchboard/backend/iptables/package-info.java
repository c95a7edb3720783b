/**
 * The iptables mode: a pure renderer of kube-proxy's rule layout, and a backend that applies it with
 * iptables-restore, reads it back on full syncs and cleans stale conntrack state.
 */
package io.switchboard.backend.iptables;
