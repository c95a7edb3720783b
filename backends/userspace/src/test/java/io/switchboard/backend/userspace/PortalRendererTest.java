package io.switchboard.backend.userspace;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.netfilter.trace.PacketTracer;
import io.switchboard.netfilter.trace.RuleSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Portal rules against golden files, with traced flows through them (REDIRECT and DNAT). */
class PortalRendererTest {
    private static final Path GOLDEN = Path.of("src/test/resources/golden");

    private static ServicePortName name(String svc, String port, Protocol p) {
        return new ServicePortName(new NamespacedName("ns", svc), port, p);
    }

    private static List<Portal> portals(IpFamily f) {
        boolean v4 = f == IpFamily.IPV4;
        String vip = v4 ? "10.96.0." : "fd00:10:96::";
        return List.of(
                new Portal(name("dns", "dns", Protocol.UDP), IpAddress.parse(vip + "53"), 53, 40053, true),
                new Portal(name("empty", "http", Protocol.TCP), IpAddress.parse(vip + "13"), 80, 40013, false),
                new Portal(name("web", "http", Protocol.TCP), IpAddress.parse(vip + "10"), 80, 40010, true),
                new Portal(name("web", "http", Protocol.TCP), IpAddress.parse(v4 ? "198.51.100.7" : "2001:db8::7"), 80, 40011, true),
                new Portal(name("web", "http", Protocol.TCP), null, 30080, 40011, true));
    }

    @ParameterizedTest
    @CsvSource({"IPV4,true", "IPV4,false", "IPV6,true", "IPV6,false"})
    void portalsRenderAndTraceAsGolden(IpFamily family, boolean redirect) throws Exception {
        boolean v4 = family == IpFamily.IPV4;
        IpAddress node = IpAddress.parse(v4 ? "192.168.0.2" : "fd00:100::2");
        PortalRenderer.Rendered r = PortalRenderer.render(portals(family),
                new PortalRenderer.Settings(family, node, redirect, PortalRenderer.JUMPS));
        PacketTracer tracer = new PacketTracer(RuleSet.parse(r.text()), Set.of(node));
        String pod = v4 ? "10.244.1.5" : "fd00:10:244:1::5";
        String vip = v4 ? "10.96.0." : "fd00:10:96::";
        StringBuilder golden = new StringBuilder(r.text()).append("# traces\n");
        String[][] flows = {
                {"pod -> web cluster IP", pod, vip + "10", "tcp", "80", "false"},
                {"node -> web cluster IP", node.toString(), vip + "10", "tcp", "80", "true"},
                {"outside -> web external IP", v4 ? "203.0.113.9" : "2001:db8:1::9", v4 ? "198.51.100.7" : "2001:db8::7", "tcp", "80", "false"},
                {"outside -> NodePort", v4 ? "203.0.113.9" : "2001:db8:1::9", node.toString(), "tcp", "30080", "false"},
                {"node -> NodePort", node.toString(), node.toString(), "tcp", "30080", "true"},
                {"pod -> dns (UDP)", pod, vip + "53", "udp", "53", "false"},
                {"pod -> empty (no endpoints)", pod, vip + "13", "tcp", "80", "false"},
                {"node -> empty (no endpoints)", node.toString(), vip + "13", "tcp", "80", "true"},
        };
        for (String[] fl : flows) {
            PacketTracer.Packet p = Boolean.parseBoolean(fl[5])
                    ? PacketTracer.Packet.fromNode(fl[1], fl[2], fl[3], Integer.parseInt(fl[4]))
                    : PacketTracer.Packet.arriving(fl[1], fl[2], fl[3], Integer.parseInt(fl[4]), "eth0");
            golden.append("# ").append(fl[0]).append(": ").append(tracer.trace(p)).append('\n');
        }
        String text = golden.toString();
        Path file = GOLDEN.resolve((v4 ? "ipv4" : "ipv6") + (redirect ? "-redirect" : "-dnat") + ".golden");
        io.switchboard.core.testing.Golden.check(file, text);
        // every portal rule line names its service port; structural lines name none
        for (int i = 1; i <= r.owners().size(); i++) {
            String line = r.text().split("\n")[i - 1];
            assertThat(r.owner(i) != null).as(line).isEqualTo(line.startsWith("-A KUBE-") && line.contains("--comment \"ns/"));
        }
    }
}
