package io.switchboard.app;

import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.app.config.ConfigValidator;
import io.switchboard.app.config.ListenAddress;
import io.switchboard.app.metrics.PrometheusProxyMetrics;
import io.switchboard.core.backend.Availability;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.BackendProvider;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.sync.ProxyController;
import io.switchboard.informers.ClusterWatcher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;

/**
 * Wires one running proxy: backend (found by mode through {@link ServiceLoader}), the sync
 * controller and its runner, the informers, and the healthz and metrics servers.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);
    /** Modes Switchboard plans; a mode listed here without a provider is "not built yet". */
    public static final List<String> PLANNED_MODES = List.of("iptables", "ipvs", "userspace", "nftables");

    private final ProxyBackend backend;
    private final ProxyController controller;
    private final ClusterWatcher watcher;
    private final KubernetesClient client;
    private final PrometheusProxyMetrics metrics;
    private final HttpServer healthzServer;
    private final HttpServer metricsServer;
    private final String nodeName;

    private ProxyServer(ProxyBackend backend, ProxyController controller, ClusterWatcher watcher,
                        KubernetesClient client, PrometheusProxyMetrics metrics, HttpServer healthzServer,
                        HttpServer metricsServer, String nodeName) {
        this.backend = backend;
        this.controller = controller;
        this.watcher = watcher;
        this.client = client;
        this.metrics = metrics;
        this.healthzServer = healthzServer;
        this.metricsServer = metricsServer;
        this.nodeName = nodeName;
    }

    /** Thrown when the chosen mode cannot run here; the message says why. */
    public static final class ModeUnavailableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ModeUnavailableException(String message) {
            super(message);
        }
    }

    /** Finds the provider of a mode or explains why there is none. */
    public static BackendProvider provider(String mode) {
        List<String> built = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.mode().equals(mode)) {
                return p;
            }
            built.add(p.mode());
        }
        if (PLANNED_MODES.contains(mode)) {
            throw new ModeUnavailableException("proxy mode \"" + mode + "\" is not built yet in this release of "
                    + "Switchboard (available: " + String.join(", ", new TreeSet<>(built)) + ")");
        }
        throw new ModeUnavailableException("unknown proxy mode \"" + mode + "\"");
    }

    /** The node name: the override if set, else the host name in lower case (no DNS lookup). */
    public static String nodeName(ProxyConfig config) {
        if (!config.hostnameOverride().isEmpty()) {
            return config.hostnameOverride().toLowerCase(Locale.ROOT);
        }
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim().toLowerCase(Locale.ROOT);
        } catch (IOException e) {
            String env = System.getenv("HOSTNAME");
            if (env != null && !env.isEmpty()) {
                return env.toLowerCase(Locale.ROOT);
            }
            throw new IllegalStateException("cannot determine the node name; set --hostname-override", e);
        }
    }

    /**
     * Starts everything and returns at once.
     *
     * @param master        {@code --master}, or empty
     * @param serverSideSelectors send label selectors to the API server
     */
    public static ProxyServer start(ProxyConfig config, String master, boolean serverSideSelectors) throws IOException {
        String node = nodeName(config);
        Set<IpFamily> families = ConfigValidator.families(config);
        Clock clock = Clock.systemUTC();
        BackendProvider provider = provider(config.mode());
        PrometheusProxyMetrics metrics = new PrometheusProxyMetrics(families);
        ProxyHealth health = new ProxyHealth(clock, config.syncPeriod().multipliedBy(2));
        BackendContext ctx = new BackendContext(config, node, families, metrics, clock, health);
        Availability availability = provider.probe(ctx);
        if (!availability.available()) {
            throw new ModeUnavailableException("proxy mode \"" + config.mode() + "\" cannot run on this machine: "
                    + availability.reason());
        }
        HttpServer healthz = config.healthzBindAddress().isEmpty() ? null
                : io.switchboard.app.http.HttpEndpoints.startHealthz(
                        ListenAddress.parse(config.healthzBindAddress()).toSocketAddress(), health, metrics);
        // the backend exists only after the metrics server is up; /debug/services asks it once it does
        java.util.concurrent.atomic.AtomicReference<java.util.function.Supplier<java.util.Map<String, Object>>> debugState =
                new java.util.concurrent.atomic.AtomicReference<>(java.util.Map::of);
        HttpServer metricsHttp = config.metricsBindAddress().isEmpty() ? null
                : io.switchboard.app.http.HttpEndpoints.startMetrics(
                        ListenAddress.parse(config.metricsBindAddress()).toSocketAddress(), metrics::scrape, config.mode(),
                        java.util.Map.of("/configz", () -> io.switchboard.app.config.Configz.json(config),
                                "/debug/services", () -> io.switchboard.app.inspect.InspectCommands.debugServices(
                                        debugState.get().get())));
        OomScore.apply(java.nio.file.Path.of("/proc/self/oom_score_adj"), config.oomScoreAdj());
        ProxyBackend backend = provider.create(ctx);
        debugState.set(backend::debugState);
        ProxyController controller = new ProxyController(backend, families, node, metrics, health, clock,
                config.minSyncPeriod(), config.syncPeriod(), ProxyController.DEFAULT_FULL_SYNC_PERIOD);
        controller.afterFullSync(ProxyServer::giveBackHeap);
        KubernetesClient client = ClusterWatcher.connect(config.clientConnection().kubeconfig(), master, metrics);
        ClusterWatcher watcher = new ClusterWatcher(client, node, config.configSyncPeriod(), controller, controller,
                controller, metrics, serverSideSelectors);
        controller.runner().start();
        watcher.start();
        watcher.recordStartEvent(config.mode());
        IpFamily primary = ConfigValidator.primaryFamily(config);
        if (families.size() > 1) {
            LOG.info("running in dual-stack mode, primary ipFamily=\"{}\"", primary.kubernetesName());
        }
        LOG.info("switchboard started: mode={} node={} families={} syncPeriod={} minSyncPeriod={}", config.mode(), node,
                families.stream().sorted((x, y) -> x == primary ? -1 : y == primary ? 1 : x.compareTo(y))
                        .map(IpFamily::kubernetesName).toList(), config.syncPeriod(), config.minSyncPeriod());
        return new ProxyServer(backend, controller, watcher, client, metrics, healthz, metricsHttp, node);
    }

    /** Runs {@code --cleanup}: every provider built into this binary removes what its mode wrote. */
    public static int cleanup(ProxyConfig config) {
        String node = nodeName(config);
        Set<IpFamily> families = ConfigValidator.families(config);
        int failures = 0;
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            BackendContext ctx = new BackendContext(config, node, families,
                    io.switchboard.core.metrics.ProxyMetrics.NOOP, Clock.systemUTC(),
                    new ProxyHealth(Clock.systemUTC(), config.syncPeriod().multipliedBy(2)));
            Availability a = p.probe(ctx);
            if (!a.available()) {
                LOG.info("cleanup: skipping mode {}: {}", p.mode(), a.reason());
                continue;
            }
            try (ProxyBackend b = p.create(ctx)) {
                b.cleanup();
                LOG.info("cleanup: removed everything mode {} wrote", p.mode());
            } catch (Exception e) {
                failures++;
                LOG.error("cleanup of mode {} failed: {}", p.mode(), e.getMessage(), e);
            }
        }
        return failures == 0 ? 0 : 1;
    }

    /**
     * One full collection after each full sync (at start, hourly, after a failure): a full render
     * grows the heap with garbage, and the serial collector the launcher selects gives committed
     * heap back to the OS only at a full collection, so without one the process kept the first
     * render's peak. {@code -XX:+DisableExplicitGC} turns it off.
     */
    private static void giveBackHeap() {
        java.lang.management.MemoryMXBean mem = java.lang.management.ManagementFactory.getMemoryMXBean();
        long before = mem.getHeapMemoryUsage().getCommitted();
        long t0 = System.nanoTime();
        System.gc();
        LOG.debug("after the full sync: heap committed {} -> {} MB in {} ms", before >> 20,
                mem.getHeapMemoryUsage().getCommitted() >> 20, (System.nanoTime() - t0) / 1_000_000);
    }

    public ProxyController controller() {
        return controller;
    }

    public ProxyBackend backend() {
        return backend;
    }

    public String nodeName() {
        return nodeName;
    }

    public Optional<Integer> healthzPort() {
        return Optional.ofNullable(healthzServer).map(s -> s.getAddress().getPort());
    }

    public Optional<Integer> metricsPort() {
        return Optional.ofNullable(metricsServer).map(s -> s.getAddress().getPort());
    }

    public String scrape() {
        return metrics.scrape();
    }

    /** Stops watching and syncing; leaves the rules in place so traffic flows during a restart. */
    @Override
    public void close() {
        watcher.close();
        controller.runner().stop();
        backend.shutdown(Duration.ofSeconds(5));
        client.close();
        if (healthzServer != null) {
            healthzServer.stop(0);
        }
        if (metricsServer != null) {
            metricsServer.stop(0);
        }
        LOG.info("switchboard stopped");
    }
}
