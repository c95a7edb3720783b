package io.switchboard.app;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.app.config.ConfigValidator;
import io.switchboard.app.config.RawConfig;
import io.switchboard.app.testing.RecordingBackendProvider;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.testing.RecordingBackend;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.informers.testing.Objects;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static io.switchboard.informers.testing.StateRecorder.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real wiring (config → ProxyServer → informers → trackers → runner → backend) against the
 * CRUD mock API server, with a recording backend in place of the kernel.
 */
class WiringEndToEndTest {
    private static final int N = 200;

    @Test
    void servicesFlowIntoSnapshotsAndDeletesFlowOut() throws Exception {
        try (MockApiServer api = new MockApiServer(); KubernetesClient admin = api.client()) {
            for (int i = 0; i < N; i++) {
                admin.services().resource(Objects.service("ns", "svc" + i, "10.96." + (i / 250) + "." + (i % 250 + 1))).create();
                admin.discovery().v1().endpointSlices().resource(Objects.slice("ns", "svc" + i + "-a", "svc" + i,
                        "10.244." + (i / 250) + "." + (i % 250 + 1))).create();
            }
            RawConfig raw = new RawConfig();
            raw.set("mode", "recording");
            raw.set("hostnameOverride", "node-1");
            raw.set("healthzBindAddress", "127.0.0.1:0");
            raw.set("metricsBindAddress", "127.0.0.1:0");
            raw.set("iptables.minSyncPeriod", Duration.ofMillis(100));
            try (ProxyServer server = ProxyServer.start(ConfigValidator.validate(raw), api.url(), false)) {
                RecordingBackend backend = RecordingBackendProvider.last;
                await("first sync", Duration.ofSeconds(30), () -> backend.last() != null);
                ProxySnapshot first = backend.snapshots().get(0);
                // no sync happened before both informers had delivered their initial lists
                assertThat(first.fullSync()).isTrue();
                assertThat(first.services()).hasSize(N);
                assertThat(first.selections(IpFamily.IPV4).values()).allMatch(s -> s.clusterEndpoints().size() == 1);

                admin.services().resource(Objects.service("ns", "late", "10.96.9.9")).create();
                admin.discovery().v1().endpointSlices().resource(Objects.slice("ns", "late-a", "late", "10.244.9.9")).create();
                ServicePortName late = new ServicePortName(new NamespacedName("ns", "late"), "http", Protocol.TCP);
                await("new service synced", Duration.ofSeconds(30), () -> backend.last().services().containsKey(late)
                        && backend.last().selections(IpFamily.IPV4).get(late).clusterEndpoints().size() == 1);
                assertThat(backend.last().fullSync()).isFalse();

                for (int i = 0; i < N; i += 2) {
                    admin.services().inNamespace("ns").withName("svc" + i).delete();
                }
                await("deletes synced", Duration.ofSeconds(30), () -> backend.last().services().size() == N / 2 + 1);

                HttpClient http = HttpClient.newHttpClient();
                HttpResponse<String> healthz = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.healthzPort().orElseThrow() + "/healthz")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(healthz.statusCode()).isEqualTo(200);
                HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.metricsPort().orElseThrow() + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(metrics.body()).contains("kubeproxy_sync_proxy_rules_service_changes_total")
                        .contains("kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family=\"IPv4\"} 1");
            }
        }
    }
}
