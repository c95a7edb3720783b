/**
 * One small netlink library for every kernel interface Switchboard speaks: a pure codec
 * ({@link io.switchboard.netfilter.netlink.MessageBuilder} writes messages and attributes,
 * {@link io.switchboard.netfilter.netlink.Attributes} reads them, {@link io.switchboard.netfilter.netlink.Replies}
 * splits a receive buffer into messages and errors), tested on byte fixtures, and a thin socket
 * ({@link io.switchboard.netfilter.netlink.NetlinkSocket}, libc through jnr-ffi). ctnetlink
 * (conntrack) and nfnetlink (nf_tables) use it.
 */
package io.switchboard.netfilter.netlink;
