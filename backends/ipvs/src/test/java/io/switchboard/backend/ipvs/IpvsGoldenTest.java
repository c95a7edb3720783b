package io.switchboard.backend.ipvs;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.model.SessionAffinity;
import io.switchboard.core.model.TrafficPolicy;
import io.switchboard.core.sync.ProxySnapshot;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Golden output of the ipvs mode's pure parts for kube-proxy-like scenarios: the IPVS table the
 * snapshot asks for (printed as {@code ipvsadm -Ln} prints it), the ipset restore input and the
 * iptables restore input, compared with {@code src/test/resources/golden/*} (regenerate with
 * {@code -Dgolden.update=true} and review the diff).
 */
class IpvsGoldenTest {
    static final String NODE = "node-1";
    final TreeMap<ServicePortName, ServicePort> services = new TreeMap<>();
    final TreeMap<ServicePortName, List<Endpoint>> endpoints = new TreeMap<>();

    static ServicePortName spn(String nsName, String port, Protocol proto) {
        String[] p = nsName.split("/");
        return new ServicePortName(new NamespacedName(p[0], p[1]), port, proto);
    }

    IpvsGoldenTest svc(String nsName, String port, Protocol proto, int number, String clusterIp, Consumer<ServicePort.Builder> more) {
        ServicePort.Builder b = ServicePort.builder(spn(nsName, port, proto)).clusterIp(clusterIp).port(number);
        more.accept(b);
        services.put(spn(nsName, port, proto), b.build());
        return this;
    }

    /** Endpoints "ip" (another node) or "ip@local" (this node). */
    IpvsGoldenTest eps(String nsName, String port, Protocol proto, int target, String... eps) {
        List<Endpoint> list = new ArrayList<>();
        for (String e : eps) {
            list.add(new Endpoint(IpAddress.parse(e.split("@")[0]), target, true, true, false, e.endsWith("@local") ? NODE : "node-2",
                    "", Set.of(), Set.of()));
        }
        endpoints.put(spn(nsName, port, proto), list);
        return this;
    }

    static List<IpAddress> ips(String... a) {
        List<IpAddress> out = new ArrayList<>();
        for (String s : a) {
            out.add(IpAddress.parse(s));
        }
        return out;
    }

    ProxySnapshot snapshot(IpFamily f, String nodeIp) {
        return ProxySnapshot.build(new TreeMap<>(services), new TreeMap<>(endpoints),
                new NodeInfo(NODE, Map.of(), List.of(IpAddress.parse(nodeIp)), List.of(), true), Set.of(f), Set.of(), true, null);
    }

    /** The table as {@code ipvsadm -Ln} lists it (without connection counts). */
    static String ipvsadm(IpvsState s) {
        StringBuilder out = new StringBuilder();
        for (VirtualServer vs : s.services().values()) {
            String a = vs.family() == IpFamily.IPV4 ? vs.address().toString() : "[" + vs.address() + "]";
            out.append(VirtualServer.protocolName(vs.protocol())).append("  ").append(a).append(':').append(vs.port())
                    .append(' ').append(vs.scheduler()).append(vs.persistent() ? " persistent " + vs.timeoutSeconds() : "").append('\n');
            for (RealServer r : s.destinationsOf(vs.key()).values()) {
                String ra = r.address().family() == IpFamily.IPV4 ? r.address().toString() : "[" + r.address() + "]";
                out.append("  -> ").append(ra).append(':').append(r.port()).append(" Masq ").append(r.weight()).append('\n');
            }
        }
        out.append("kube-ipvs0:");
        s.bound().forEach(b -> out.append(' ').append(b.hostCidr()));
        return out.append('\n').toString();
    }

    static void check(String golden, String actual) throws IOException {
        io.switchboard.core.testing.Golden.check(Path.of("src/test/resources/golden", golden), actual);
    }

    void golden(String name, IpFamily f, String nodeIp, String cidr, boolean masqueradeAll) throws IOException {
        IpvsDesired.Result r = IpvsDesired.of(snapshot(f, nodeIp), Set.of(f), "rr", Map.of(f, List.of(IpAddress.parse(nodeIp))));
        check(name + ".ipvs", ipvsadm(r.state()));
        IpvsRules.Rendered rules = IpvsRules.render(r.entries(), new IpvsRules.Settings(f, List.of(Cidr.parse(cidr)), masqueradeAll, 14,
                IpvsRules.JUMPS), Set.of("KUBE-CLUSTER-IP", "KUBE-6-CLUSTER-IP"));
        check(name + ".ipset", rules.ipsets());
        check(name + ".iptables", rules.iptables());
    }

    @Test
    void kubeProxysOverallScenario() throws IOException {
        svc("ns1/svc1", "p80", Protocol.TCP, 80, "172.30.0.41", b -> { })
                .eps("ns1/svc1", "p80", Protocol.TCP, 80, "10.180.0.1")
                .svc("ns2/svc2", "p80", Protocol.TCP, 80, "172.30.0.42", b -> b.nodePort(3001)
                        .loadBalancerIps(ips("1.2.3.4")).externalIps(ips("192.168.99.22"))
                        .externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(30000))
                .eps("ns2/svc2", "p80", Protocol.TCP, 80, "10.180.0.2", "10.180.0.22@local")
                .svc("ns3/svc3", "p80", Protocol.TCP, 80, "172.30.0.43", b -> b.nodePort(3003))
                .eps("ns3/svc3", "p80", Protocol.TCP, 80, "10.180.0.3")
                .svc("ns5/svc5", "p80", Protocol.TCP, 80, "172.30.0.45", b -> b.sessionAffinity(SessionAffinity.clientIp(10800)))
                .eps("ns5/svc5", "p80", Protocol.TCP, 80, "10.180.0.3", "10.180.0.4")
                .svc("ns6/svc6", "p80", Protocol.TCP, 80, "172.30.0.46", b -> { })
                .svc("ns7/svc7", "p80", Protocol.TCP, 80, "172.30.0.47", b -> b.loadBalancerIps(ips("5.6.7.8"))
                        .loadBalancerSourceRanges(List.of(Cidr.parse("203.0.113.0/25"), Cidr.parse("198.51.100.0/24"))))
                .eps("ns7/svc7", "p80", Protocol.TCP, 80, "10.180.0.7")
                .svc("kube-system/kube-dns", "dns", Protocol.UDP, 53, "172.30.0.10", b -> b.nodePort(30053))
                .eps("kube-system/kube-dns", "dns", Protocol.UDP, 5353, "10.180.0.9", "10.180.0.10");
        golden("overall", IpFamily.IPV4, "192.168.0.2", "10.180.0.0/16", false);
    }

    @Test
    void betweenFullSyncsOnlyTheChangedSetMembersAreWritten() {
        svc("ns1/svc1", "p80", Protocol.TCP, 80, "172.30.0.41", b -> b.nodePort(30080))
                .eps("ns1/svc1", "p80", Protocol.TCP, 80, "10.180.0.1", "10.180.0.2");
        Map<IpvsRules.Set, java.util.SortedSet<String>> before = IpvsRules.members(
                IpvsDesired.of(snapshot(IpFamily.IPV4, "192.168.0.2"), Set.of(IpFamily.IPV4), "rr",
                        Map.of(IpFamily.IPV4, List.of(IpAddress.parse("192.168.0.2")))).entries(), IpFamily.IPV4);
        eps("ns1/svc1", "p80", Protocol.TCP, 80, "10.180.0.1", "10.180.0.3");
        Map<IpvsRules.Set, java.util.SortedSet<String>> after = IpvsRules.members(
                IpvsDesired.of(snapshot(IpFamily.IPV4, "192.168.0.2"), Set.of(IpFamily.IPV4), "rr",
                        Map.of(IpFamily.IPV4, List.of(IpAddress.parse("192.168.0.2")))).entries(), IpFamily.IPV4);
        assertThat(IpvsRules.ipsetDelta(before, after, IpFamily.IPV4)).isEqualTo(
                "del KUBE-LOOP-BACK 10.180.0.2,tcp:80,10.180.0.2 -exist\n"
                        + "add KUBE-LOOP-BACK 10.180.0.3,tcp:80,10.180.0.3 comment \"Kubernetes endpoints dst ip:port, source ip for"
                        + " solving hairpin purpose\" -exist\n");
        assertThat(IpvsRules.ipsetDelta(after, after, IpFamily.IPV4)).isEmpty();
        // IPv6 sets are KUBE-6-...
        assertThat(IpvsRules.ipsetDelta(Map.of(), after, IpFamily.IPV6)).contains("add KUBE-6-CLUSTER-IP 172.30.0.41,tcp:80 ",
                "add KUBE-6-NODE-PORT-TCP 30080 ");
    }

    @Test
    void setNamesFitIpsetsLimit() {
        for (IpvsRules.Set set : IpvsRules.Set.values()) {
            for (IpFamily f : IpFamily.values()) {
                assertThat(set.name(f).length()).as(set.name(f)).isLessThanOrEqualTo(31);
            }
        }
        assertThat(IpvsRules.Set.LOAD_BALANCER_SOURCE_CIDR.name(IpFamily.IPV6)).isEqualTo("KUBE-6-LOAD-BALANCER-SOURCE-CID");
        assertThat(IpvsRules.scratch(IpFamily.IPV6).length()).isLessThanOrEqualTo(31);
    }

    @Test
    void aSetLargerThanKubeProxysDefaultGetsRoomForTwiceItsMembers() {
        assertThat(IpvsRules.maxelem(0)).isEqualTo(65536);
        assertThat(IpvsRules.maxelem(32768)).isEqualTo(65536);
        assertThat(IpvsRules.maxelem(32769)).isEqualTo(131072);
        assertThat(IpvsRules.maxelem(100_000)).isEqualTo(262144);
    }

    @Test
    void ipv6AndLocalPolicies() throws IOException {
        svc("ns1/svc1", "p80", Protocol.TCP, 80, "fd00:172:30::41", b -> b.nodePort(30001)
                .sessionAffinity(SessionAffinity.clientIp(600)))
                .eps("ns1/svc1", "p80", Protocol.TCP, 80, "fd00:10:180::1", "fd00:10:180::2:1@local")
                .svc("ns1/itp", "p80", Protocol.TCP, 80, "fd00:172:30::42", b -> b.internalPolicy(TrafficPolicy.LOCAL))
                .eps("ns1/itp", "p80", Protocol.TCP, 80, "fd00:10:180::3", "fd00:10:180::4@local");
        golden("ipv6", IpFamily.IPV6, "fd00::2", "fd00:10:180::/64", true);
    }
}
