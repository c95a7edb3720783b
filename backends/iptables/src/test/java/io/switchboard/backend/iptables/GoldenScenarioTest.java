package io.switchboard.backend.iptables;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.SessionAffinity;
import io.switchboard.core.model.TrafficPolicy;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.netfilter.trace.PacketTracer;
import io.switchboard.netfilter.trace.PacketTracer.Packet;
import io.switchboard.netfilter.trace.RuleSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Golden scenarios: objects in, restore text and traced flows out, compared with
 * {@code src/test/resources/golden/NAME.golden}. Regenerate with {@code -Dgolden.update=true}
 * and review the diff.
 */
class GoldenScenarioTest {
    private static final Path GOLDEN = Path.of(System.getProperty("switchboard.repo", "../.."))
            .resolve("backends/iptables/src/test/resources/golden");
    private static final String POD = "10.0.1.5";
    private static final String OUTSIDE = "203.0.113.9";
    private static final String NODE = Scenario.NODE_IP;

    static Packet pod(String dst, String proto, int port) {
        return Packet.arriving(POD, dst, proto, port, "cni0");
    }

    static Packet outside(String dst, String proto, int port) {
        return Packet.arriving(OUTSIDE, dst, proto, port, "eth0");
    }

    static Packet node(String dst, String proto, int port) {
        return Packet.fromNode(NODE, dst, proto, port);
    }

    static Stream<Scenario> scenarios() {
        return Stream.of(
                new Scenario("cluster-ip")
                        .svc("ns1/svc1", "p80", Protocol.TCP, 80, "172.30.0.41", b -> { })
                        .slice("ns1/svc1", "p80", Protocol.TCP, 80, "10.180.0.1")
                        .svc("ns2/svc2", "p80", Protocol.TCP, 80, "172.30.0.42", b -> { })
                        .slice("ns2/svc2", "p80", Protocol.TCP, 8080, "10.180.0.2", "10.180.0.3", "10.180.0.4")
                        .svc("kube-system/kube-dns", "dns", Protocol.UDP, 53, "172.30.0.10", b -> { })
                        .slice("kube-system/kube-dns", "dns", Protocol.UDP, 53, "10.180.0.53")
                        .svc("ns3/empty", "p80", Protocol.TCP, 80, "172.30.0.43", b -> { })
                        .flow(pod("172.30.0.41", "tcp", 80))
                        .flow(pod("172.30.0.42", "tcp", 80))
                        .flow(pod("172.30.0.10", "udp", 53))
                        .flow(pod("172.30.0.43", "tcp", 80))
                        .flow(outside("172.30.0.41", "tcp", 80))
                        .flow(node("172.30.0.41", "tcp", 80))
                        .flow(pod("172.30.0.41", "tcp", 81))
                        .flow(pod("10.180.0.1", "tcp", 80)),
                new Scenario("hairpin")
                        .svc("ns1/svc1", "p80", Protocol.TCP, 80, "172.30.0.41", b -> { })
                        .slice("ns1/svc1", "p80", Protocol.TCP, 80, "10.0.1.5")
                        .flow(pod("172.30.0.41", "tcp", 80)),
                new Scenario("nodeport")
                        .svc("ns1/np", "p80", Protocol.TCP, 80, "172.30.0.50", b -> b.nodePort(30080))
                        .slice("ns1/np", "p80", Protocol.TCP, 8080, "10.180.0.1", "10.0.1.9@local")
                        .svc("ns1/np-local", "p80", Protocol.TCP, 80, "172.30.0.51",
                                b -> b.nodePort(30081).externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(32000))
                        .slice("ns1/np-local", "p80", Protocol.TCP, 8080, "10.180.0.2", "10.0.1.10@local")
                        .svc("ns1/np-nolocal", "p80", Protocol.TCP, 80, "172.30.0.52",
                                b -> b.nodePort(30082).externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(32001))
                        .slice("ns1/np-nolocal", "p80", Protocol.TCP, 8080, "10.180.0.3")
                        .svc("ns1/np-empty", "p80", Protocol.TCP, 80, "172.30.0.53", b -> b.nodePort(30083))
                        .flow(outside(NODE, "tcp", 30080))
                        .flow(outside(NODE, "tcp", 30081))
                        .flow(pod(NODE, "tcp", 30081))
                        .flow(node(NODE, "tcp", 30081))
                        .flow(outside(NODE, "tcp", 30082))
                        .flow(pod("172.30.0.52", "tcp", 80))
                        .flow(outside(NODE, "tcp", 30083))
                        .flow(node("127.0.0.1", "tcp", 30080))
                        .flow(outside(NODE, "tcp", 32000)),
                nodePortAddresses(),
                new Scenario("external-and-loadbalancer")
                        .svc("ns1/ext", "p80", Protocol.TCP, 80, "172.30.0.60",
                                b -> b.externalIps(List.of(IpAddress.parse("192.0.2.10"))))
                        .slice("ns1/ext", "p80", Protocol.TCP, 80, "10.180.0.1")
                        .svc("ns1/lb", "p443", Protocol.TCP, 443, "172.30.0.61",
                                b -> b.nodePort(30443).loadBalancerIps(List.of(IpAddress.parse("198.51.100.7"))))
                        .slice("ns1/lb", "p443", Protocol.TCP, 8443, "10.180.0.2")
                        .svc("ns1/lb-fw", "p443", Protocol.TCP, 443, "172.30.0.62",
                                b -> b.nodePort(30444).loadBalancerIps(List.of(IpAddress.parse("198.51.100.8")))
                                        .loadBalancerSourceRanges(List.of(Cidr.parse("203.0.113.0/25"), Cidr.parse("192.168.0.0/24"))))
                        .slice("ns1/lb-fw", "p443", Protocol.TCP, 8443, "10.180.0.3")
                        .svc("ns1/lb-empty", "p80", Protocol.TCP, 80, "172.30.0.63",
                                b -> b.loadBalancerIps(List.of(IpAddress.parse("198.51.100.9")))
                                        .externalIps(List.of(IpAddress.parse("192.0.2.11"))))
                        .flow(outside("192.0.2.10", "tcp", 80))
                        .flow(outside("198.51.100.7", "tcp", 443))
                        .flow(outside("198.51.100.8", "tcp", 443))
                        .flow(Packet.arriving("198.18.0.1", "198.51.100.8", "tcp", 443, "eth0"))
                        .flow(outside("198.51.100.9", "tcp", 80))
                        .flow(outside("192.0.2.11", "tcp", 80)),
                new Scenario("session-affinity")
                        .svc("ns1/sticky", "p80", Protocol.TCP, 80, "172.30.0.70",
                                b -> b.sessionAffinity(SessionAffinity.clientIp(600)))
                        .slice("ns1/sticky", "p80", Protocol.TCP, 80, "10.180.0.1", "10.180.0.2")
                        .flow(pod("172.30.0.70", "tcp", 80)),
                new Scenario("internal-traffic-policy-local")
                        .svc("ns1/itp", "p80", Protocol.TCP, 80, "172.30.0.80", b -> b.internalPolicy(TrafficPolicy.LOCAL))
                        .slice("ns1/itp", "p80", Protocol.TCP, 80, "10.180.0.1", "10.0.1.7@local")
                        .svc("ns1/itp-none", "p80", Protocol.TCP, 80, "172.30.0.81", b -> b.internalPolicy(TrafficPolicy.LOCAL))
                        .slice("ns1/itp-none", "p80", Protocol.TCP, 80, "10.180.0.2")
                        // both policies Local with a node port: pod and node traffic to the node port
                        // short-circuits to the Cluster chain, which must exist (kube-proxy's rules)
                        .svc("ns1/both-local", "p80", Protocol.TCP, 80, "172.30.0.82", b -> b.internalPolicy(TrafficPolicy.LOCAL)
                                .nodePort(30090).externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(32090))
                        .slice("ns1/both-local", "p80", Protocol.TCP, 80, "10.180.0.3", "10.0.1.8@local")
                        .flow(pod("172.30.0.80", "tcp", 80))
                        .flow(pod("172.30.0.81", "tcp", 80))
                        .flow(pod("172.30.0.82", "tcp", 80))
                        .flow(pod(NODE, "tcp", 30090))
                        .flow(outside(NODE, "tcp", 30090)),
                new Scenario("terminating-fallback")
                        .svc("ns1/term", "p80", Protocol.TCP, 80, "172.30.0.90", b -> { })
                        .slice("ns1/term", "p80", Protocol.TCP, 80, "10.180.0.1!term", "10.180.0.2!term")
                        .flow(pod("172.30.0.90", "tcp", 80)),
                masqueradeAll(),
                detectBridge(),
                detectPrefix(),
                noDetector(),
                masqueradeBit(),
                ipv6(),
                largeCluster(),
                dualStackMixed()
        );
    }

    /** Every scenario in every form it can take: IPv4 scenarios also as IPv6 and as dual-stack. */
    static Stream<Scenario> matrix() {
        return scenarios().flatMap(s -> s.translatable()
                ? Stream.of(s, s.in(Scenario.Form.IPV6), s.in(Scenario.Form.DUAL_STACK))
                : Stream.of(s));
    }

    /**
     * A dual-stack node with services of every kind: dual-stack with ClientIP affinity, IPv6-only
     * with an external IP, IPv6 without endpoints, a terminating IPv6 endpoint, IPv4-only.
     */
    static Scenario dualStackMixed() {
        String pod6 = "fd00:10:1::5";
        Scenario s = new Scenario("dual-stack-mixed")
                .svc("ns1/dual-sticky", "p80", Protocol.TCP, 80, "172.30.0.70,fd00:30::70",
                        b -> b.sessionAffinity(SessionAffinity.clientIp(600)).nodePort(30070))
                .slice("ns1/dual-sticky", "p80", Protocol.TCP, 8080, "10.180.0.1", "10.180.0.2")
                .slice("ns1/dual-sticky", "p80", Protocol.TCP, 8080, "fd00:180::1", "fd00:180::2@local")
                .svc("ns1/v6-ext", "p80", Protocol.TCP, 80, "fd00:30::71",
                        b -> b.externalIps(List.of(IpAddress.parse("2001:db8:1::10"))))
                .slice("ns1/v6-ext", "p80", Protocol.TCP, 8080, "fd00:180::3")
                .svc("ns1/v6-empty", "dns", Protocol.UDP, 53, "fd00:30::72", b -> { })
                .svc("ns1/v6-term", "p80", Protocol.TCP, 80, "fd00:30::73", b -> { })
                .slice("ns1/v6-term", "p80", Protocol.TCP, 8080, "fd00:180::4!term", "fd00:180::5!term")
                .svc("ns1/v4-only", "p80", Protocol.TCP, 80, "172.30.0.74", b -> { })
                .slice("ns1/v4-only", "p80", Protocol.TCP, 8080, "10.180.0.5")
                .flow(pod("172.30.0.70", "tcp", 80))
                .flow(Packet.arriving(pod6, "fd00:30::70", "tcp", 80, "cni0"))
                .flow(Packet.arriving("2001:db8::9", "fd00::2", "tcp", 30070, "eth0"))
                .flow(outside(NODE, "tcp", 30070))
                .flow(Packet.arriving("2001:db8::9", "2001:db8:1::10", "tcp", 80, "eth0"))
                .flow(Packet.arriving(pod6, "fd00:30::71", "tcp", 80, "cni0"))
                .flow(Packet.arriving(pod6, "fd00:30::72", "udp", 53, "cni0"))
                .flow(Packet.arriving(pod6, "fd00:30::73", "tcp", 80, "cni0"))
                .flow(pod("172.30.0.74", "tcp", 80))
                .flow(Packet.fromNode("fd00::2", "fd00:30::70", "tcp", 80));
        s.families = java.util.EnumSet.of(IpFamily.IPV4, IpFamily.IPV6);
        s.node = new io.switchboard.core.model.NodeInfo(Scenario.NODE, java.util.Map.of(),
                List.of(IpAddress.parse(NODE), IpAddress.parse("fd00::2")),
                List.of(Cidr.parse("10.0.1.0/24"), Cidr.parse("fd00:10:1::/64")), true);
        s.detector6 = new LocalDetector(List.of("-s", "fd00:10::/32"), List.of("!", "-s", "fd00:10::/32"));
        return s;
    }

    static Scenario nodePortAddresses() {
        Scenario s = new Scenario("nodeport-addresses")
                .svc("ns1/np", "p80", Protocol.TCP, 80, "172.30.0.50", b -> b.nodePort(30080))
                .slice("ns1/np", "p80", Protocol.TCP, 8080, "10.180.0.1")
                .flow(outside(NODE, "tcp", 30080))
                .flow(node("127.0.0.1", "tcp", 30080));
        s.nodePortAll = false;
        s.nodePortIps = List.of(IpAddress.parse(NODE));
        s.localhostNodePorts = false;
        return s;
    }

    static Scenario masqueradeAll() {
        Scenario s = new Scenario("masquerade-all")
                .svc("ns1/svc1", "p80", Protocol.TCP, 80, "172.30.0.41", b -> { })
                .slice("ns1/svc1", "p80", Protocol.TCP, 80, "10.180.0.1")
                .flow(pod("172.30.0.41", "tcp", 80));
        s.masqueradeAll = true;
        return s;
    }

    static Scenario detectBridge() {
        Scenario s = new Scenario("detect-local-bridge")
                .svc("ns1/np-local", "p80", Protocol.TCP, 80, "172.30.0.51",
                        b -> b.nodePort(30081).externalPolicy(TrafficPolicy.LOCAL))
                .slice("ns1/np-local", "p80", Protocol.TCP, 8080, "10.180.0.2", "10.0.1.10@local")
                .flow(pod(NODE, "tcp", 30081))
                .flow(Packet.arriving(POD, NODE, "tcp", 30081, "cali1234"))
                .flow(pod("172.30.0.51", "tcp", 80))
                .flow(outside("172.30.0.51", "tcp", 80));
        s.detector = new LocalDetector(List.of("-i", "cni0"), List.of("!", "-i", "cni0"));
        return s;
    }

    static Scenario detectPrefix() {
        Scenario s = new Scenario("detect-local-interface-prefix")
                .svc("ns1/np-local", "p80", Protocol.TCP, 80, "172.30.0.51",
                        b -> b.nodePort(30081).externalPolicy(TrafficPolicy.LOCAL))
                .slice("ns1/np-local", "p80", Protocol.TCP, 8080, "10.180.0.2", "10.0.1.10@local")
                .flow(Packet.arriving(POD, NODE, "tcp", 30081, "cali1234"))
                .flow(pod(NODE, "tcp", 30081));
        s.detector = new LocalDetector(List.of("-i", "cali+"), List.of("!", "-i", "cali+"));
        return s;
    }

    static Scenario noDetector() {
        Scenario s = new Scenario("detect-local-none")
                .svc("ns1/svc1", "p80", Protocol.TCP, 80, "172.30.0.41", b -> { })
                .slice("ns1/svc1", "p80", Protocol.TCP, 80, "10.180.0.1")
                .flow(outside("172.30.0.41", "tcp", 80));
        s.detector = LocalDetector.NONE;
        return s;
    }

    static Scenario masqueradeBit() {
        Scenario s = new Scenario("masquerade-bit-3")
                .svc("ns1/np", "p80", Protocol.TCP, 80, "172.30.0.50", b -> b.nodePort(30080))
                .slice("ns1/np", "p80", Protocol.TCP, 8080, "10.180.0.1")
                .flow(outside(NODE, "tcp", 30080));
        s.masqueradeBit = 3;
        return s;
    }

    static Scenario ipv6() {
        Scenario s = new Scenario("ipv6")
                .svc("ns1/v6", "p80", Protocol.TCP, 80, "fd00:30::41", b -> b.nodePort(30080))
                .slice("ns1/v6", "p80", Protocol.TCP, 8080, "fd00:180::1", "fd00:180::2")
                .svc("ns1/v6-empty", "p53", Protocol.UDP, 53, "fd00:30::42", b -> { })
                .flow(Packet.arriving("fd00:10:1::5", "fd00:30::41", "tcp", 80, "cni0"))
                .flow(Packet.arriving("2001:db8::9", "fd00:30::41", "tcp", 80, "eth0"))
                .flow(Packet.arriving("2001:db8::9", "fd00::2", "tcp", 30080, "eth0"))
                .flow(Packet.arriving("fd00:10:1::5", "fd00:30::42", "udp", 53, "cni0"));
        s.family = IpFamily.IPV6;
        s.node = new io.switchboard.core.model.NodeInfo(Scenario.NODE, java.util.Map.of(),
                List.of(IpAddress.parse("fd00::2")), List.of(Cidr.parse("fd00:10:1::/64")), true);
        s.detector = new LocalDetector(List.of("-s", "fd00:10::/32"), List.of("!", "-s", "fd00:10::/32"));
        return s;
    }

    static Scenario largeCluster() {
        Scenario s = new Scenario("large-cluster")
                .svc("ns1/big", "p80", Protocol.TCP, 80, "172.30.0.99", b -> { })
                .slice("ns1/big", "p80", Protocol.TCP, 80, "10.180.0.1", "10.180.0.2", "10.180.0.3", "10.180.0.4")
                .flow(pod("172.30.0.99", "tcp", 80));
        s.largeThreshold = 3;
        return s;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matrix")
    void golden(Scenario s) throws IOException {
        Map<IpFamily, String> rendered = render(s);
        for (String text : rendered.values()) {
            assertThat(RuleSet.parse(text).danglingJumps()).as("jump targets exist").isEmpty();
        }
        if (s.form == Scenario.Form.DUAL_STACK) {
            // a dual-stack node writes, per family, exactly what a single-stack node of that family writes
            Scenario base = scenarios().filter(b -> b.name.equals(s.name)).findFirst().orElseThrow();
            assertThat(rendered.get(IpFamily.IPV4)).as("IPv4 half of " + s).isEqualTo(render(base).get(IpFamily.IPV4));
            assertThat(rendered.get(IpFamily.IPV6)).as("IPv6 half of " + s)
                    .isEqualTo(render(base.in(Scenario.Form.IPV6)).get(IpFamily.IPV6));
            // and every flow goes where it goes on the single-stack node of its family
            Scenario base6 = base.in(Scenario.Form.IPV6);
            assertThat(traceAll(s, rendered)).isEqualTo(interleave(traceAll(base, render(base)), traceAll(base6, render(base6))));
            return;
        }
        check(s.form.dir() + s.name, goldenText(s, rendered));
    }

    /** Line 1 of a, line 1 of b, line 2 of a, ...: the order of a dual-stack scenario's flows. */
    static String interleave(String a, String b) {
        List<String> la = a.lines().toList();
        List<String> lb = b.lines().toList();
        assertThat(la).hasSameSizeAs(lb);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < la.size(); i++) {
            sb.append(la.get(i)).append('\n').append(lb.get(i)).append('\n');
        }
        return sb.toString();
    }

    /** Each family's restore input for a scenario (ordered IPv4, IPv6). */
    static Map<IpFamily, String> render(Scenario s) {
        Map<IpFamily, String> out = new java.util.EnumMap<>(IpFamily.class);
        ProxySnapshot snapshot = s.fullSnapshot();
        for (IpFamily f : new java.util.TreeSet<>(s.families())) {
            out.put(f, IptablesRenderer.render(snapshot, s.settings(f, Set.of(), List.of())).text());
        }
        return out;
    }

    static String goldenText(Scenario s, Map<IpFamily, String> rendered) {
        StringBuilder sb = new StringBuilder();
        boolean several = rendered.size() > 1;
        rendered.forEach((f, text) -> sb.append("# scenario ").append(s.name).append(": ")
                .append(several ? f.kubernetesName() + " " : "").append("restore input\n").append(text));
        return sb.append("# flows\n").append(traceAll(s, rendered)).toString();
    }

    static String traceAll(Scenario s, String rules) {
        return traceAll(s, Map.of(s.family, rules));
    }

    /** Every flow of the scenario traced through the rules of its family. */
    static String traceAll(Scenario s, Map<IpFamily, String> rules) {
        Set<IpAddress> local = new HashSet<>(s.node.addresses());
        Map<IpFamily, PacketTracer> tracers = new java.util.EnumMap<>(IpFamily.class);
        rules.forEach((f, text) -> tracers.put(f, new PacketTracer(RuleSet.parse(text), local)));
        StringBuilder sb = new StringBuilder();
        for (Packet p : s.flows) {
            PacketTracer tracer = tracers.get(p.dst().family());
            sb.append(describe(p)).append(" => ")
                    .append(tracer == null ? "(no " + p.dst().family().kubernetesName() + " rules)"
                            : tracer.trace(p).stream().map(Object::toString).collect(Collectors.joining(" | ")))
                    .append('\n');
        }
        return sb.toString();
    }

    static String describe(Packet p) {
        return p.protocol() + " " + p.src() + " -> " + p.dst().withPort(p.dport())
                + (p.fromNode() ? " (from node)" : " (in " + p.inInterface() + ")");
    }

    static void check(String name, String actual) throws IOException {
        io.switchboard.core.testing.Golden.check(GOLDEN.resolve(name + ".golden"), actual);
    }
}
