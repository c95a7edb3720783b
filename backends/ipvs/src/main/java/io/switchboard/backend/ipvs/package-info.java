/**
 * {@code --proxy-mode=ipvs}: the IPVS table a snapshot asks for
 * ({@link io.switchboard.backend.ipvs.IpvsDesired}, pure), diffed against the kernel's by
 * {@link io.switchboard.backend.ipvs.IpvsPlanner} (pure) and applied over generic netlink
 * ({@link io.switchboard.backend.ipvs.NetlinkIpvs}, codec {@link io.switchboard.backend.ipvs.IpvsCodec});
 * service addresses on the {@code kube-ipvs0} dummy link; kube-proxy's companion ipsets and
 * iptables rules rendered by {@link io.switchboard.backend.ipvs.IpvsRules}.
 */
package io.switchboard.backend.ipvs;
