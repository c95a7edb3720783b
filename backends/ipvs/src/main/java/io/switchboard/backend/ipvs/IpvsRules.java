package io.switchboard.backend.ipvs;

import io.switchboard.netfilter.Jump;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpFamily;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The iptables rules and ipsets that go with the IPVS table, under kube-proxy's ipvs-mode names,
 * so {@code ipset list} and {@code iptables-save} read as they do under kube-proxy: IPVS does the
 * load balancing; netfilter marks what must be masqueraded (node-originated traffic to a cluster
 * IP, node ports, external and load-balancer IPs, a pod reaching itself through its service) and
 * lets marked traffic through FORWARD. Each set is rebuilt beside the live one and swapped in, so a
 * set is never seen half-written. Pure.
 */
public final class IpvsRules {
    public static final String SERVICES = "KUBE-SERVICES";
    public static final String POSTROUTING = "KUBE-POSTROUTING";
    public static final String MARK_MASQ = "KUBE-MARK-MASQ";
    public static final String NODE_PORT = "KUBE-NODE-PORT";
    public static final String LOAD_BALANCER = "KUBE-LOAD-BALANCER";
    public static final String FORWARD = "KUBE-FORWARD";
    /** Every chain of this mode, per table. */
    public static final List<String> NAT_CHAINS = List.of(SERVICES, POSTROUTING, MARK_MASQ, NODE_PORT, LOAD_BALANCER);
    public static final String FIREWALL = "KUBE-PROXY-FIREWALL";
    public static final String SOURCE_RANGES_FIREWALL = "KUBE-SOURCE-RANGES-FIREWALL";
    /** Filters new connections to addresses on kube-ipvs0 that no service port serves (kubernetes#72236). */
    public static final String IPVS_FILTER = "KUBE-IPVS-FILTER";
    /** Filter KUBE-NODE-PORT (same name as the nat chain): lets health-check node ports in. */
    public static final String HEALTH_CHECK = NODE_PORT;
    public static final List<String> FILTER_CHAINS = List.of(FORWARD, HEALTH_CHECK, FIREWALL, SOURCE_RANGES_FIREWALL, IPVS_FILTER);

    /** ipset's longest set name (IPSET_MAXNAMELEN 32, with the terminating NUL). */
    static final int MAX_NAME = 31;

    /** One ipset: its kube-proxy name (IPv4 spelling), type and a description. */
    public enum Set {
        CLUSTER_IP("KUBE-CLUSTER-IP", "hash:ip,port", "Kubernetes service cluster ip + port for masquerade purpose"),
        LOOP_BACK("KUBE-LOOP-BACK", "hash:ip,port,ip", "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"),
        EXTERNAL_IP("KUBE-EXTERNAL-IP", "hash:ip,port", "Kubernetes service external ip + port for masquerade and filter purpose"),
        LOAD_BALANCER_IP("KUBE-LOAD-BALANCER", "hash:ip,port", "Kubernetes service lb portal"),
        NODE_PORT_TCP("KUBE-NODE-PORT-TCP", "bitmap:port", "Kubernetes nodeport TCP port for masquerade purpose"),
        NODE_PORT_UDP("KUBE-NODE-PORT-UDP", "bitmap:port", "Kubernetes nodeport UDP port for masquerade purpose"),
        NODE_PORT_SCTP("KUBE-NODE-PORT-SCTP-HASH", "hash:ip,port", "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"),
        LOAD_BALANCER_FW("KUBE-LOAD-BALANCER-FW", "hash:ip,port", "Kubernetes service load balancer ip + port for load balancer with sourceRange"),
        LOAD_BALANCER_SOURCE_CIDR("KUBE-LOAD-BALANCER-SOURCE-CIDR", "hash:ip,port,net",
                "Kubernetes service load balancer ip + port + source cidr for packet filter purpose"),
        HEALTH_CHECK_NODE_PORT("KUBE-HEALTH-CHECK-NODE-PORT", "bitmap:port", "Kubernetes health check node port"),
        IPVS_IPS("KUBE-IPVS-IPS", "hash:ip", "Addresses on the ipvs interface");

        final String v4Name;
        final String type;
        final String comment;

        Set(String v4Name, String type, String comment) {
            this.v4Name = v4Name;
            this.type = type;
            this.comment = comment;
        }

        /**
         * kube-proxy's name in a family: IPv6 sets are {@code KUBE-6-...}, cut to the 31 characters
         * ipset allows ({@code KUBE-6-LOAD-BALANCER-SOURCE-CID}).
         */
        public String name(IpFamily f) {
            String n = f == IpFamily.IPV4 ? v4Name : "KUBE-6-" + v4Name.substring("KUBE-".length());
            return n.length() > MAX_NAME ? n.substring(0, MAX_NAME) : n;
        }
    }

    /** Restore input for one family: iptables-restore text and ipset restore text. */
    public record Rendered(String iptables, String ipsets) {
    }

    /**
     * @param family        the family rendered
     * @param clusterCidrs  pod CIDRs of the family: traffic from outside them to a cluster IP is masqueraded
     * @param masqueradeAll masquerade all traffic to cluster IPs
     * @param masqueradeBit the fwmark bit of KUBE-MARK-MASQ (kube-proxy's default: 14)
     * @param missingJumps  jumps from built-in chains that the kernel lacks
     */
    public record Settings(IpFamily family, List<Cidr> clusterCidrs, boolean masqueradeAll, int masqueradeBit,
                           List<Jump> missingJumps) {
        public Settings {
            clusterCidrs = List.copyOf(clusterCidrs);
            missingJumps = List.copyOf(missingJumps);
        }
    }

    /**
     * The jumps into this mode's chains, each inserted first, in kube-proxy's order (so the built-in
     * chains end up as under kube-proxy: in INPUT, the ipvs access filter, then the firewall, then
     * the health-check rules).
     */
    public static final List<Jump> JUMPS = List.of(
            new Jump("nat", "OUTPUT", "-m comment --comment \"kubernetes service portals\" -j " + SERVICES, true),
            new Jump("nat", "PREROUTING", "-m comment --comment \"kubernetes service portals\" -j " + SERVICES, true),
            new Jump("nat", "POSTROUTING", "-m comment --comment \"kubernetes postrouting rules\" -j " + POSTROUTING, true),
            new Jump("filter", "FORWARD", "-m comment --comment \"kubernetes forwarding rules\" -j " + FORWARD, true),
            new Jump("filter", "INPUT", "-m comment --comment \"kubernetes health check rules\" -j " + HEALTH_CHECK, true),
            new Jump("filter", "INPUT", "-m comment --comment \"kube-proxy firewall rules\" -j " + FIREWALL, true),
            new Jump("filter", "FORWARD", "-m comment --comment \"kube-proxy firewall rules\" -j " + FIREWALL, true),
            new Jump("filter", "INPUT", "-m comment --comment \"kubernetes ipvs access filter\" -j " + IPVS_FILTER, true));

    private IpvsRules() {
    }

    static String proto(int protocol) {
        return switch (protocol) {
            case VirtualServer.UDP -> "udp";
            case VirtualServer.SCTP -> "sctp";
            default -> "tcp";
        };
    }

    static String ipPort(io.switchboard.core.model.IpAddress ip, int protocol, int port) {
        return ip + "," + proto(protocol) + ":" + port;
    }

    /** The members each set should hold, for one family. */
    public static java.util.Map<Set, SortedSet<String>> members(List<IpvsDesired.Entry> entries, IpFamily family) {
        java.util.Map<Set, SortedSet<String>> m = new java.util.EnumMap<>(Set.class);
        for (Set s : Set.values()) {
            m.put(s, new TreeSet<>());
        }
        for (IpvsDesired.Entry e : entries) {
            members(e, family, (set, value) -> m.get(set).add(value));
        }
        return m;
    }

    /** The set members one virtual server's entry puts in, for one family (none for another family's entry). */
    static void members(IpvsDesired.Entry e, IpFamily family, java.util.function.BiConsumer<Set, String> sink) {
        if (e.key().family() != family) {
            return;
        }
        int proto = e.key().protocol();
        if (e.kind() != IpvsDesired.Kind.NODE_PORT) {
            // the address is bound to kube-ipvs0
            sink.accept(Set.IPVS_IPS, e.key().address().toString());
        }
        if (e.service().healthCheckNodePort() != 0 && e.service().externalPolicyLocal()) {
            sink.accept(Set.HEALTH_CHECK_NODE_PORT, Integer.toString(e.service().healthCheckNodePort()));
        }
        switch (e.kind()) {
            case CLUSTER_IP -> {
                sink.accept(Set.CLUSTER_IP, ipPort(e.key().address(), proto, e.key().port()));
                for (Endpoint ep : e.endpoints()) {
                    sink.accept(Set.LOOP_BACK, ep.ip() + "," + proto(proto) + ":" + ep.port() + "," + ep.ip());
                }
            }
            case EXTERNAL_IP -> sink.accept(Set.EXTERNAL_IP, ipPort(e.key().address(), proto, e.key().port()));
            case LOAD_BALANCER -> {
                String lb = ipPort(e.key().address(), proto, e.key().port());
                sink.accept(Set.LOAD_BALANCER_IP, lb);
                boolean ranges = false;
                for (Cidr c : e.service().loadBalancerSourceRanges()) {
                    if (c.family() == family) {
                        sink.accept(Set.LOAD_BALANCER_SOURCE_CIDR, lb + "," + c);
                        ranges = true;
                    }
                }
                if (ranges) {
                    sink.accept(Set.LOAD_BALANCER_FW, lb);
                }
            }
            case NODE_PORT -> {
                if (proto == VirtualServer.TCP) {
                    sink.accept(Set.NODE_PORT_TCP, Integer.toString(e.key().port()));
                } else if (proto == VirtualServer.UDP) {
                    sink.accept(Set.NODE_PORT_UDP, Integer.toString(e.key().port()));
                } else {
                    sink.accept(Set.NODE_PORT_SCTP, ipPort(e.key().address(), proto, e.key().port()));
                }
            }
        }
    }

    /** kube-proxy's default set size; a set that must hold more gets room for twice its members. */
    static final int DEFAULT_MAXELEM = 65536;

    static int maxelem(int members) {
        int want = Math.max(DEFAULT_MAXELEM, members * 2);
        return Integer.highestOneBit(want - 1) << 1;
    }

    private static String create(Set s, String name, IpFamily f, int members) {
        String opts = s.type.startsWith("bitmap:") ? "range 0-65535" : "family " + (f == IpFamily.IPV4 ? "inet" : "inet6")
                + " hashsize 1024 maxelem " + maxelem(members);
        return "create " + name + " " + s.type + " " + opts + " comment";
    }

    /** The swap set used while one set is rebuilt (31 characters at most, as ipset allows). */
    static String scratch(IpFamily f) {
        return f == IpFamily.IPV4 ? "KUBE-SWITCHBOARD-SWAP" : "KUBE-6-SWITCHBOARD-SWAP";
    }

    /**
     * The ipset restore input that turns the members {@code before} into {@code after} in place:
     * only the entries that changed (a sync between full ones touches a handful, not every set);
     * empty when nothing changed. {@code -exist} makes a repeated add or a missing del harmless.
     */
    public static String ipsetDelta(java.util.Map<Set, SortedSet<String>> before, java.util.Map<Set, SortedSet<String>> after,
                                    IpFamily f) {
        StringBuilder out = new StringBuilder();
        for (Set set : Set.values()) {
            SortedSet<String> was = before.getOrDefault(set, new TreeSet<>());
            SortedSet<String> now = after.getOrDefault(set, new TreeSet<>());
            for (String m : was) {
                if (!now.contains(m)) {
                    out.append("del ").append(set.name(f)).append(' ').append(m).append(" -exist\n");
                }
            }
            for (String m : now) {
                if (!was.contains(m)) {
                    out.append("add ").append(set.name(f)).append(' ').append(m).append(" comment \"").append(set.comment)
                            .append("\" -exist\n");
                }
            }
        }
        return out.toString();
    }

    /**
     * @param existing the sets that exist in the kernel now (by name): a set is rebuilt in a scratch
     *                 set sized for its members, then swapped with the live one (or renamed to it,
     *                 the first time), so a set is never seen half-written and grows past kube-proxy's
     *                 default 65,536 members when it must
     */
    public static Rendered render(List<IpvsDesired.Entry> entries, Settings s, java.util.Set<String> existing) {
        IpFamily f = s.family();
        java.util.Map<Set, SortedSet<String>> members = members(entries, f);
        StringBuilder ips = new StringBuilder();
        String tmp = scratch(f);
        if (existing.contains(tmp)) {
            // left over from a restore that failed half-way
            ips.append("destroy ").append(tmp).append('\n');
        }
        for (Set set : Set.values()) {
            String name = set.name(f);
            ips.append(create(set, tmp, f, members.get(set).size())).append('\n');
            for (String m : members.get(set)) {
                ips.append("add ").append(tmp).append(' ').append(m).append(" comment \"").append(set.comment).append("\"\n");
            }
            if (existing.contains(name)) {
                ips.append("swap ").append(tmp).append(' ').append(name).append('\n');
                ips.append("destroy ").append(tmp).append('\n');
            } else {
                ips.append("rename ").append(tmp).append(' ').append(name).append('\n');
            }
        }

        String mark = "0x" + Integer.toHexString(1 << s.masqueradeBit());
        List<String> nat = new ArrayList<>();
        nat.add("*nat");
        for (String c : NAT_CHAINS) {
            nat.add(":" + c + " - [0:0]");
        }
        for (Jump j : s.missingJumps()) {
            if (j.table().equals("nat")) {
                nat.add(j.line());
            }
        }
        // connections to localhost are nothing of ours: dismissed first, as kube-proxy does
        nat.add("-A " + SERVICES + " -s " + (f == IpFamily.IPV4 ? "127.0.0.0/8" : "::1/128") + " -j RETURN");
        nat.add("-A " + POSTROUTING + " -m comment --comment \"" + Set.LOOP_BACK.comment + "\" -m set --match-set "
                + Set.LOOP_BACK.name(f) + " dst,dst,src -j MASQUERADE");
        nat.add("-A " + POSTROUTING + " -m mark ! --mark " + mark + "/" + mark + " -j RETURN");
        nat.add("-A " + POSTROUTING + " -j MARK --xor-mark " + mark);
        nat.add("-A " + POSTROUTING + " -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully");
        nat.add("-A " + MARK_MASQ + " -j MARK --or-mark " + mark);
        String cluster = "-m comment --comment \"" + Set.CLUSTER_IP.comment + "\" -m set --match-set " + Set.CLUSTER_IP.name(f) + " dst,dst";
        if (s.masqueradeAll()) {
            nat.add("-A " + SERVICES + " " + cluster + " -j " + MARK_MASQ);
        } else {
            for (Cidr c : s.clusterCidrs()) {
                if (c.family() == f) {
                    nat.add("-A " + SERVICES + " ! -s " + c + " " + cluster + " -j " + MARK_MASQ);
                }
            }
        }
        nat.add("-A " + SERVICES + " -m comment --comment \"" + Set.EXTERNAL_IP.comment + "\" -m set --match-set "
                + Set.EXTERNAL_IP.name(f) + " dst,dst -j " + MARK_MASQ);
        nat.add("-A " + SERVICES + " -m comment --comment \"" + Set.LOAD_BALANCER_IP.comment + "\" -m set --match-set "
                + Set.LOAD_BALANCER_IP.name(f) + " dst,dst -j " + LOAD_BALANCER);
        nat.add("-A " + LOAD_BALANCER + " -j " + MARK_MASQ);
        nat.add("-A " + SERVICES + " -m addrtype --dst-type LOCAL -j " + NODE_PORT);
        nat.add("-A " + NODE_PORT + " -p tcp -m comment --comment \"" + Set.NODE_PORT_TCP.comment + "\" -m set --match-set "
                + Set.NODE_PORT_TCP.name(f) + " dst -j " + MARK_MASQ);
        nat.add("-A " + NODE_PORT + " -p udp -m comment --comment \"" + Set.NODE_PORT_UDP.comment + "\" -m set --match-set "
                + Set.NODE_PORT_UDP.name(f) + " dst -j " + MARK_MASQ);
        nat.add("-A " + NODE_PORT + " -p sctp -m comment --comment \"" + Set.NODE_PORT_SCTP.comment + "\" -m set --match-set "
                + Set.NODE_PORT_SCTP.name(f) + " dst,dst -j " + MARK_MASQ);
        nat.add("-A " + SERVICES + " -m set --match-set " + Set.CLUSTER_IP.name(f) + " dst,dst -j ACCEPT");
        nat.add("COMMIT");
        List<String> filter = new ArrayList<>();
        filter.add("*filter");
        for (String c : FILTER_CHAINS) {
            filter.add(":" + c + " - [0:0]");
        }
        for (Jump j : s.missingJumps()) {
            if (j.table().equals("filter")) {
                filter.add(j.line());
            }
        }
        // loadBalancerSourceRanges: traffic to such a load-balancer IP and port from outside its
        // ranges is dropped before IPVS sees it (filter INPUT runs before IPVS's LOCAL_IN hook)
        filter.add("-A " + FIREWALL + " -m comment --comment \"" + Set.LOAD_BALANCER_FW.comment + "\" -m set --match-set "
                + Set.LOAD_BALANCER_FW.name(f) + " dst,dst -j " + SOURCE_RANGES_FIREWALL);
        filter.add("-A " + SOURCE_RANGES_FIREWALL + " -m comment --comment \"" + Set.LOAD_BALANCER_SOURCE_CIDR.comment
                + "\" -m set --match-set " + Set.LOAD_BALANCER_SOURCE_CIDR.name(f) + " dst,dst,src -j RETURN");
        filter.add("-A " + SOURCE_RANGES_FIREWALL + " -j DROP");
        filter.add("-A " + FORWARD + " -m comment --comment \"kubernetes forwarding rules\" -m mark --mark " + mark + "/" + mark + " -j ACCEPT");
        filter.add("-A " + FORWARD + " -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
        // health-check node ports are let in even where INPUT's policy drops
        filter.add("-A " + HEALTH_CHECK + " -m comment --comment \"" + Set.HEALTH_CHECK_NODE_PORT.comment + "\" -m set --match-set "
                + Set.HEALTH_CHECK_NODE_PORT.name(f) + " dst -j ACCEPT");
        // every service address is local (on kube-ipvs0), so without this a node process listening on
        // 0.0.0.0:port would answer on every cluster IP at that port: a new connection to an address
        // of kube-ipvs0 is refused unless a service port serves it (kubernetes#72236)
        for (Set served : List.of(Set.LOAD_BALANCER_IP, Set.CLUSTER_IP, Set.EXTERNAL_IP)) {
            filter.add("-A " + IPVS_FILTER + " -m set --match-set " + served.name(f) + " dst,dst -j RETURN");
        }
        filter.add("-A " + IPVS_FILTER + " -m set --match-set " + Set.HEALTH_CHECK_NODE_PORT.name(f) + " dst -j RETURN");
        filter.add("-A " + IPVS_FILTER + " -m conntrack --ctstate NEW -m set --match-set " + Set.IPVS_IPS.name(f) + " dst -j REJECT");
        filter.add("COMMIT");
        StringBuilder ipt = new StringBuilder();
        for (String l : nat) {
            ipt.append(l).append('\n');
        }
        for (String l : filter) {
            ipt.append(l).append('\n');
        }
        return new Rendered(ipt.toString(), ips.toString());
    }
}
