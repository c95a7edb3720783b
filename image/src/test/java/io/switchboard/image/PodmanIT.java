package io.switchboard.image;

import com.github.dockerjava.api.model.Capability;
import io.switchboard.charts.ChartRender;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.testkit.Echo;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.testkit.Netns;
import io.switchboard.testkit.TestCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.IsRunningStartupCheckStrategy;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The image as the DaemonSet runs it, through Testcontainers over Podman (runc): the chart's
 * entrypoint arguments and rendered KubeProxyConfiguration, only the chart's capabilities, in the
 * node namespace of the test cluster, against the CRUD mock API server. The test owns its podman
 * configuration, storage and API socket (nothing global changes); without podman it is skipped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PodmanIT {
    static final Path REPO = Path.of(System.getProperty("switchboard.repo", ".."));
    static final Path WORK = Path.of(System.getProperty("podman.work", "target/podman")).toAbsolutePath();
    private Process service;
    private String image;

    @BeforeAll
    void startPodman() throws Exception {
        String why = Netns.unavailableReason();
        assumeTrue(why == null, "needs network namespaces: " + why);
        for (String tool : List.of("/usr/bin/podman", "/usr/sbin/runc")) {
            assumeTrue(Files.isExecutable(Path.of(tool)) || Files.isExecutable(Path.of(tool.replace("/usr/sbin", "/usr/bin"))),
                    tool + " is not installed (Debian packages podman and runc; .ci/run installs them)");
        }
        Path tar = Path.of(System.getProperty("image.tar"));
        assertThat(tar).exists();
        Files.createDirectories(WORK);
        // this test's own podman configuration: runc (crun fails here on hybrid cgroups), ulimits
        // within the host's hard limits, storage under target/
        Files.writeString(WORK.resolve("containers.conf"), String.join("\n", "[containers]",
                "default_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]", "[engine]", "runtime = \"runc\"",
                "events_logger = \"file\"", "cgroup_manager = \"cgroupfs\"", ""));
        Files.writeString(WORK.resolve("storage.conf"), String.join("\n", "[storage]", "driver = \"overlay\"",
                "graphroot = \"" + WORK.resolve("storage") + "\"", "runroot = \"" + WORK.resolve("run") + "\"", ""));
        Path sock = WORK.resolve("podman.sock");
        Files.deleteIfExists(sock);
        podman("load", "-i", tar.toString());
        image = "localhost/switchboard:" + System.getProperty("project.version", "0.1.0-SNAPSHOT");
        ProcessBuilder pb = new ProcessBuilder("podman", "system", "service", "--time=0", "unix://" + sock)
                .redirectErrorStream(true).redirectOutput(WORK.resolve("service.log").toFile());
        env(pb);
        service = pb.start();
        await("podman API socket", Duration.ofSeconds(30), () -> Files.exists(sock));
    }

    private static void env(ProcessBuilder pb) {
        pb.environment().put("CONTAINERS_CONF", WORK.resolve("containers.conf").toString());
        pb.environment().put("CONTAINERS_STORAGE_CONF", WORK.resolve("storage.conf").toString());
    }

    private static String podman(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("podman"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        env(pb);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ":\n" + out).isZero();
        return out;
    }

    @AfterAll
    void stopPodman() throws Exception {
        if (service != null) {
            service.destroy();
            service.waitFor(30, TimeUnit.SECONDS);
            // the test's own storage holds the loaded image; remove it so repeated runs do not grow target/
            podman("rmi", "--all", "--force");
        }
    }

    private static List<HasMetadata> chart(String... sets) {
        return ChartRender.render(REPO.resolve("charts/switchboard"), sets);
    }

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "userspace"})
    @Order(1)
    void theImageServesServicesWithOnlyTheChartsCapabilities(String mode) throws Exception {
        try (TestCluster cluster = new TestCluster(); MockApiServer api = Netns.call(cluster.node(), MockApiServer::new)) {
            String a = cluster.bridgePod("web-a");
            cluster.bridgePod("client");
            List<Echo.Server> servers = List.of(Echo.tcp(cluster.podNs("web-a"), "0.0.0.0", 8080, "web-a"));
            try (KubernetesClient admin = Netns.call(cluster.node(), api::client)) {
                Netns.call(cluster.node(), () -> seed(admin, a));
                List<HasMetadata> objs = chart("config.mode=" + mode, "config.clusterCIDR=" + TestCluster.CLUSTER_CIDR,
                        "config.bindAddress=" + (mode.equals("userspace") ? TestCluster.NODE_IP : "0.0.0.0"),
                        "extraArgs[0]=--master=" + api.url());
                DaemonSet ds = (DaemonSet) objs.stream().filter(o -> o instanceof DaemonSet).findFirst().orElseThrow();
                var c = ds.getSpec().getTemplate().getSpec().getContainers().get(0);
                ConfigMap cm = (ConfigMap) objs.stream().filter(o -> o instanceof ConfigMap).findFirst().orElseThrow();
                Path conf = Files.createDirectories(WORK.resolve("conf-" + mode));
                Files.writeString(conf.resolve("config.conf"), cm.getData().get("config.conf"));
                Capability[] caps = c.getSecurityContext().getCapabilities().getAdd().stream().map(Capability::valueOf)
                        .toArray(Capability[]::new);
                assertThat(c.getSecurityContext().getPrivileged()).isFalse();
                String mount = c.getVolumeMounts().stream().filter(v -> v.getMountPath().equals("/var/lib/switchboard"))
                        .findFirst().orElseThrow().getMountPath();
                // the chart's node-setup init container, as specified: privileged, applies the sysctls, exits
                var init = ds.getSpec().getTemplate().getSpec().getInitContainers().get(0);
                assertThat(init.getSecurityContext().getPrivileged()).isTrue();
                Netns.exec(cluster.node(), "sysctl", "-q", "-w", "net.ipv4.conf.all.route_localnet=0");
                try (GenericContainer<?> setup = new GenericContainer<>(DockerImageName.parse(image))
                        .withImagePullPolicy(name -> false)
                        .withNetworkMode("ns:/run/netns/" + cluster.node())
                        .withPrivilegedMode(true)
                        .withFileSystemBind(conf.toString(), mount, BindMode.READ_ONLY)
                        .withCommand(init.getArgs().toArray(String[]::new))
                        .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofSeconds(60)))) {
                    setup.start();
                    assertThat(setup.getLogs()).contains(mode.equals("iptables") ? "route_localnet = 1" : "node-setup:");
                }
                assertThat(Netns.exec(cluster.node(), "cat", "/proc/sys/net/ipv4/conf/all/route_localnet").strip())
                        .isEqualTo(mode.equals("iptables") ? "1" : "0");
                try (GenericContainer<?> proxy = container(cluster.node(), caps)
                        .withFileSystemBind(conf.toString(), mount, BindMode.READ_ONLY)
                        .withEnv("NODE_NAME", "node")
                        .withCommand(c.getArgs().stream().map(x -> x.replace("$(NODE_NAME)", "node")).toArray(String[]::new))
                        .withStartupCheckStrategy(new IsRunningStartupCheckStrategy())) {
                    proxy.start();
                    await("rules from the container", Duration.ofSeconds(90), () -> {
                        if (!proxy.isRunning()) {
                            throw new AssertionError("the container stopped:\n" + proxy.getLogs());
                        }
                        return Netns.exec(cluster.node(), "iptables-save", "-t", "nat").contains("ns/web:http");
                    });
                    String client = cluster.podNs("client");
                    assertThat(hits(client, "10.96.0.10", 80)).as(proxy.getLogs()).containsOnly("web-a");
                    assertThat(hits(client, TestCluster.NODE_IP, 30080)).as(proxy.getLogs()).containsOnly("web-a");
                    await("/healthz 200", Duration.ofSeconds(30), () -> http(cluster.node(), "http://127.0.0.1:10256/healthz").startsWith("200"));
                    assertThat(http(cluster.node(), "http://127.0.0.1:10249/metrics")).contains("kubeproxy_sync_proxy_rules_last_timestamp_seconds");
                    // the image's JVM defaults (environment) reached the JVM
                    assertThat(proxy.getLogs()).contains("Picked up JAVA_TOOL_OPTIONS: -XX:+UseSerialGC");
                    // with the sysctls applied by node-setup, NET_ADMIN and NET_RAW are all the proxy needs
                    // (the one expected warning: lowering oom_score_adj needs CAP_SYS_RESOURCE, which the chart
                    // does not grant; on a node the kubelet gives this system-node-critical pod -997 itself)
                    assertThat(proxy.getLogs().lines().filter(l -> !l.contains("oom_score_adj")))
                            .noneMatch(l -> l.contains("Operation not permitted") || l.contains("Read-only file system")
                                    || l.contains("cannot set"));
                }
                // a stop leaves the rules (traffic keeps flowing while a new pod starts)
                assertThat(Netns.exec(cluster.node(), "iptables-save", "-t", "nat")).contains("ns/web:http");
                // the chart's cleanup: the same image and capabilities with --cleanup
                try (GenericContainer<?> cleanup = container(cluster.node(), caps).withCommand("--cleanup")
                        .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofSeconds(90)))) {
                    cleanup.start();
                }
                assertThat(Netns.exec(cluster.node(), "iptables-save")).doesNotContain("KUBE-");
            } finally {
                servers.forEach(Echo.Server::close);
            }
        }
    }

    private GenericContainer<?> container(String ns, Capability... caps) {
        return new GenericContainer<>(DockerImageName.parse(image))
                .withImagePullPolicy(name -> false)
                .withNetworkMode("ns:/run/netns/" + ns)
                .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withCapDrop(Capability.ALL).withCapAdd(caps));
    }

    private static Void seed(KubernetesClient admin, String endpoint) {
        admin.nodes().resource(new NodeBuilder().withNewMetadata().withName("node").endMetadata()
                .withNewStatus().addNewAddress().withType("InternalIP").withAddress(TestCluster.NODE_IP).endAddress().endStatus()
                .build()).create();
        admin.services().resource(new ServiceBuilder().withNewMetadata().withNamespace("ns").withName("web").endMetadata()
                .withNewSpec().withType("NodePort").withClusterIP("10.96.0.10").addNewPort().withName("http").withPort(80)
                .withProtocol("TCP").withNewTargetPort(8080).withNodePort(30080).endPort().endSpec().build()).create();
        admin.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata().withNamespace("ns")
                .withName("web-abc").withLabels(Map.of("kubernetes.io/service-name", "web")).endMetadata().withAddressType("IPv4")
                .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
                .withEndpoints(new EndpointBuilder().withAddresses(endpoint).withNewConditions().withReady(true).endConditions()
                        .withNodeName("node").build()).build()).create();
        return null;
    }

    private static Set<String> hits(String ns, String ip, int port) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            seen.add(Echo.tcpHello(ns, ip, port, 2000));
        }
        return seen;
    }

    private static String http(String ns, String url) {
        return Netns.call(ns, () -> {
            try {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                return r.statusCode() + "\n" + r.body();
            } catch (Exception e) {
                return "ERROR " + e;
            }
        });
    }

    static void await(String what, Duration timeout, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + ": " + what);
            }
            Thread.sleep(100);
        }
    }
}
