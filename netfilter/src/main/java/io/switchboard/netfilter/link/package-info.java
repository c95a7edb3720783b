/**
 * Network links and their addresses over rtnetlink: the dummy interface IPVS mode binds service
 * addresses to ({@code kube-ipvs0}). A pure codec ({@link io.switchboard.netfilter.link.RtnlCodec})
 * and a thin client on the shared netlink socket ({@link io.switchboard.netfilter.link.NetlinkLinks}).
 */
package io.switchboard.netfilter.link;
