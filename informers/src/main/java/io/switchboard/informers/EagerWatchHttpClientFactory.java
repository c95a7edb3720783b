package io.switchboard.informers;

import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;

import java.io.IOException;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * fabric8's JDK HTTP client with one change: every WebSocket (that is, every watch) asks the JDK
 * for all the messages it has, at once, instead of one message after the last was handled.
 *
 * <p>Why: the JDK's WebSocket (17 and 25 alike) loses the end of a connection that closes without
 * a close frame (a server that exits, a proxy that drops it) when the end is read while its
 * listener has asked for nothing more. Its transport still reads the socket then, and on the end
 * of input it acknowledges a message nobody asked for ({@code TransportImpl.acknowledgeReception}
 * throws an {@code InternalError} on the selector thread), so {@code onClose} and {@code onError}
 * are never called. fabric8 asks for the next message only once its serial executor has handled
 * the current one, so a watch whose connection closes while an event is being handled stays
 * "watching" a connection that is gone, and never sees a change again. Seen in
 * {@code ClusterWatcherTest} (about one run in six: the faulty proxy closed every connection
 * 2 ms after the Service watch's first events) and traced with
 * {@code -Djdk.internal.httpclient.websocket.debug=true}: "read: EOF" on the watch's socket and
 * no "signalClose" after it.
 *
 * <p>With the demand unbounded, the JDK's own receive loop asks its transport for the next frame
 * as soon as it has handed one to fabric8, so the end of input is read with a request open and
 * reported as a close (1006), on which fabric8 re-watches. The window left is the JDK's handoff
 * of one frame between two of its threads (microseconds, against the milliseconds an event is
 * handled in); the watchdog's restart of watches that outlived their peers' failure covers it.
 * The cost: events are no longer held back in the socket while fabric8 is busy, they queue in
 * its serial executor (a burst of 1,000 changes is a few MB of JSON, gone as they are handled).
 */
final class EagerWatchHttpClientFactory extends JdkHttpClientFactory {

    @Override
    protected HttpClient.Builder createNewHttpClientBuilder() {
        return new Builder(super.createNewHttpClientBuilder());
    }

    /** A listener that asks for every message as soon as the WebSocket opens, then acts as {@code delegate}. */
    static WebSocket.Listener eager(WebSocket.Listener delegate) {
        return new WebSocket.Listener() {
            @Override
            public void onOpen(WebSocket webSocket) {
                delegate.onOpen(webSocket);
                // saturates: later request(1) calls from the delegate change nothing
                webSocket.request(Long.MAX_VALUE);
            }

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                return delegate.onText(webSocket, data, last);
            }

            @Override
            public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
                return delegate.onBinary(webSocket, data, last);
            }

            @Override
            public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
                return delegate.onPing(webSocket, message);
            }

            @Override
            public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
                return delegate.onPong(webSocket, message);
            }

            @Override
            public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                return delegate.onClose(webSocket, statusCode, reason);
            }

            @Override
            public void onError(WebSocket webSocket, Throwable error) {
                delegate.onError(webSocket, error);
            }
        };
    }

    /** Builds the JDK client as asked and wraps it. */
    private static final class Builder implements HttpClient.Builder {
        private final HttpClient.Builder delegate;

        Builder(HttpClient.Builder delegate) {
            this.delegate = delegate;
        }

        @Override
        public HttpClient.Builder cookieHandler(CookieHandler cookieHandler) {
            delegate.cookieHandler(cookieHandler);
            return this;
        }

        @Override
        public HttpClient.Builder connectTimeout(Duration duration) {
            delegate.connectTimeout(duration);
            return this;
        }

        @Override
        public HttpClient.Builder sslContext(SSLContext sslContext) {
            delegate.sslContext(sslContext);
            return this;
        }

        @Override
        public HttpClient.Builder sslParameters(SSLParameters sslParameters) {
            delegate.sslParameters(sslParameters);
            return this;
        }

        @Override
        public HttpClient.Builder executor(Executor executor) {
            delegate.executor(executor);
            return this;
        }

        @Override
        public HttpClient.Builder followRedirects(HttpClient.Redirect policy) {
            delegate.followRedirects(policy);
            return this;
        }

        @Override
        public HttpClient.Builder version(HttpClient.Version version) {
            delegate.version(version);
            return this;
        }

        @Override
        public HttpClient.Builder priority(int priority) {
            delegate.priority(priority);
            return this;
        }

        @Override
        public HttpClient.Builder proxy(ProxySelector proxySelector) {
            delegate.proxy(proxySelector);
            return this;
        }

        @Override
        public HttpClient.Builder authenticator(Authenticator authenticator) {
            delegate.authenticator(authenticator);
            return this;
        }

        @Override
        public HttpClient build() {
            return new Client(delegate.build());
        }
    }

    /** The JDK client, whose WebSocket builders wrap their listener. */
    private static final class Client extends HttpClient {
        private final HttpClient delegate;

        Client(HttpClient delegate) {
            this.delegate = delegate;
        }

        @Override
        public Optional<CookieHandler> cookieHandler() {
            return delegate.cookieHandler();
        }

        @Override
        public Optional<Duration> connectTimeout() {
            return delegate.connectTimeout();
        }

        @Override
        public Redirect followRedirects() {
            return delegate.followRedirects();
        }

        @Override
        public Optional<ProxySelector> proxy() {
            return delegate.proxy();
        }

        @Override
        public SSLContext sslContext() {
            return delegate.sslContext();
        }

        @Override
        public SSLParameters sslParameters() {
            return delegate.sslParameters();
        }

        @Override
        public Optional<Authenticator> authenticator() {
            return delegate.authenticator();
        }

        @Override
        public Version version() {
            return delegate.version();
        }

        @Override
        public Optional<Executor> executor() {
            return delegate.executor();
        }

        @Override
        public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
                throws IOException, InterruptedException {
            return delegate.send(request, handler);
        }

        @Override
        public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
            return delegate.sendAsync(request, handler);
        }

        @Override
        public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                                                HttpResponse.PushPromiseHandler<T> push) {
            return delegate.sendAsync(request, handler, push);
        }

        @Override
        public WebSocket.Builder newWebSocketBuilder() {
            WebSocket.Builder b = delegate.newWebSocketBuilder();
            return new WebSocket.Builder() {
                @Override
                public WebSocket.Builder header(String name, String value) {
                    b.header(name, value);
                    return this;
                }

                @Override
                public WebSocket.Builder connectTimeout(Duration timeout) {
                    b.connectTimeout(timeout);
                    return this;
                }

                @Override
                public WebSocket.Builder subprotocols(String mostPreferred, String... lesserPreferred) {
                    b.subprotocols(mostPreferred, lesserPreferred);
                    return this;
                }

                @Override
                public CompletableFuture<WebSocket> buildAsync(URI uri, WebSocket.Listener listener) {
                    return b.buildAsync(uri, eager(listener));
                }
            };
        }
    }
}
