package io.switchboard.netfilter.health;

import com.sun.net.httpserver.HttpServer;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.topology.EndpointSelection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * The per-service health-check servers of externalTrafficPolicy Local: one HTTP listener per
 * {@code healthCheckNodePort}, answering 200 while this node has local endpoints for the service
 * and 503 otherwise, with kube-proxy's JSON body, so cloud load balancers send traffic only to
 * nodes that can serve it.
 */
public final class ServiceHealthServers implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceHealthServers.class);

    private final String bindAddress;
    private final BooleanSupplier proxyHealthy;
    private final Map<Integer, HttpServer> servers = new HashMap<>();
    private final Map<Integer, State> states = new ConcurrentHashMap<>();
    private final ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "service-healthcheck");
        t.setDaemon(true);
        return t;
    });

    private record State(NamespacedName service, int localEndpoints) {
    }

    /**
     * @param bindAddress  the address to listen on ({@code 0.0.0.0} or {@code ::})
     * @param proxyHealthy whether the proxy itself is healthy (reported as serviceProxyHealthy)
     */
    public ServiceHealthServers(String bindAddress, BooleanSupplier proxyHealthy) {
        this.bindAddress = bindAddress;
        this.proxyHealthy = proxyHealthy;
    }

    /**
     * Makes the set of listeners match: port → (service, local endpoint count). New ports start
     * listening, gone ones stop; a port that cannot be bound is logged and retried next time.
     */
    /**
     * The health servers a snapshot wants: healthCheckNodePort → (service, local endpoints). In
     * dual-stack a pod has an endpoint in each family, so one family's count is reported, not the
     * sum (kube-proxy's families share one health server and each reports its own count).
     */
    public static Map<Integer, Map.Entry<NamespacedName, Integer>> wanted(ProxySnapshot snapshot, Set<IpFamily> families) {
        Map<Integer, Map.Entry<NamespacedName, Integer>> wanted = new HashMap<>();
        for (Map.Entry<ServicePortName, ServicePort> e : snapshot.services().entrySet()) {
            ServicePort svc = e.getValue();
            if (svc.healthCheckNodePort() == 0) {
                continue;
            }
            int local = 0;
            for (IpFamily f : families) {
                EndpointSelection sel = snapshot.selections(f).get(e.getKey());
                if (sel != null) {
                    local = Math.max(local, sel.localEndpoints().size());
                }
            }
            int count = local;
            wanted.merge(svc.healthCheckNodePort(), Map.entry(e.getKey().service(), count),
                    (a, b) -> Map.entry(a.getKey(), Math.max(a.getValue(), b.getValue())));
        }
        return wanted;
    }

    public synchronized void sync(Map<Integer, Map.Entry<NamespacedName, Integer>> wanted) {
        for (var it = servers.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!wanted.containsKey(e.getKey())) {
                e.getValue().stop(0);
                states.remove(e.getKey());
                it.remove();
                LOG.info("stopped health check server on port {}", e.getKey());
            }
        }
        for (var e : wanted.entrySet()) {
            int port = e.getKey();
            states.put(port, new State(e.getValue().getKey(), e.getValue().getValue()));
            if (servers.containsKey(port)) {
                continue;
            }
            try {
                HttpServer s = HttpServer.create(new InetSocketAddress(bindAddress, port), 16);
                s.createContext("/", ex -> {
                    State st = states.get(port);
                    int count = st == null ? 0 : st.localEndpoints();
                    String ns = st == null ? "" : st.service().namespace();
                    String name = st == null ? "" : st.service().name();
                    boolean healthy = proxyHealthy.getAsBoolean();
                    String body = "{\"service\":{\"namespace\":\"" + ns + "\",\"name\":\"" + name
                            + "\"},\"localEndpoints\":" + count + ",\"serviceProxyHealthy\":" + healthy + "}";
                    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().set("Content-Type", "application/json");
                    ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
                    ex.getResponseHeaders().set("X-Load-Balancing-Endpoint-Weight", Integer.toString(count));
                    ex.sendResponseHeaders(count > 0 && healthy ? 200 : 503, bytes.length);
                    try (OutputStream out = ex.getResponseBody()) {
                        out.write(bytes);
                    }
                });
                s.setExecutor(executor);
                s.start();
                servers.put(port, s);
                LOG.info("health check server for {} listening on port {}", e.getValue().getKey(), port);
            } catch (IOException ex) {
                LOG.warn("cannot listen on health check node port {} for {}: {}", port, e.getValue().getKey(), ex.getMessage());
            }
        }
    }

    /** Ports currently served. */
    public synchronized java.util.Set<Integer> ports() {
        return java.util.Set.copyOf(servers.keySet());
    }

    @Override
    public synchronized void close() {
        servers.values().forEach(s -> s.stop(0));
        servers.clear();
        executor.shutdownNow();
    }
}
