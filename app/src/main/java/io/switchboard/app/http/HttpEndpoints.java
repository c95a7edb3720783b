package io.switchboard.app.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Executors;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The two HTTP servers kube-proxy runs: healthz ({@code /healthz}, {@code /livez}) and metrics
 * ({@code /metrics}, {@code /healthz}, {@code /proxyMode}). Built on the JDK's HTTP server: two
 * tiny endpoints do not justify a web framework.
 */
public final class HttpEndpoints {
    private static final Logger LOG = LoggerFactory.getLogger(HttpEndpoints.class);

    private HttpEndpoints() {
    }

    /** Starts the healthz server. */
    public static HttpServer startHealthz(InetSocketAddress address, ProxyHealth health, ProxyMetrics metrics)
            throws IOException {
        HttpServer server = HttpServer.create(address, 16);
        server.createContext("/healthz", ex -> {
            ProxyHealth.Status s = health.status();
            boolean ok = s.healthy() && s.nodeEligible();
            metrics.healthz(ok ? 200 : 503);
            String body = "{\"lastUpdated\": \"" + ts(ok ? s.now() : s.lastUpdated()) + "\",\"currentTime\": \""
                    + ts(s.now()) + "\", \"nodeEligible\": " + s.nodeEligible()
                    + (s.lastError().isEmpty() ? "" : ", \"lastError\": \"" + jsonEscape(s.lastError()) + "\"") + "}";
            send(ex, ok ? 200 : 503, "application/json", body);
        });
        server.createContext("/livez", ex -> {
            ProxyHealth.Status s = health.status();
            metrics.livez(s.healthy() ? 200 : 503);
            String body = "{\"lastUpdated\": \"" + ts(s.healthy() ? s.now() : s.lastUpdated()) + "\",\"currentTime\": \""
                    + ts(s.now()) + "\"}";
            send(ex, s.healthy() ? 200 : 503, "application/json", body);
        });
        return start(server, "healthz");
    }

    /** Starts the metrics server. */
    public static HttpServer startMetrics(InetSocketAddress address, Supplier<String> scrape, String mode)
            throws IOException {
        return startMetrics(address, scrape, mode, Map.of());
    }

    /**
     * With extra JSON endpoints ({@code /configz}: the running configuration; {@code /debug/services}:
     * the programmed services), each a path → body supplier.
     */
    public static HttpServer startMetrics(InetSocketAddress address, Supplier<String> scrape, String mode,
                                          Map<String, Supplier<String>> json) throws IOException {
        HttpServer server = HttpServer.create(address, 16);
        json.forEach((path, body) -> server.createContext(path, ex -> {
            String text;
            try {
                text = body.get();
            } catch (RuntimeException e) {
                send(ex, 500, "text/plain; charset=utf-8", e.toString());
                return;
            }
            send(ex, 200, "application/json", text);
        }));
        server.createContext("/metrics", ex -> send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", scrape.get()));
        server.createContext("/healthz", ex -> send(ex, 200, "text/plain; charset=utf-8", "ok"));
        server.createContext("/proxyMode", ex -> send(ex, 200, "text/plain; charset=utf-8", mode));
        return start(server, "metrics");
    }

    private static HttpServer start(HttpServer server, String name) {
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, name + "-http");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        LOG.info("{} server listening on {}", name, server.getAddress());
        return server;
    }

    private static String ts(java.time.Instant t) {
        return DateTimeFormatter.ISO_INSTANT.format(t);
    }

    static String jsonEscape(String s) {
        String q = io.switchboard.app.logging.Json.quote(s);
        return q.substring(1, q.length() - 1);
    }

    private static void send(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        if ("HEAD".equals(ex.getRequestMethod())) {
            ex.sendResponseHeaders(code, -1);
        } else {
            ex.sendResponseHeaders(code, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
        ex.close();
    }
}
