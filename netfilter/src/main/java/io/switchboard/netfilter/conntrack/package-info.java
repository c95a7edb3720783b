/** Stale UDP conntrack cleanup: a pure planner and ctnetlink (jnr-ffi) to dump and delete entries. */
package io.switchboard.netfilter.conntrack;
