package io.switchboard.informers;

import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.http.StandardHttpRequest;
import io.switchboard.core.metrics.ProxyMetrics;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Measures every request the fabric8 client sends (lists, watches, events) through the client's
 * interceptor hooks, for client-go's REST client metrics: the clock starts when the request is
 * handed to the transport and stops at the response headers, as client-go measures it.
 */
final class RestClientMetrics implements Interceptor {
    /** The interceptor's name in the client's chain. */
    static final String NAME = "switchboard-rest-client-metrics";

    private final ProxyMetrics metrics;
    private final LongSupplier nanoClock;
    private final Map<UUID, Long> started = new ConcurrentHashMap<>();

    RestClientMetrics(ProxyMetrics metrics, LongSupplier nanoClock) {
        this.metrics = metrics;
        this.nanoClock = nanoClock;
    }

    @Override
    public AsyncBody.Consumer<List<ByteBuffer>> consumer(AsyncBody.Consumer<List<ByteBuffer>> consumer, HttpRequest request) {
        started.put(request.id(), nanoClock.getAsLong());
        return consumer;
    }

    @Override
    public void after(HttpRequest request, HttpResponse<?> response, AsyncBody.Consumer<List<ByteBuffer>> consumer) {
        record(request, String.valueOf(response.code()), contentLength(response.header("Content-Length")));
    }

    @Override
    public void afterConnectionFailure(HttpRequest request, Throwable failure) {
        record(request, "<error>", -1);
    }

    private void record(HttpRequest request, String code, long responseBytes) {
        Long start = started.remove(request.id());
        double seconds = start == null ? 0 : (nanoClock.getAsLong() - start) / 1e9;
        long requestBytes = requestBytes(request);
        metrics.restClientRequest(host(request.uri()), request.method().toUpperCase(Locale.ROOT), code, seconds, requestBytes,
                responseBytes);
    }

    /** The URL's host as client-go labels it: with the port only when the URL names one. */
    static String host(URI uri) {
        String host = uri.getHost();
        if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
            host = "[" + host + "]";
        }
        return uri.getPort() < 0 ? host : host + ":" + uri.getPort();
    }

    /** The body's size: fabric8 holds it as text or bytes (streamed bodies count as 0, as unknown). */
    static long requestBytes(HttpRequest request) {
        if (request instanceof StandardHttpRequest std) {
            if (std.body() instanceof StandardHttpRequest.StringBodyContent text) {
                return text.getContent().getBytes(StandardCharsets.UTF_8).length;
            }
            if (std.body() instanceof StandardHttpRequest.ByteArrayBodyContent bytes) {
                return bytes.getContent().length;
            }
        }
        return 0;
    }

    private static long contentLength(String header) {
        if (header == null) {
            return -1;
        }
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
