package io.switchboard.informers;

import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.testkit.MockApiServer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Every request of a client built by {@link ClusterWatcher#connect} is counted, against the mock API server. */
class RestClientMetricsTest {
    record Call(String host, String method, String code, double seconds, long requestBytes, long responseBytes) {
    }

    @Test
    void listsCreatesAndFailuresAreCountedWithClientGosLabels() throws Exception {
        List<Call> calls = new ArrayList<>();
        ProxyMetrics metrics = new ProxyMetrics() {
            @Override
            public synchronized void restClientRequest(String host, String method, String code, double seconds,
                                                       long requestBytes, long responseBytes) {
                calls.add(new Call(host, method, code, seconds, requestBytes, responseBytes));
            }
        };
        try (MockApiServer api = new MockApiServer();
             KubernetesClient client = ClusterWatcher.connect("", api.url(), metrics)) {
            client.services().inNamespace("ns").resource(new ServiceBuilder().withNewMetadata().withName("web").endMetadata()
                    .withNewSpec().withClusterIP("10.96.0.10").addNewPort().withPort(80).endPort().endSpec().build()).create();
            assertThat(client.services().inAnyNamespace().list().getItems()).hasSize(1);
            assertThat(client.services().inNamespace("ns").withName("missing").get()).isNull();
            String host = "127.0.0.1:" + api.port();
            synchronized (metrics) {
                assertThat(calls).extracting(Call::method, Call::code, Call::host).contains(
                        org.assertj.core.groups.Tuple.tuple("POST", "201", host),
                        org.assertj.core.groups.Tuple.tuple("GET", "200", host),
                        org.assertj.core.groups.Tuple.tuple("GET", "404", host));
                Call post = calls.stream().filter(c -> c.method().equals("POST")).findFirst().orElseThrow();
                assertThat(post.requestBytes()).isGreaterThan(50);
                assertThat(post.seconds()).isGreaterThan(0).isLessThan(30);
                Call list = calls.stream().filter(c -> c.code().equals("200")).findFirst().orElseThrow();
                assertThat(list.requestBytes()).isZero();
                assertThat(list.responseBytes()).isGreaterThan(50);
            }
        }
        // no response at all (connection refused): counted with client-go's "<error>" code
        RestClientMetrics rest = new RestClientMetrics(metrics, System::nanoTime);
        var request = new io.fabric8.kubernetes.client.http.StandardHttpRequest.Builder().uri("http://127.0.0.1:9/api/v1/services").build();
        rest.consumer(null, request);
        rest.afterConnectionFailure(request, new java.net.ConnectException("refused"));
        synchronized (metrics) {
            assertThat(calls.get(calls.size() - 1)).extracting(Call::method, Call::code, Call::host).containsExactly("GET", "<error>", "127.0.0.1:9");
        }
    }

    @Test
    void hostIsTheUrlsHostWithItsPortOnlyWhenItNamesOne() {
        assertThat(RestClientMetrics.host(URI.create("https://10.96.0.1:443/api"))).isEqualTo("10.96.0.1:443");
        assertThat(RestClientMetrics.host(URI.create("https://kubernetes.default.svc/api"))).isEqualTo("kubernetes.default.svc");
        assertThat(RestClientMetrics.host(URI.create("https://[fd00::1]:6443/api"))).isEqualTo("[fd00::1]:6443");
    }
}
