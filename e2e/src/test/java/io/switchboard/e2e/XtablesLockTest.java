package io.switchboard.e2e;

import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.testkit.Echo;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.testkit.Netns;
import io.switchboard.testkit.TestCluster;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static io.switchboard.e2e.ConformanceSuite.await;
import static io.switchboard.e2e.ConformanceSuite.httpGet;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * iptables-legacy and another agent holding the xtables lock for 10 s (kubernetes#48107): the sync
 * waits its 5 s, fails, keeps the rules it had (traffic flows), counts the failure, shows it on
 * /healthz, retries, and programs the change once the lock is free.
 */
class XtablesLockTest {
    private static final Path LOCK = Path.of("/run/xtables.lock");

    @Test
    void aHeldXtablesLockDelaysTheSyncAndNothingIsLost() throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "real-kernel e2e skipped: " + why);
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/sbin/iptables-legacy-restore")),
                "iptables-legacy is not installed (Debian package iptables)");
        Path legacy = Files.createTempDirectory("sb-legacy");
        for (String fam : new String[]{"iptables", "ip6tables"}) {
            for (String suffix : new String[]{"", "-save", "-restore"}) {
                Files.createSymbolicLink(legacy.resolve(fam + suffix), Path.of("/usr/sbin/" + fam + "-legacy" + suffix));
            }
        }
        try (TestCluster cluster = new TestCluster()) {
            cluster.bridgePod("web-a");
            cluster.bridgePod("client");
            Echo.Server server = Echo.tcp(cluster.podNs("web-a"), "0.0.0.0", 8080, "web-a");
            String node = cluster.node();
            try (MockApiServer api = Netns.call(node, MockApiServer::new);
                 KubernetesClient admin = Netns.call(node, api::client)) {
                create(node, admin, cluster, "web", "10.96.0.10");
                try (SwitchboardProcess proxy = new SwitchboardProcess(node, Path.of("target/e2e-logs/xtables-lock.log"),
                        Map.of("PATH", legacy.toString()), "--master", api.url(), "--hostname-override", "node",
                        "--cluster-cidr", TestCluster.CLUSTER_CIDR, "--iptables-min-sync-period", "100ms",
                        "--iptables-sync-period", "3s", "--healthz-bind-address", "127.0.0.1:10256",
                        "--metrics-bind-address", "127.0.0.1:10249", "--v", "2")) {
                    await("legacy rules for ns/web", Duration.ofSeconds(60), () -> {
                        assertThat(proxy.alive()).as(proxy.logText()).isTrue();
                        return Netns.exec(node, "iptables-legacy-save", "-t", "nat").contains("ns/web:http");
                    });
                    assertThat(proxy.logText()).contains("legacy");
                    String client = cluster.podNs("client");
                    assertThat(Echo.tcpHello(client, "10.96.0.10", 80, 2000)).isEqualTo("web-a");

                    Process holder = new ProcessBuilder("flock", LOCK.toString(), "sleep", "10").start();
                    long held = System.nanoTime();
                    try {
                        Thread.sleep(300);
                        create(node, admin, cluster, "late", "10.96.0.11");
                        String[] seen = {""};
                        await("the failed sync on /healthz", Duration.ofSeconds(9), () -> {
                            seen[0] = httpGet(node, "http://127.0.0.1:10256/healthz");
                            return seen[0].contains("lastError");
                        });
                        System.out.println("[xtables lock] /healthz while the lock is held: " + seen[0].replace('\n', ' '));
                        assertThat(Netns.exec(node, "iptables-legacy-save", "-t", "nat"))
                                .as("nothing written while the lock is held").doesNotContain("ns/late:http");
                        assertThat(Echo.tcpHello(client, "10.96.0.10", 80, 2000)).as("the previous rules stay").isEqualTo("web-a");
                    } finally {
                        holder.waitFor();
                    }
                    long released = System.nanoTime();
                    await("ns/late programmed after the lock is released", Duration.ofSeconds(30),
                            () -> Netns.exec(node, "iptables-legacy-save", "-t", "nat").contains("ns/late:http"));
                    System.out.printf("[xtables lock] lock held %d ms; change in the kernel %d ms after release%n",
                            (released - held) / 1_000_000, (System.nanoTime() - released) / 1_000_000);
                    assertThat(Echo.tcpHello(client, "10.96.0.11", 80, 2000)).isEqualTo("web-a");
                    String metrics = httpGet(node, "http://127.0.0.1:10249/metrics");
                    assertThat(metrics).containsPattern("kubeproxy_sync_proxy_rules_iptables_restore_failures_total\\{ip_family=\"IPv4\"} [1-9]");
                    await("/healthz clean again", Duration.ofSeconds(10),
                            () -> !httpGet(node, "http://127.0.0.1:10256/healthz").contains("lastError"));
                }
            } finally {
                server.close();
            }
        } finally {
            try (var files = Files.list(legacy)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(legacy);
        }
    }

    private static void create(String node, KubernetesClient admin, TestCluster cluster, String name, String vip) {
        Netns.call(node, () -> {
            admin.services().resource(new ServiceBuilder().withNewMetadata().withNamespace("ns").withName(name).endMetadata()
                    .withNewSpec().withClusterIP(vip).addNewPort().withName("http").withPort(80).withProtocol("TCP")
                    .withNewTargetPort(8080).endPort().endSpec().build()).create();
            return admin.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata()
                    .withNamespace("ns").withName(name + "-abc").withLabels(Map.of("kubernetes.io/service-name", name)).endMetadata()
                    .withAddressType("IPv4").addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
                    .addNewEndpoint().withAddresses(cluster.podIp("web-a")).withNewConditions().withReady(true).endConditions()
                    .withNodeName("node").endEndpoint().build()).create();
        });
    }
}
