package io.switchboard.testkit;

import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A watch that ends with events still queued for it must not stall the server. A raw watch that
 * asks for no message holds the server's writes back while 400 services of 60 kB each are created,
 * then its connection is dropped; another client's GET follows. The stock dispatcher, when the
 * close meets a pending write, answers it only after its sender gave up that write (30 s,
 * measured: 29.9 s); ours at once.
 */
class WatchEndTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Opens the watch, fills it, drops it; returns the GET request to send after. */
    private static HttpRequest dropABackedUpWatch(MockApiServer api) throws Exception {
        WebSocket ws = HTTP.newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + api.port() + "/api/v1/namespaces/big/services?watch=true"),
                        new WebSocket.Listener() {
                            @Override
                            public void onOpen(WebSocket webSocket) {
                                // no request(): the client reads nothing, so the server's writes back up
                            }
                        })
                .get(10, TimeUnit.SECONDS);
        String filler = "x".repeat(60_000);
        try (KubernetesClient c = api.client()) {
            for (int i = 0; i < 400; i++) {
                c.services().resource(new ServiceBuilder().withNewMetadata().withNamespace("big").withName("s" + i)
                        .withAnnotations(Map.of("filler", filler)).endMetadata()
                        .withNewSpec().addNewPort().withPort(80).endPort().endSpec().build()).create();
            }
        }
        Thread.sleep(300);
        ws.abort();
        Thread.sleep(200);
        return HttpRequest.newBuilder(URI.create(api.url() + "/api/v1/namespaces/big/services/s1")).timeout(Duration.ofSeconds(3)).build();
    }

    @Test
    void aDroppedWatchWithEventsQueuedLeavesTheServerAnswering() throws Exception {
        try (MockApiServer api = new MockApiServer()) {
            HttpRequest get = dropABackedUpWatch(api);
            long t0 = System.nanoTime();
            HttpResponse<String> r = HTTP.send(get, HttpResponse.BodyHandlers.ofString());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("GET after the backed-up watch was dropped: " + ms + " ms");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("\"name\":\"s1\"");
            // the server goes on: a new object and a new watch's events are served
            try (KubernetesClient c = api.client()) {
                c.services().resource(new ServiceBuilder().withNewMetadata().withNamespace("big").withName("after").endMetadata()
                        .withNewSpec().addNewPort().withPort(80).endPort().endSpec().build()).create();
                assertThat(c.services().inNamespace("big").withName("after").get()).isNotNull();
            }
        }
    }

    /**
     * The stock dispatcher, same steps: its GET is not answered within 3 s (the case is real). The
     * stall needs the close to reach the stock listener while a write is still pending, a race (it
     * stalled in 3 of 4 runs here): when the stock one answers this time, the case is counted
     * skipped, never passed.
     */
    @Test
    void theStockDispatcherStallsOnTheSameSteps() throws Exception {
        try (MockApiServer api = new MockApiServer(new KubernetesCrudDispatcher())) {
            HttpRequest get = dropABackedUpWatch(api);
            long t0 = System.nanoTime();
            try {
                HttpResponse<String> r = HTTP.send(get, HttpResponse.BodyHandlers.ofString());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                org.junit.jupiter.api.Assumptions.abort("the stock dispatcher answered (" + r.statusCode() + ") in " + ms
                        + " ms this time: the close did not meet a pending write");
            } catch (HttpTimeoutException expected) {
                assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(2_900);
            }
        }
    }
}
