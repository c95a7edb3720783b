package io.switchboard.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real Prometheus server (Debian's {@code prometheus}) scrapes the real switchboard process as
 * {@code job="kube-proxy"} in a network namespace; every query of the kubernetes-mixin "Kubernetes /
 * Proxy" dashboard and its KubeProxyDown alert, and of the chart's dashboard and alerts, is run
 * over Prometheus' HTTP API.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MonitoringTest {
    private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    private final String ns = "sbmon" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xffff));
    private MockApiServer api;
    private KubernetesClient admin;
    private SwitchboardProcess proxy;
    private Process prometheus;
    private Path data;

    /** The kubernetes-mixin Proxy dashboard's panel queries (job selector as the mixin sets it). */
    static List<String> dashboardQueries() {
        String j = "job=\"kube-proxy\"";
        return List.of(
                "sum(up{" + j + "})",
                "sum(rate(kubeproxy_sync_proxy_rules_duration_seconds_count{" + j + "}[5m]))",
                "histogram_quantile(0.99,rate(kubeproxy_sync_proxy_rules_duration_seconds_bucket{" + j + "}[5m]))",
                "sum(rate(kubeproxy_network_programming_duration_seconds_count{" + j + "}[5m]))",
                "histogram_quantile(0.99, sum(rate(kubeproxy_network_programming_duration_seconds_bucket{" + j + "}[5m])) by (instance, le))",
                "sum(rate(rest_client_requests_total{" + j + ",code=~\"2..\"}[5m]))",
                "histogram_quantile(0.99, sum(rate(rest_client_request_duration_seconds_bucket{" + j + ",verb=\"POST\"}[5m])) by (verb, url, le))",
                "histogram_quantile(0.99, sum(rate(rest_client_request_duration_seconds_bucket{" + j + ",verb=\"GET\"}[5m])) by (verb, url, le))",
                "process_resident_memory_bytes{" + j + "}",
                "rate(process_cpu_seconds_total{" + j + "}[5m])",
                // go_goroutines cannot apply to a JVM; the live thread count is the equivalent
                "jvm_threads_live_threads{" + j + "}");
    }

    @BeforeAll
    void setUp() throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "real-process monitoring test skipped: " + why);
        Assumptions.assumeTrue(Files.isExecutable(PROMETHEUS), "prometheus is not installed (Debian package 'prometheus'; .ci/run installs it)");
        Netns.add(ns);
        api = Netns.call(ns, MockApiServer::new);
        admin = Netns.call(ns, api::client);
        Netns.call(ns, () -> {
            admin.nodes().resource(new NodeBuilder().withNewMetadata().withName("node").endMetadata()
                    .withNewStatus().addNewAddress().withType("InternalIP").withAddress("192.168.77.2").endAddress().endStatus()
                    .build()).create();
            admin.services().resource(new ServiceBuilder().withNewMetadata().withNamespace("ns").withName("web").endMetadata()
                    .withNewSpec().withClusterIP("10.96.7.10").addNewPort().withName("http").withPort(80).withProtocol("TCP")
                    .endPort().endSpec().build()).create();
            return null;
        });
        slice("10.244.7.10");
        proxy = new SwitchboardProcess(ns, Path.of("target/e2e-logs/monitoring.log"), "--master", api.url(),
                "--hostname-override", "node", "--cluster-cidr", "10.244.0.0/16", "--iptables-min-sync-period", "100ms",
                "--metrics-bind-address", "127.0.0.1:10249", "--healthz-bind-address", "127.0.0.1:10256");
        data = Files.createTempDirectory("sb-prometheus");
        Path cfg = data.resolve("prometheus.yml");
        Files.writeString(cfg, String.join("\n", "global:", "  scrape_interval: 1s", "  evaluation_interval: 1s",
                "scrape_configs:", "  - job_name: kube-proxy", "    static_configs:", "      - targets: ['127.0.0.1:10249']", ""));
        prometheus = new ProcessBuilder("ip", "netns", "exec", ns, PROMETHEUS.toString(), "--config.file=" + cfg,
                "--storage.tsdb.path=" + data.resolve("tsdb"), "--web.listen-address=127.0.0.1:19090")
                .redirectErrorStream(true).redirectOutput(data.resolve("prometheus.log").toFile()).start();
        // the changes must come after the proxy's first sync: changes made while it is still starting
        // reach it folded into its initial list, with only the last trigger time (a slow CI host once
        // took long enough to fold two of the six)
        ConformanceSuite.await("switchboard has synced once and been scraped", Duration.ofSeconds(90),
                () -> !query("kubeproxy_sync_proxy_rules_last_timestamp_seconds{job=\"kube-proxy\"} > 0").isEmpty());
        // endpoint changes with trigger times, spread over a few scrapes, give the histograms data
        for (int i = 0; i < 6; i++) {
            Thread.sleep(1000);
            slice("10.244.7." + (11 + i));
        }
        ConformanceSuite.await("prometheus has scraped switchboard", Duration.ofSeconds(60),
                () -> !query("kubeproxy_sync_proxy_rules_last_timestamp_seconds{job=\"kube-proxy\"} > 0").isEmpty()
                        && !query("rest_client_requests_total{job=\"kube-proxy\",method=\"POST\"}").isEmpty());
        Thread.sleep(3000);
    }

    private void slice(String ip) {
        Netns.call(ns, () -> admin.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata()
                .withNamespace("ns").withName("web-abc").withLabels(Map.of("kubernetes.io/service-name", "web"))
                .withAnnotations(Map.of("endpoints.kubernetes.io/last-change-trigger-time", Instant.now().toString()))
                .endMetadata().withAddressType("IPv4").addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
                .withEndpoints(new EndpointBuilder().withAddresses(ip).withNewConditions().withReady(true).endConditions()
                        .withNodeName("node").build()).build()).createOr(r -> r.update()));
    }

    @AfterAll
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (prometheus != null) {
            prometheus.destroy();
            prometheus.waitFor(30, TimeUnit.SECONDS);
        }
        if (admin != null) {
            admin.close();
        }
        if (api != null) {
            api.close();
        }
        Netns.delete(ns);
    }

    /** The result vector of an instant query (empty when no series). */
    private List<JsonNode> query(String promql) {
        String body = Netns.call(ns, () -> {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            try {
                return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:19090/api/v1/query?query="
                        + URLEncoder.encode(promql, StandardCharsets.UTF_8))).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
            } catch (Exception e) {
                return "{\"status\":\"unreachable\"}";
            }
        });
        if (body.startsWith("Service Unavailable")) {
            // Prometheus answers this in plain text until its storage is ready: no result yet
            return List.of();
        }
        try {
            JsonNode root = new ObjectMapper().readTree(body);
            if (!"success".equals(root.path("status").asText())) {
                return List.of();
            }
            List<JsonNode> out = new ArrayList<>();
            root.path("data").path("result").forEach(out::add);
            return out;
        } catch (Exception e) {
            throw new AssertionError("bad answer to " + promql + ": " + body, e);
        }
    }

    @ParameterizedTest
    @MethodSource("dashboardQueries")
    @Order(1)
    void everyDashboardQueryReturnsASeries(String promql) {
        assertThat(query(promql)).as(promql).isNotEmpty();
    }

    @ParameterizedTest
    @MethodSource("io.switchboard.e2e.ChartMonitoring#queries")
    @Order(1)
    void everyQueryOfTheChartsDashboardReturnsASeries(String promql) {
        assertThat(query(promql)).as(promql).isNotEmpty();
    }

    @Test
    @Order(2)
    void networkProgrammingLatencyIsMeasuredFromTheTriggerTime() {
        // six changes after the first sync, each with its own trigger time; the scrape runs every second
        String six = "kubeproxy_network_programming_duration_seconds_count{job=\"kube-proxy\"} >= 6";
        ConformanceSuite.await("six network-programming observations scraped", Duration.ofSeconds(20),
                () -> !query(six).isEmpty());
        List<JsonNode> r = query("kubeproxy_network_programming_duration_seconds_count{job=\"kube-proxy\"}");
        assertThat(r).isNotEmpty();
        assertThat(r.get(0).path("value").get(1).asDouble()).isGreaterThanOrEqualTo(6);
        assertThat(query("rest_client_requests_total{job=\"kube-proxy\",code=\"200\",method=\"GET\"}")).isNotEmpty();
        assertThat(query("rest_client_requests_total{job=\"kube-proxy\",code=\"201\",method=\"POST\"}")).isNotEmpty();
    }

    @Test
    @Order(3)
    void theProxyDownAlertFiresOnlyWhenSwitchboardIsGone() {
        String down = "absent(up{job=\"kube-proxy\"} == 1)";
        assertThat(query(down)).as("not firing while switchboard runs").isEmpty();
        for (String alert : ChartMonitoring.alertExpressions().values()) {
            assertThat(query(alert)).as("chart alert %s while healthy", alert).isEmpty();
        }
        proxy.close();
        ConformanceSuite.await("KubeProxyDown fires", Duration.ofSeconds(30), () -> !query(down).isEmpty());
        proxy = null;
    }
}
