package io.switchboard.e2e;

import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code switchboard demo}, the README's first command, run as the built jar. */
class DemoTest {

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "userspace"})
    void demoShowsEveryEndpointAnsweringAndCleansUp(String mode) throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "demo needs namespaces: " + why);
        List<String> before = namespaces();
        Process p = new ProcessBuilder("java", "-jar", SwitchboardProcess.JAR.toString(), "demo", "--proxy-mode", mode, "--requests", "24")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        String clientRows = out.substring(out.indexOf("10.96.0.10:80 (client pod)"), out.indexOf(":30080 (client pod)"));
        assertThat(clientRows).contains("web-1 (10.244.1.10)", "web-2 (10.244.1.11)", "web-3 (10.244.2.10)");
        String nodePortRows = out.substring(out.indexOf(":30080 (client pod)"), out.indexOf("(outside)"));
        assertThat(nodePortRows).contains("web-1 (10.244.1.10)", "web-2 (10.244.1.11)", "web-3 (10.244.2.10)");
        String sticky = out.substring(out.indexOf("demo/sticky:http"), out.indexOf("demo/empty:http"));
        assertThat(sticky.lines().filter(l -> l.contains("web-")).count()).as(sticky).isEqualTo(1);
        assertThat(out).contains("refused (no endpoints: REJECT) 24", "Done: namespaces, rules and servers removed.",
                mode.equals("iptables") ? "-A KUBE-SVC-" : "-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32",
                "switchboard explain --from <client pod> 10.96.0.20:80",
                mode.equals("iptables") ? "the client has an affinity entry in KUBE-SEP-" : "the portal rules hand it to the userspace proxy");
        assertThat(namespaces()).isEqualTo(before);
    }

    private static List<String> namespaces() {
        return Arrays.stream(Netns.run("ip", "netns", "list").split("\n"))
                .map(l -> l.split(" ")[0]).filter(n -> !n.isBlank()).sorted().toList();
    }
}
