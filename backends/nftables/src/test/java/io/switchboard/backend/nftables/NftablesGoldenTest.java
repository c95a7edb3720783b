package io.switchboard.backend.nftables;

import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.SessionAffinity;
import io.switchboard.core.model.TrafficPolicy;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Golden transactions: fixtures in, {@code nft -f} text out, compared with
 * {@code src/test/resources/golden/*.nft} (regenerate with {@code -Dgolden.update=true} and review
 * the diff). The same fixtures are loaded into a real kernel by {@link NftKernelTest}.
 */
class NftablesGoldenTest {

    /** kube-proxy's own overall test, as services: ClusterIP, LB with ETP Local, NodePort, external IP, LB with source ranges and affinity, no endpoints. */
    static Fixture overall() {
        return new Fixture()
                .svc("ns1/svc1", "p80", Protocol.TCP, 80, "172.30.0.41", b -> { })
                .eps("ns1/svc1", "p80", Protocol.TCP, 80, "10.180.0.1")
                .svc("ns2/svc2", "p80", Protocol.TCP, 80, "172.30.0.42", b -> b.nodePort(3001)
                        .loadBalancerIps(Fixture.ips("1.2.3.4")).externalIps(Fixture.ips("192.168.99.22"))
                        .externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(30000))
                .eps("ns2/svc2", "p80", Protocol.TCP, 80, "10.180.0.2")
                .svc("ns3/svc3", "p80", Protocol.TCP, 80, "172.30.0.43", b -> b.nodePort(3003))
                .eps("ns3/svc3", "p80", Protocol.TCP, 80, "10.180.0.3")
                .svc("ns4/svc4", "p80", Protocol.TCP, 80, "172.30.0.44", b -> b.externalIps(Fixture.ips("192.168.99.33")))
                .eps("ns4/svc4", "p80", Protocol.TCP, 80, "10.180.0.4", "10.180.0.5@local")
                .svc("ns5/svc5", "p80", Protocol.TCP, 80, "172.30.0.45", b -> b.nodePort(3002)
                        .loadBalancerIps(Fixture.ips("5.6.7.8")).loadBalancerSourceRanges(Fixture.cidrs("203.0.113.0/25"))
                        .sessionAffinity(SessionAffinity.clientIp(10800)))
                .eps("ns5/svc5", "p80", Protocol.TCP, 80, "10.180.0.3")
                .svc("ns6/svc6", "p80", Protocol.TCP, 80, "172.30.0.46", b -> { });
    }

    /** Local policies, UDP, terminating endpoints, a source range that holds the node. */
    static Fixture policies() {
        return new Fixture()
                .svc("ns1/itp", "p80", Protocol.TCP, 80, "172.30.0.80", b -> b.internalPolicy(TrafficPolicy.LOCAL))
                .eps("ns1/itp", "p80", Protocol.TCP, 80, "10.180.0.1", "10.0.1.7@local")
                .svc("ns1/itp-none", "p80", Protocol.TCP, 80, "172.30.0.81", b -> b.internalPolicy(TrafficPolicy.LOCAL))
                .eps("ns1/itp-none", "p80", Protocol.TCP, 80, "10.180.0.2")
                .svc("ns1/both-local", "p80", Protocol.TCP, 80, "172.30.0.82", b -> b.internalPolicy(TrafficPolicy.LOCAL)
                        .nodePort(30090).externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(32090))
                .eps("ns1/both-local", "p80", Protocol.TCP, 80, "10.180.0.3", "10.0.1.8@local")
                .svc("kube-system/kube-dns", "dns", Protocol.UDP, 53, "172.30.0.10", b -> { })
                .eps("kube-system/kube-dns", "dns", Protocol.UDP, 5353, "10.180.0.9!term", "10.180.0.10!term")
                .svc("ns1/lb", "https", Protocol.TCP, 443, "172.30.0.90", b -> b.loadBalancerIps(Fixture.ips("5.6.7.9"))
                        .loadBalancerSourceRanges(Fixture.cidrs("192.168.0.0/24", "203.0.113.0/25")))
                .eps("ns1/lb", "https", Protocol.TCP, 8443, "10.180.0.11");
    }

    static Fixture ipv6() {
        Fixture f = new Fixture();
        f.family = IpFamily.IPV6;
        f.nodeIp = "fd00::2";
        return f.svc("ns1/svc1", "p80", Protocol.TCP, 80, "fd00:172:30::41", b -> b.nodePort(3001)
                        .sessionAffinity(SessionAffinity.clientIp(600)))
                .eps("ns1/svc1", "p80", Protocol.TCP, 80, "fd00:10:180::1", "fd00:10:180::2:1@local")
                .svc("ns1/none", "p80", Protocol.TCP, 80, "fd00:172:30::42", b -> { });
    }

    static final List<Object[]> SCENARIOS = List.of(
            new Object[]{"overall", (Supplier<Fixture>) NftablesGoldenTest::overall},
            new Object[]{"policies", (Supplier<Fixture>) NftablesGoldenTest::policies},
            new Object[]{"ipv6", (Supplier<Fixture>) NftablesGoldenTest::ipv6});

    @Test
    void fullTransactionsMatchTheGoldenFiles() throws IOException {
        for (Object[] sc : SCENARIOS) {
            @SuppressWarnings("unchecked")
            Fixture f = ((Supplier<Fixture>) sc[1]).get();
            NftModel m = NftablesRenderer.render(f.snapshot(true), f.settings());
            check(sc[0] + ".nft", NftTransaction.full(m, f.settings(), Set.of()).text());
        }
    }

    @Test
    void namesAreKubeProxys() {
        // kube-proxy's own vectors (pkg/proxy/nftables tests)
        assertThat(NftNames.service(Fixture.spn("ns1/svc1", "p80", Protocol.TCP))).isEqualTo("service-ULMVA6XW-ns1/svc1/tcp/p80");
        assertThat(NftNames.service(Fixture.spn("ns2/svc2", "p80", Protocol.TCP))).isEqualTo("service-42NFTM6N-ns2/svc2/tcp/p80");
        assertThat(NftNames.firewall(Fixture.spn("ns5/svc5", "p80", Protocol.TCP))).isEqualTo("firewall-HVFWP5L3-ns5/svc5/tcp/p80");
        String full = NftTransaction.full(NftablesRenderer.render(overall().snapshot(true), overall().settings()),
                overall().settings(), Set.of()).text();
        assertThat(full).contains("add chain ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80",
                "add chain ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80",
                "add chain ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80",
                "add chain ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80",
                "affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80",
                "add element ip kube-proxy no-endpoint-services { 172.30.0.46 . tcp . 80 comment \"ns6/svc6:p80\" : goto reject-chain }",
                "add element ip kube-proxy no-endpoint-nodeports { tcp . 3001 comment \"ns2/svc2:p80\" : drop }",
                "add element ip kube-proxy firewall-ips { 5.6.7.8 . tcp . 80 comment \"ns5/svc5:p80\" : goto firewall-HVFWP5L3-ns5/svc5/tcp/p80 }");
        // an IPv6 endpoint's colons become dots in its names
        assertThat(NftNames.endpoint(Fixture.spn("ns1/svc1", "p80", Protocol.TCP),
                new io.switchboard.core.model.Endpoint(io.switchboard.core.model.IpAddress.parse("fd00:10:180::1"), 80, true, true,
                        false, "", "", Set.of(), Set.of()))).endsWith("-ns1/svc1/tcp/p80__fd00.10.180..1/80");
    }

    @Test
    void charactersNftablesRefusesInANameAreReplacedAndTheHashKeepsThemApart() {
        String a = NftNames.service(Fixture.spn("fuzz/ünïcødé-13", "http", Protocol.TCP));
        String b = NftNames.service(Fixture.spn("fuzz/ünïcødé-14", "http", Protocol.TCP));
        assertThat(a).matches("service-[A-Z2-7]{8}-fuzz/_n_c_d_-13/tcp/http");
        assertThat(a.substring(0, 16)).isNotEqualTo(b.substring(0, 16));
    }

    @Test
    void longNamesAreCutToTheKernelsLimit() {
        String ns = "n".repeat(63);
        String name = NftNames.endpoint(Fixture.spn(ns + "/" + "s".repeat(63), "p".repeat(63), Protocol.SCTP),
                new io.switchboard.core.model.Endpoint(io.switchboard.core.model.IpAddress.parse("fd00:1111:2222:3333:4444:5555:6666:7777"),
                        65535, true, true, false, "", "", Set.of(), Set.of()));
        assertThat(name).hasSize("endpoint-".length() + NftNames.BASE_MAX).endsWith("...");
    }

    static void check(String golden, String actual) throws IOException {
        io.switchboard.core.testing.Golden.check(Path.of("src/test/resources/golden", golden), actual);
    }
}
