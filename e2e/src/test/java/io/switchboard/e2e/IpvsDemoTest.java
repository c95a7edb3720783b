package io.switchboard.e2e;

import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code switchboard demo --proxy-mode ipvs}, run as the built jar where the kernel has IPVS (the
 * QEMU guest, through {@link IpvsGuestTest}): every endpoint answers, the sticky service sticks, and
 * the printed {@code ipvsadm -Ln} lines are the demo's virtual servers with their real servers.
 */
@Tag("ipvs-kernel")
class IpvsDemoTest {
    static boolean kernelHasIpvs() {
        try (var s = io.switchboard.netfilter.netlink.NetlinkSocket.open(io.switchboard.netfilter.netlink.NetlinkSocket.NETLINK_GENERIC,
                java.time.Duration.ofSeconds(5))) {
            io.switchboard.netfilter.netlink.Genl.resolve(s, "IPVS");
            return true;
        } catch (Exception | UnsatisfiedLinkError e) {
            return false;
        }
    }

    @Test
    void demoShowsEveryEndpointAnsweringAndItsIpvsTable() throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "demo needs namespaces: " + why);
        Assumptions.assumeTrue(kernelHasIpvs(), "this kernel has no IPVS: run it in the guest (vm/run)");
        List<String> before = Netns.run("ip", "netns", "list").lines().toList();
        Process p = new ProcessBuilder("java", "-jar", SwitchboardProcess.JAR.toString(), "demo", "--proxy-mode", "ipvs", "--requests", "12")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        DemoTest.assertEveryEndpointAnswers(out);
        assertThat(out).contains("refused (no real servers) 12", "ipvsadm -Ln in the node")
                .containsPattern("TCP  10\\.96\\.0\\.10:80 rr\\n(  +-> 10\\.244\\.\\d\\.1\\d:8080 +Masq +1 .*\\n){3}")
                .containsPattern("TCP  10\\.96\\.0\\.20:80 rr persistent 10800\\n")
                .containsPattern("TCP  10\\.96\\.0\\.30:80 rr\\n")
                .containsPattern("TCP  192\\.168\\.100\\.2:30080 rr\\n")
                .contains("kube-ipvs0 inet 10.96.0.10/32", "Done: namespaces, rules and servers removed.");
        assertThat(Netns.run("ip", "netns", "list").lines().toList()).isEqualTo(before);
    }
}
