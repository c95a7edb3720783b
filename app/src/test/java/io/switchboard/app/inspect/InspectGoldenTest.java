package io.switchboard.app.inspect;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.trace.PacketTracer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code explain} and {@code services} over rule dumps of each built mode, against golden text. */
class InspectGoldenTest {
    private static final Path DIR = Path.of("src/test/resources/inspect");
    private static final Set<IpAddress> NODE = Set.of(IpAddress.parse("192.168.0.2"));

    private static String rules(String name) throws IOException {
        return Files.readString(DIR.resolve(name + ".rules"));
    }

    private static void golden(String name, String actual) throws IOException {
        io.switchboard.core.testing.Golden.check(DIR.resolve(name + ".golden"), actual);
    }

    @ParameterizedTest
    @CsvSource({
            "iptables-affinity, 10.0.1.5, 172.30.0.70, 80, cni0, explain-affinity",
            "iptables-nodeport, 203.0.113.9, 192.168.0.2, 30081, eth0, explain-nodeport-local",
            "iptables-nodeport, 203.0.113.9, 192.168.0.2, 30082, eth0, explain-nodeport-drop",
            "iptables-nodeport, 192.168.0.2, 192.168.0.2, 30081, '', explain-nodeport-from-node",
            "userspace, 10.244.1.5, 10.96.0.10, 80, cni0, explain-userspace",
            "userspace, 10.244.1.5, 10.96.0.13, 80, cni0, explain-userspace-no-endpoints",
    })
    void explainAsGolden(String dump, String src, String dst, int port, String iface, String golden) throws IOException {
        boolean fromNode = NODE.contains(IpAddress.parse(src));
        PacketTracer.Packet p = fromNode ? PacketTracer.Packet.fromNode(src, dst, "tcp", port)
                : PacketTracer.Packet.arriving(src, dst, "tcp", port, iface == null ? "" : iface);
        Explainer.Result r = Explainer.explain(rules(dump), NODE, p);
        golden(golden, Explainer.text(r));
    }

    @Test
    void explainSharesAddUpAndAffinityPathsAreConditional() throws IOException {
        Explainer.Result r = Explainer.explain(rules("iptables-affinity"), NODE,
                PacketTracer.Packet.arriving("10.0.1.5", "172.30.0.70", "tcp", 80, "cni0"));
        assertThat(r.shares()).containsOnlyKeys("10.180.0.1:80", "10.180.0.2:80");
        assertThat(r.shares().values().stream().mapToDouble(Double::doubleValue).sum())
                .isEqualTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(r.paths()).filteredOn(p -> p.conditions().stream().anyMatch(c -> c.startsWith("the client has an affinity")))
                .hasSize(2);
        assertThat(Explainer.json(r)).contains("\"newConnections\"", "\"10.180.0.1:80\" : 0.5");
    }

    @Test
    void aUserspacePathNamesTheProxysEndpointsWhenTheProxyCanBeAsked() throws IOException {
        Explainer.Result r = Explainer.explain(rules("userspace"), NODE,
                PacketTracer.Packet.arriving("10.244.1.5", "10.96.0.10", "tcp", 80, "cni0"));
        assertThat(r.proxyPort()).isEqualTo(40010);
        assertThat(Explainer.text(r.withProxyEndpoints(java.util.List.of("10.244.1.10:8080", "10.244.2.10:8080"))))
                .contains("userspace proxy on local port 40010", "among 10.244.1.10:8080, 10.244.2.10:8080");
        assertThat(Explainer.text(r.withProxyEndpoints(java.util.List.of()))).contains("the connection is reset");
        assertThat(Explainer.json(r.withProxyEndpoints(java.util.List.of("10.244.1.10:8080"))))
                .contains("\"userspaceProxyEndpoints\" : [ \"10.244.1.10:8080\" ]");
    }

    @ParameterizedTest
    @CsvSource({"iptables-affinity, services-affinity", "iptables-nodeport, services-nodeport", "userspace, services-userspace"})
    void servicesAsGolden(String dump, String golden) throws IOException {
        golden(golden, KernelServices.text(KernelServices.read(rules(dump), IpFamily.IPV4, NODE, null)));
    }

    /** The nftables mode's table as the kernel prints it (kube-proxy's overall scenario, read back with nft). */
    @ParameterizedTest
    @CsvSource({
            "10.0.0.2, 172.30.0.45, 80, cni0, explain-nftables-affinity",
            "203.0.113.9, 1.2.3.4, 80, eth0, explain-nftables-local-drop",
            "192.168.0.2, 192.168.0.2, 3003, '', explain-nftables-nodeport-from-node",
            "10.0.0.2, 172.30.0.46, 80, cni0, explain-nftables-no-endpoints",
    })
    void explainOverAnNftablesTableAsGolden(String src, String dst, int port, String iface, String golden) throws IOException {
        boolean fromNode = NODE.contains(IpAddress.parse(src));
        PacketTracer.Packet p = fromNode ? PacketTracer.Packet.fromNode(src, dst, "tcp", port)
                : PacketTracer.Packet.arriving(src, dst, "tcp", port, iface == null ? "" : iface);
        golden(golden, Explainer.text(Explainer.explainNft(rules("nftables"), NODE, p)));
    }

    @Test
    void servicesOverAnNftablesTableAsGolden() throws IOException {
        List<KernelServices.Row> rows = KernelServices.readNft(rules("nftables"), IpFamily.IPV4, NODE, null);
        golden("services-nftables", KernelServices.text(rows));
        assertThat(rows).anySatisfy(r -> assertThat(r.affinity()).isEqualTo("ClientIP 10800s"));
        assertThat(rows).anySatisfy(r -> assertThat(r.endpoints()).containsExactly("none: REJECT"));
        assertThat(KernelServices.readNft(rules("nftables"), IpFamily.IPV4, NODE, "ns1")).extracting(KernelServices.Row::service)
                .containsOnly("ns1/svc1:p80");
        assertThat(KernelServices.serviceOf("goto service-ULMVA6XW-ns1/svc1/tcp/p80")).isEqualTo("ns1/svc1:p80");
        assertThat(KernelServices.serviceOf("goto service-ULMVA6XW-ns1/svc1/tcp/")).isEqualTo("ns1/svc1");
        assertThat(KernelServices.serviceOf("drop")).isNull();
    }

    @Test
    void servicesFilterByNamespace() throws IOException {
        assertThat(KernelServices.read(rules("iptables-nodeport"), IpFamily.IPV4, NODE, "nope")).isEmpty();
        assertThat(KernelServices.read(rules("userspace"), IpFamily.IPV4, NODE, "ns")).isNotEmpty();
    }

    @Test
    void addressesParseInEveryForm() {
        assertThat(InspectCommands.host("10.0.0.1:80")).isEqualTo("10.0.0.1");
        assertThat(InspectCommands.host("10.0.0.1")).isEqualTo("10.0.0.1");
        assertThat(InspectCommands.host("fd00::1")).isEqualTo("fd00::1");
        assertThat(InspectCommands.hostPort("[fd00::1]:443")).containsExactly("fd00::1", "443");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> InspectCommands.hostPort("fd00::1"))
                .hasMessageContaining("[IPv6]:PORT");
    }
}
