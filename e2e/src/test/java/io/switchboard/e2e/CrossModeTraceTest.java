package io.switchboard.e2e;

import io.switchboard.backend.iptables.GoldenScenarios;
import io.switchboard.backend.iptables.IptablesBackend;
import io.switchboard.backend.nftables.NetlinkNft;
import io.switchboard.backend.nftables.NftablesBackend;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.ServicePort;
import io.switchboard.netfilter.Iptables;
import io.switchboard.netfilter.trace.NftTable;
import io.switchboard.netfilter.trace.NftTracer;
import io.switchboard.netfilter.trace.PacketTracer;
import io.switchboard.netfilter.trace.PacketTracer.Packet;
import io.switchboard.netfilter.trace.RuleSet;
import io.switchboard.netfilter.trace.Tracer;
import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every golden scenario of the iptables mode (each form: IPv4, IPv6, dual-stack), programmed by the
 * iptables backend into one network namespace and by the nftables backend into another, read back
 * from the kernel ({@code iptables-save}, {@code nft list table}) and traced: every flow the golden
 * file traces has the same outcomes in both modes. The declared differences are kube-proxy's own:
 * the nftables mode has no localhost NodePorts (a connection from the node to a loopback address is
 * not translated there), and it rejects a cluster IP on a port that no service serves, where the
 * iptables mode has no rule and lets the connection go on to the address.
 */
class CrossModeTraceTest {
    private static final Clock CLOCK = Clock.systemUTC();

    @BeforeAll
    static void realKernel() {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "real-kernel test skipped: " + why);
    }

    static List<GoldenScenarios.Case> cases() {
        return GoldenScenarios.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theNftablesModeTracesEveryGoldenFlowAsTheIptablesModeDoes(GoldenScenarios.Case c) throws Exception {
        Map<IpFamily, Tracer> iptables = programmed(c, "sbxi", ns -> new IptablesBackend(context(c),
                new Iptables(Netns.runner(ns), Iptables.Flavor.NFT), null), (ns, f) -> new PacketTracer(RuleSet.parse(
                Netns.exec(ns, f == IpFamily.IPV4 ? "iptables-save" : "ip6tables-save")), c.nodeAddresses()));
        Map<IpFamily, Tracer> nftables = programmed(c, "sbxn", ns -> new NftablesBackend(context(c),
                NetlinkNft.inNamespace(Netns.runner(ns), Path.of("/run/netns", ns)), null), (ns, f) -> new NftTracer(NftTable.parse(
                Netns.exec(ns, "nft", "list", "table", f == IpFamily.IPV4 ? "ip" : "ip6", "kube-proxy")), c.nodeAddresses()));
        assertThat(c.flows()).as("flows of " + c).isNotEmpty();
        List<String> differ = new ArrayList<>();
        int compared = 0;
        for (Packet p : c.flows()) {
            Tracer it = iptables.get(p.dst().family());
            Tracer nt = nftables.get(p.dst().family());
            if (it == null) {
                // a flow of a family the scenario does not program: neither mode has rules for it
                assertThat(nt).as(GoldenScenarios.describe(p)).isNull();
                continue;
            }
            String expected = outcomes(it, p);
            String actual = outcomes(nt, p);
            if (p.dst().isLoopback()) {
                // declared: no localhost NodePorts in the nftables mode (as kube-proxy's); the node's
                // connection stays what it was
                assertThat(actual).as("nftables, " + GoldenScenarios.describe(p)).isEqualTo(p.dst().withPort(p.dport()).toString());
                continue;
            }
            if (unservedClusterIpPort(c, p)) {
                // declared: the nftables mode rejects a cluster IP on a port none of its services
                // serves (kube-proxy's cluster-ips check); the iptables mode has no rule for it and
                // the connection goes on to the address itself, as under kube-proxy's iptables mode
                assertThat(actual).as("nftables, " + GoldenScenarios.describe(p)).isEqualTo("REJECT");
                assertThat(expected).as("iptables, " + GoldenScenarios.describe(p)).isEqualTo(p.dst().withPort(p.dport()).toString());
                continue;
            }
            compared++;
            if (!expected.equals(actual)) {
                differ.add(GoldenScenarios.describe(p) + "\n    iptables: " + expected + "\n    nftables: " + actual);
            }
        }
        assertThat(differ).as(c + ": flows traced differently").isEmpty();
        assertThat(compared).as(c + ": flows compared").isPositive();
    }

    /** The packet goes to a cluster IP of the scenario on a protocol and port no service there uses. */
    private static boolean unservedClusterIpPort(GoldenScenarios.Case c, Packet p) {
        boolean clusterIp = false;
        for (ServicePort svc : c.snapshot().services().values()) {
            if (svc.clusterIps().contains(p.dst())) {
                clusterIp = true;
                if (svc.port() == p.dport() && svc.name().protocol().name().equalsIgnoreCase(p.protocol())) {
                    return false;
                }
            }
        }
        return clusterIp;
    }

    private static String outcomes(Tracer t, Packet p) {
        return t.trace(p).stream().map(Object::toString).collect(Collectors.joining(" | "));
    }

    private static BackendContext context(GoldenScenarios.Case c) {
        return new BackendContext(c.config(), c.snapshot().node().name(), c.families(), ProxyMetrics.NOOP, CLOCK,
                new ProxyHealth(CLOCK, Duration.ofMinutes(1)));
    }

    interface Backend {
        ProxyBackend in(String ns) throws Exception;
    }

    interface Reader {
        Tracer read(String ns, IpFamily family) throws Exception;
    }

    /** Syncs the scenario with a fresh backend into a fresh namespace and reads each family back. */
    private static Map<IpFamily, Tracer> programmed(GoldenScenarios.Case c, String prefix, Backend backend, Reader reader)
            throws Exception {
        String ns = prefix + ProcessHandle.current().pid() % 100000;
        Netns.delete(ns);
        Netns.add(ns);
        ProxyBackend b = null;
        try {
            b = backend.in(ns);
            b.sync(c.snapshot());
            Map<IpFamily, Tracer> out = new EnumMap<>(IpFamily.class);
            for (IpFamily f : c.families()) {
                out.put(f, reader.read(ns, f));
            }
            return out;
        } finally {
            if (b != null) {
                // health-check servers (Local policies) listen in this JVM: stopped before the other mode starts its own
                b.shutdown(Duration.ZERO);
            }
            Netns.delete(ns);
        }
    }
}
