package io.switchboard.e2e;

import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
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
    @ValueSource(strings = {"iptables", "userspace", "nftables"})
    void demoShowsEveryEndpointAnsweringAndCleansUp(String mode) throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "demo needs namespaces: " + why);
        List<String> before = namespaces();
        Process p = new ProcessBuilder("java", "-jar", SwitchboardProcess.JAR.toString(), "demo", "--proxy-mode", mode, "--requests", "24")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertEveryEndpointAnswers(out);
        assertThat(out).contains("refused (no endpoints: REJECT) 24", "Done: namespaces, rules and servers removed.",
                switch (mode) {
                    case "iptables" -> "-A KUBE-SVC-";
                    case "nftables" -> "numgen random mod 3 vmap { 0 : goto endpoint-";
                    default -> "-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32";
                },
                "switchboard explain --from <client pod> 10.96.0.20:80",
                switch (mode) {
                    case "iptables" -> "the client has an affinity entry in KUBE-SEP-";
                    case "nftables" -> "the client has an affinity entry in affinity-";
                    default -> "the portal rules hand it to the userspace proxy";
                });
        assertThat(namespaces()).isEqualTo(before);
    }

    /** The demo's table: the cluster IP and the node port (from a pod and from outside) reach all three pods; sticky sticks. */
    static void assertEveryEndpointAnswers(String out) {
        for (String[] rows : new String[][]{{"10.96.0.10:80 (client pod)", ":30080 (client pod)"}, {":30080 (client pod)", "(outside)"},
                {":30080 (outside)", "10.96.0.10:80 (the node)"}}) {
            assertThat(out.substring(out.indexOf(rows[0]), out.indexOf(rows[1]))).as(rows[0])
                    .contains("web-1 (10.244.1.10)", "web-2 (10.244.1.11)", "web-3 (10.244.2.10)");
        }
        String sticky = out.substring(out.indexOf("demo/sticky:http"), out.indexOf("demo/empty:http"));
        assertThat(sticky.lines().filter(l -> l.contains("web-")).count()).as(sticky).isEqualTo(1);
    }

    @Test
    void ipvsOnAKernelWithoutIpvsSaysWhereToRunItAndCreatesNothing() throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "demo needs namespaces: " + why);
        Assumptions.assumeFalse(IpvsDemoTest.kernelHasIpvs(), "this kernel has IPVS: IpvsDemoTest runs the demo");
        List<String> before = namespaces();
        Process p = new ProcessBuilder("java", "-jar", SwitchboardProcess.JAR.toString(), "demo", "--proxy-mode", "ipvs")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(1);
        assertThat(out).contains("this kernel has no IPVS", "nothing was created", "vm/run -- bin/switchboard demo --proxy-mode ipvs");
        assertThat(namespaces()).isEqualTo(before);
    }

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "sysctl", "nft"})
    void aMissingToolIsNamedWithItsPackageBeforeAnythingIsCreated(String tool) throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "demo needs namespaces: " + why);
        // a PATH with every tool of this machine but the ones of one package
        java.nio.file.Path bin = java.nio.file.Files.createTempDirectory("sb-path");
        for (String dir : List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
            java.io.File[] files = new java.io.File(dir).listFiles();
            for (java.io.File f : files == null ? new java.io.File[0] : files) {
                String name = f.getName();
                boolean excluded = tool.equals("iptables") ? name.startsWith("iptables") || name.startsWith("ip6tables")
                        : name.equals(tool);
                java.nio.file.Path link = bin.resolve(name);
                if (!excluded && f.canExecute() && !java.nio.file.Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    java.nio.file.Files.createSymbolicLink(link, f.toPath());
                }
            }
        }
        List<String> before = namespaces();
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new java.util.ArrayList<>(List.of(javaBin, "-jar", SwitchboardProcess.JAR.toString(), "demo"));
        if (tool.equals("nft")) {
            cmd.addAll(List.of("--proxy-mode", "nftables"));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PATH", bin.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(1);
        String pkg = switch (tool) {
            case "sysctl" -> "procps";
            case "nft" -> "nftables";
            default -> "iptables";
        };
        assertThat(out).contains("install the Debian package " + pkg, "nothing was created");
        assertThat(namespaces()).isEqualTo(before);
        try (var links = java.nio.file.Files.list(bin)) {
            for (java.nio.file.Path l : links.toList()) {
                java.nio.file.Files.delete(l);
            }
        }
        java.nio.file.Files.delete(bin);
    }

    private static List<String> namespaces() {
        return Arrays.stream(Netns.run("ip", "netns", "list").split("\n"))
                .map(l -> l.split(" ")[0]).filter(n -> !n.isBlank()).sorted().toList();
    }
}
