package io.switchboard.app.http;

import com.sun.net.httpserver.HttpServer;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.testing.FakeClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class HealthzHttpTest {
    private final FakeClock clock = new FakeClock();
    private final ProxyHealth health = new ProxyHealth(clock, Duration.ofSeconds(60));
    private final List<String> codes = new ArrayList<>();
    private final ProxyMetrics metrics = new ProxyMetrics() {
        @Override
        public void healthz(int code) {
            codes.add("healthz " + code);
        }

        @Override
        public void livez(int code) {
            codes.add("livez " + code);
        }
    };
    private HttpServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> get(String path) throws Exception {
        if (server == null) {
            server = HttpEndpoints.startHealthz(new InetSocketAddress("127.0.0.1", 0), health, metrics);
        }
        URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
        return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    @Test
    void healthyAnswers200WithKubeProxyBody() throws Exception {
        health.updated(IpFamily.IPV4);
        HttpResponse<String> r = get("/healthz");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(r.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(r.body()).isEqualTo("{\"lastUpdated\": \"2026-01-01T00:00:00Z\",\"currentTime\": \"2026-01-01T00:00:00Z\", \"nodeEligible\": true}");
        assertThat(codes).containsExactly("healthz 200");
    }

    @Test
    void staleQueuedChangeAnswers503OnBoth() throws Exception {
        health.updated(IpFamily.IPV4);
        health.queued(IpFamily.IPV4);
        clock.advance(Duration.ofSeconds(61));
        health.syncFailed("iptables-restore: line 7 failed");
        HttpResponse<String> h = get("/healthz");
        assertThat(h.statusCode()).isEqualTo(503);
        assertThat(h.body()).contains("\"lastUpdated\": \"2026-01-01T00:00:00Z\"", "\"currentTime\": \"2026-01-01T00:01:01Z\"",
                "\"lastError\": \"iptables-restore: line 7 failed\"");
        assertThat(get("/livez").statusCode()).isEqualTo(503);
        assertThat(codes).containsExactly("healthz 503", "livez 503");
    }

    @Test
    void nodeBeingDeletedFailsHealthzButNotLivez() throws Exception {
        health.nodeEligible(false);
        assertThat(get("/healthz").statusCode()).isEqualTo(503);
        assertThat(get("/healthz").body()).contains("\"nodeEligible\": false");
        HttpResponse<String> live = get("/livez");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).doesNotContain("nodeEligible");
    }
}
