package io.switchboard.testkit;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

import java.net.InetAddress;
import java.util.HashMap;

/**
 * fabric8's in-memory CRUD API server on loopback, restartable on the same port with its data
 * kept (the dispatcher holds the objects). Its gaps: no in/notin selectors, no 410 Gone, no
 * pagination, no validation. Its store is indexed by name, so creating N objects is no longer
 * quadratic in N ({@link IndexedCrudDispatcher}).
 */
public final class MockApiServer implements AutoCloseable {
    /** The mock web server logs every request through java.util.logging; keep that quiet. */
    private static final java.util.logging.Logger QUIET = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    static {
        QUIET.setLevel(java.util.logging.Level.WARNING);
    }

    private final KubernetesCrudDispatcher dispatcher;
    private KubernetesMockServer server;
    private int port;

    /** The CRUD server with its store indexed by name ({@link IndexedCrudDispatcher}). */
    public MockApiServer() {
        this(new IndexedCrudDispatcher());
    }

    /** The CRUD server over a given dispatcher (the stock one, to compare against). */
    MockApiServer(KubernetesCrudDispatcher dispatcher) {
        this.dispatcher = dispatcher;
        start(0);
    }

    private void start(int p) {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        try {
            // a literal host name, so the server binds 127.0.0.1 and never "localhost" (which may be ::1)
            server.init(InetAddress.getByAddress("127.0.0.1", new byte[]{127, 0, 0, 1}), p);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
        port = server.getPort();
    }

    /** A new client for this server. */
    public KubernetesClient client() {
        return server.createClient();
    }

    /** {@code http://127.0.0.1:port} for {@code --master}. */
    public String url() {
        return "http://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /**
     * Creates every object of a multi-document YAML stream through a new client; call it from a
     * thread in the server's namespace. Returns how many objects were created.
     */
    public int seed(java.io.InputStream yaml) {
        try (KubernetesClient c = client()) {
            var objects = c.load(yaml).items();
            // createOr: a client can retry a POST the server had already carried out (seen under
            // emulation in the QEMU guest as 409 "already exists" from the demo's seed)
            objects.forEach(o -> c.resource(o).createOr(r -> r.update()));
            return objects.size();
        }
    }

    /**
     * The requests received since the last call, each as "METHOD path?query", oldest first (the
     * mock records every request; this drains its record).
     */
    public java.util.List<String> takeRequests() {
        java.util.List<String> out = new java.util.ArrayList<>();
        try {
            io.fabric8.mockwebserver.http.RecordedRequest r;
            while ((r = server.takeRequest(0, java.util.concurrent.TimeUnit.MILLISECONDS)) != null) {
                out.add(r.getMethod() + " " + r.getPath());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }

    /** Stops the server (clients see connection errors). */
    public void stop() {
        server.destroy();
    }

    /** Starts it again on the same port with the same objects. */
    public void restart() {
        start(port);
    }

    @Override
    public void close() {
        try {
            server.destroy();
        } catch (IllegalStateException e) {
            // "Unable to close MockWebServer": the listening socket is closed, but a connection the JDK
            // HTTP client keeps alive (it has no close() on Java 17) still holds a handler thread for
            // the server's 10 s shutdown wait; nothing of the test's outcome depends on it
            java.util.logging.Logger.getLogger(MockApiServer.class.getName()).fine("mock API server: " + e.getMessage());
        }
    }
}
