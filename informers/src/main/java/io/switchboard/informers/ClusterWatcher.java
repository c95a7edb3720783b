package io.switchboard.informers;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.sync.EndpointSliceHandler;
import io.switchboard.core.sync.NodeHandler;
import io.switchboard.core.sync.ServiceHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * Watches Services, EndpointSlices and the proxy's own Node and feeds the core's handlers.
 *
 * <p>Event handlers do O(1) work: translate, hand over, return. The informers keep only each
 * object's key and resourceVersion ({@link VersionOnlyStore}); the core holds the translated form,
 * so no client model object outlives its event. A malformed object is logged once (per distinct error),
 * counted, and skipped; the last good version of that object stays in effect. Watch errors are
 * retried by the informers with backoff, and the core keeps its last rules meanwhile.
 */
public final class ClusterWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterWatcher.class);

    private final KubernetesClient client;
    private final String nodeName;
    private final Duration resync;
    private final ServiceHandler services;
    private final EndpointSliceHandler slices;
    private final NodeHandler nodes;
    private final ProxyMetrics metrics;
    private final boolean serverSideSelectors;
    private final Map<String, String> reported = new ConcurrentHashMap<>();
    private final List<Watched> informers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private java.util.concurrent.ScheduledExecutorService watchdog;

    /**
     * @param serverSideSelectors send kube-proxy's label selectors to the API server (true in
     *                            production; the same filter is always applied client-side too)
     */
    public ClusterWatcher(KubernetesClient client, String nodeName, Duration resync, ServiceHandler services,
                          EndpointSliceHandler slices, NodeHandler nodes, ProxyMetrics metrics,
                          boolean serverSideSelectors) {
        this.client = client;
        this.nodeName = nodeName;
        this.resync = resync;
        this.services = services;
        this.slices = slices;
        this.nodes = nodes;
        this.metrics = metrics;
        this.serverSideSelectors = serverSideSelectors;
    }

    /**
     * Builds a client: {@code --kubeconfig} if given, else in-cluster service account or the usual
     * kubeconfig lookup; {@code --master} overrides the server address.
     */
    public static KubernetesClient connect(String kubeconfig, String master) {
        return connect(kubeconfig, master, new ProxyMetrics() {
        });
    }

    /** As {@link #connect(String, String)}, with every request counted in client-go's REST client metrics. */
    public static KubernetesClient connect(String kubeconfig, String master, ProxyMetrics metrics) {
        Config config;
        if (kubeconfig != null && !kubeconfig.isEmpty()) {
            try {
                config = Config.fromKubeconfig(null, Files.readString(Path.of(kubeconfig)), kubeconfig);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read kubeconfig " + kubeconfig + ": " + e.getMessage(), e);
            }
        } else {
            config = Config.autoConfigure(null);
        }
        if (master != null && !master.isEmpty()) {
            config.setMasterUrl(master);
        }

        RestClientMetrics rest = new RestClientMetrics(metrics, System::nanoTime);
        return new KubernetesClientBuilder().withConfig(config)
                .withHttpClientFactory(new EagerWatchHttpClientFactory())
                .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor(RestClientMetrics.NAME, rest)).build();
    }

    /** What the API says, translated once: for {@code switchboard services}' drift column. */
    public record ApiState(List<io.switchboard.core.model.ServiceInfo> services,
                           List<io.switchboard.core.model.EndpointSliceInfo> slices, int skipped) {
    }

    /** Lists every Service and EndpointSlice once (no watch); malformed objects are counted and skipped. */
    public static ApiState list(KubernetesClient client) {
        List<io.switchboard.core.model.ServiceInfo> services = new ArrayList<>();
        List<io.switchboard.core.model.EndpointSliceInfo> slices = new ArrayList<>();
        int skipped = 0;
        for (var svc : client.services().inAnyNamespace().list().getItems()) {
            try {
                Translator.service(svc).ifPresent(services::add);
            } catch (IllegalArgumentException e) {
                skipped++;
            }
        }
        for (var slice : client.discovery().v1().endpointSlices().inAnyNamespace().list().getItems()) {
            try {
                Translator.slice(slice).ifPresent(slices::add);
            } catch (IllegalArgumentException e) {
                skipped++;
            }
        }
        return new ApiState(services, slices, skipped);
    }

    /**
     * Posts a "Starting" event on this node, as kube-proxy does at start (source component
     * kube-proxy, so event-based tooling keeps matching). Runs in the background; a failure is logged.
     */
    public java.util.concurrent.CompletableFuture<Void> recordStartEvent(String mode) {
        return java.util.concurrent.CompletableFuture.runAsync(() -> {
            String now = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
            var event = new io.fabric8.kubernetes.api.model.EventBuilder().withNewMetadata().withNamespace("default")
                    .withName(nodeName + "." + Long.toHexString(System.nanoTime())).endMetadata()
                    .withNewInvolvedObject().withKind("Node").withName(nodeName).withUid(nodeName).endInvolvedObject()
                    .withReason("Starting").withMessage("Starting switchboard in " + mode + " mode.").withType("Normal")
                    .withNewSource().withComponent("kube-proxy").withHost(nodeName).endSource()
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1).build();
            try {
                client.v1().events().inNamespace("default").resource(event).create();
            } catch (RuntimeException e) {
                LOG.warn("cannot post the start event for node {}: {}", nodeName, e.getMessage());
            }
        });
    }

    /** Starts the three informers; returns at once. Synced notifications arrive through the handlers. */
    public void start() {
        long resyncMs = resync.toMillis();
        var svcOp = client.services().inAnyNamespace();
        var sliceOp = client.discovery().v1().endpointSlices().inAnyNamespace();
        java.util.function.Supplier<SharedIndexInformer<Service>> svcInformer = () -> serverSideSelectors
                ? svcOp.withoutLabel(Translator.PROXY_NAME_LABEL).withoutLabel(Translator.HEADLESS_LABEL).runnableInformer(resyncMs)
                : svcOp.runnableInformer(resyncMs);
        java.util.function.Supplier<SharedIndexInformer<EndpointSlice>> sliceInformer = () -> serverSideSelectors
                ? sliceOp.withoutLabel(Translator.PROXY_NAME_LABEL).withoutLabel(Translator.HEADLESS_LABEL).runnableInformer(resyncMs)
                : sliceOp.runnableInformer(resyncMs);
        java.util.function.Supplier<SharedIndexInformer<Node>> nodeInformer = () -> client.nodes().withName(nodeName).runnableInformer(resyncMs);

        AtomicBoolean servicesSynced = new AtomicBoolean();
        informers.add(new Watched("Service", svcInformer, new VersionOnlyStore<>(Service::new), new Forwarder<Service, ServiceInfo>("Service",
                svc -> Translator.service(svc), info -> services.onServiceUpsert(info), services::onServiceDelete,
                () -> {
                    if (servicesSynced.compareAndSet(false, true)) {
                        services.onServicesSynced();
                    }
                })));
        AtomicBoolean slicesSynced = new AtomicBoolean();
        informers.add(new Watched("EndpointSlice", sliceInformer, new VersionOnlyStore<>(EndpointSlice::new), new Forwarder<EndpointSlice, EndpointSliceInfo>(
                "EndpointSlice", s -> Translator.slice(s), info -> slices.onSliceUpsert(info), slices::onSliceDelete,
                () -> {
                    if (slicesSynced.compareAndSet(false, true)) {
                        slices.onSlicesSynced();
                    }
                })));
        informers.add(new Watched("Node", nodeInformer, null, new Forwarder<Node, io.switchboard.core.model.NodeInfo>("Node", n -> Optional.of(Translator.node(n)),
                nodes::onNode, n -> LOG.warn("node {} was deleted", n), () -> { })));
        for (Watched w : informers) {
            w.start();
        }
        watchdog = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "watch-watchdog");
            t.setDaemon(true);
            return t;
        });
        watchdog.scheduleWithFixedDelay(this::checkWatches, 250, 250, java.util.concurrent.TimeUnit.MILLISECONDS);
        LOG.info("watching Services, EndpointSlices and Node {} (resync {})", nodeName, resync);
    }

    /**
     * One informer and how to make it again. A restarted informer gets the same store and handler,
     * so its first list is diffed against what the old one had seen: whatever was deleted
     * meanwhile is delivered as a deletion.
     */
    private final class Watched {
        final String kind;
        final java.util.function.Supplier<? extends SharedIndexInformer<?>> make;
        final VersionOnlyStore<?> store;
        final ResourceEventHandler<?> handler;
        volatile SharedIndexInformer<?> informer;
        /** Whether its watch failed (an error, or gone for a while: not a normal expiry) during the current outage. */
        volatile boolean failed;
        /** When its watch was first seen gone (System.nanoTime), 0 while watching. */
        long downSince;
        /**
         * Whether this informer has held a watch at all since the watcher started. Until then it is
         * still on its first list: one that takes seconds (10,000 services) is no outage and must
         * not restart its peers.
         */
        boolean seenWatching;
        /** When the probe last restarted it (System.nanoTime). */
        long probeRestartedAt = System.nanoTime() - PROBE_RESTART_SPACING.toNanos();
        /** When it was last (re)started (System.nanoTime). */
        volatile long startedAt;
        /**
         * The watchdog's check before the one that first saw its current watch open (System.nanoTime;
         * the watch opened after it), 0 while it has none.
         */
        long watchingSince;
        /** The watchdog's last check that saw its watch open (System.nanoTime), 0 before one did. */
        long lastSeenWatching;
        /** The check before the one that first saw it synced while not watching (System.nanoTime), else 0. */
        long syncedSince;

        /** Marks its watch failed; {@code since}: a peer's watch opened after it is not suspected. */
        void failed(long since) {
            failed = true;
            lastFailure.accumulateAndGet(since, Math::max);
            outage = true;
        }

        Watched(String kind, java.util.function.Supplier<? extends SharedIndexInformer<?>> make, VersionOnlyStore<?> store,
                ResourceEventHandler<?> handler) {
            this.kind = kind;
            this.make = make;
            this.store = store;
            this.handler = handler;
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        void start() {
            SharedIndexInformer inf = make.get();
            if (store != null) {
                inf.itemStore(store);
            }
            inf.addEventHandler(handler);
            inf.exceptionHandler((started, t) -> {
                LOG.warn("watch of {} failed, retrying: {}", kind, t.toString());
                failed(System.nanoTime());
                return true;
            });
            informer = inf;
            // seenWatching stays as it was: a restarted informer that does not get its watch back
            // is an outage again (its peers are restarted once it has), as a failing one is
            downSince = 0;
            watchingSince = 0;
            lastSeenWatching = 0;
            syncedSince = 0;
            startedAt = System.nanoTime();
            inf.start();
        }

        void restart() {
            informer.stop();
            if (store != null) {
                // the stopped informer may not have delivered all it stored: its relist re-delivers everything
                store.forgetVersions();
            }
            start();
        }
    }

    /** A watch gone this long is a failure (re-watching after a normal expiry takes milliseconds). */
    private static final Duration OUTAGE = Duration.ofSeconds(2);

    /** Whether some watch failed and not every informer is known to have come back since. */
    private volatile boolean outage;
    /**
     * The latest failure of a watch (System.nanoTime): for a watch that was cut, the check that first
     * saw it gone; a peer's watch opened after it is on a connection made since, and is not
     * suspected of being dead.
     */
    private final java.util.concurrent.atomic.AtomicLong lastFailure = new java.util.concurrent.atomic.AtomicLong();
    /** When the watchdog last checked (System.nanoTime). */
    private long lastCheck;
    /** How often the API server's port is tried while watches are down (a TCP connect, no request). */
    private static final Duration PROBE_PERIOD = Duration.ofMillis(500);
    private long nextProbe;
    /** The last probe found the API server's port closed or silent. */
    private boolean serverUnreachable;
    /** The last probe found the port open but the server answering an error (or nothing in time). */
    private boolean serverFailing;
    /** At most one restart of an informer by the probe in this long (a server flapping, or refusing every watch). */
    private static final Duration PROBE_RESTART_SPACING = Duration.ofSeconds(10);
    /** The client's HTTP client without fabric8's retries (made at the first probe that needs it). */
    private io.fabric8.kubernetes.client.http.HttpClient probeHttp;

    /**
     * After an outage (some watch failed: the server refused, answered errors or closed the
     * connection), an informer whose watch never failed may hold a dead watch: the JDK's WebSocket
     * loses the end of a connection read while its listener has no message requested, and the
     * informer goes on "watching" a connection that is gone, never to see a change again
     * ({@link EagerWatchHttpClientFactory} narrows that to a window of microseconds; this covers
     * the rest). Once every informer that failed is watching again, those that did not fail are
     * restarted: a relist, diffed against their store, so nothing changed meanwhile is missed.
     * Only those whose watch was open before the failure, though: one opened since is on a new
     * connection, and restarting it too turned a slow API server into a storm of relists (in the
     * emulated guest, a watch that took over 2 s to open after its list restarted the other two
     * informers, whose lists of 2,000 objects then took long enough for the next one, four times
     * over: the proxy's first sync came after 2 minutes instead of 40 s). A normal watch expiry is
     * no failure, so this costs nothing in steady state.
     */
    private void checkWatches() {
        try {
            long now = System.nanoTime();
            long previous = lastCheck;
            lastCheck = now;
            boolean allWatching = true;
            for (Watched w : informers) {
                if (w.informer.isWatching()) {
                    w.downSince = 0;
                    w.seenWatching = true;
                    if (w.watchingSince == 0) {
                        w.watchingSince = Math.max(previous, w.startedAt);
                    }
                    w.lastSeenWatching = now;
                    continue;
                }
                w.watchingSince = 0;
                allWatching = false;
                if (w.syncedSince == 0 && w.informer.hasSynced()) {
                    w.syncedSince = Math.max(previous, w.startedAt);
                }
                if (!w.seenWatching && !w.informer.hasSynced()) {
                    continue; // still on its first list
                }
                // synced counts as seen: the watch can drop before this check first saw it open
                w.seenWatching = true;
                if (w.downSince == 0) {
                    w.downSince = now;
                } else if (now - w.downSince >= OUTAGE.toNanos() && !w.failed) {
                    LOG.info("the {} watch has been gone for {} s", w.kind, OUTAGE.toSeconds());
                    // A watch that was open went by the check that first saw it gone: what cut it may
                    // have cut every watch open until then, so a peer's watch is kept only if it opened
                    // after that check (bounding by the last check that saw it open instead kept a
                    // Service watch opened 5 ms before the cut, dead since). One that never opened
                    // after its list is a slow server, no cut: bounded by its list, so peers watching
                    // since are kept (the guest's relist storm).
                    w.failed(w.lastSeenWatching != 0 ? w.downSince : Math.max(w.syncedSince, w.startedAt));
                }
            }
            if (outage && !allWatching) {
                probeServer(now);
            }
            if (!outage || !allWatching) {
                return;
            }
            outage = false;
            long failure = lastFailure.get();
            for (Watched w : informers) {
                if (w.failed) {
                    w.failed = false;
                } else if (w.watchingSince <= failure) {
                    LOG.info("the watches of its peers failed and recovered; restarting the {} watch, which saw nothing, to relist",
                            w.kind);
                    w.restart();
                } else {
                    LOG.debug("the watches of its peers failed and recovered; the {} watch opened since, so it is kept", w.kind);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("watch check failed: {}", e.toString());
        }
    }

    /**
     * While watches are down, fabric8 retries each with a backoff that doubles up to 32 s, and an
     * attempt against a server that is gone can itself take 20 s to fail, so after a long outage
     * the watches came back anywhere from one to tens of seconds after the server did. Instead the
     * watchdog tries the server's port every 0.5 s (a TCP connect, 250 ms at most: no request, so
     * nothing for a recovering server to answer) and, the moment it accepts again, restarts every
     * informer without a watch (a list, then a watch). A server that accepts connections but
     * answers errors (500s for every request) is asked for {@code /version} at the same pace, one
     * request with no retry and a 1 s timeout, and the informers are restarted the moment it
     * answers again: fabric8's own retry of a 5xx doubles its wait up to 10 tries, so after a
     * long stretch of errors it could be tens of seconds late. And an informer whose watch has been
     * gone for 2 s while the server answers is restarted too: after an outage shorter than that
     * check, a watch attempt begun while the server was away hung for 18 s (CI). Each informer is
     * restarted by the probe at most once in 10 s, and nothing is probed while every watch is open.
     */
    private void probeServer(long now) {
        if (now < nextProbe) {
            return;
        }
        nextProbe = now + PROBE_PERIOD.toNanos();
        java.net.URL url;
        try {
            url = new java.net.URL(client.getMasterUrl().toString());
        } catch (java.net.MalformedURLException | RuntimeException e) {
            return;
        }
        int port = url.getPort() != -1 ? url.getPort() : "https".equals(url.getProtocol()) ? 443 : 80;
        boolean reachable;
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.connect(new java.net.InetSocketAddress(url.getHost(), port), 250);
            reachable = true;
        } catch (IOException e) {
            reachable = false;
        }
        if (!reachable) {
            if (!serverUnreachable) {
                LOG.info("the API server {}:{} does not accept connections; trying it every {} ms to re-watch once it does",
                        url.getHost(), port, PROBE_PERIOD.toMillis());
            }
            serverUnreachable = true;
            return;
        }
        boolean wasUnreachable = serverUnreachable;
        serverUnreachable = false;
        boolean wasFailing = serverFailing;
        if (!wasUnreachable) {
            // the port accepts: does the server answer?
            String error = askVersion(url);
            if (error != null && error.isEmpty()) {
                return; // nothing in time: slow is not failing, and not answering either
            }
            if (error != null) {
                if (!serverFailing) {
                    LOG.info("the API server accepts connections but answers {}; asking it every {} ms to re-watch once it answers",
                            error, PROBE_PERIOD.toMillis());
                }
                serverFailing = true;
                return;
            }
        }
        serverFailing = false;
        // the server answers: restart what has no watch, at most once per informer in PROBE_RESTART_SPACING
        // (a server flapping between errors and answers, or refusing every watch, is left to fabric8)
        for (Watched w : informers) {
            if (w.informer.isWatching() || now - w.probeRestartedAt < PROBE_RESTART_SPACING.toNanos()) {
                continue;
            }
            // after the server was away or failing: at once; else once its watch has been gone a while
            // (a watch attempt begun while the server was away can hang for many seconds)
            // (only a watch this informer held and lost: one slow to open after its list, as from a
            // loaded API server, is left alone, or each 10 s would bring another relist)
            boolean gone = w.downSince != 0 && w.lastSeenWatching != 0 && now - w.downSince >= OUTAGE.toNanos();
            if (wasUnreachable || wasFailing || gone) {
                LOG.info("the API server {}; restarting the {} informer, which has no watch, now rather than at its next retry",
                        wasUnreachable ? "accepts connections again" : wasFailing ? "answers again" : "answers", w.kind);
                w.probeRestartedAt = now;
                w.failed(now);
                w.restart();
            }
        }
    }

    /**
     * Asks the server for {@code /version} once (no retry, 1 s): null if it answered 2xx, empty if
     * nothing came in time (a server too slow to answer, as the CRUD mock while dropped watches
     * stall it, is neither failing nor one to restart the informers against), else what it answered.
     */
    private String askVersion(java.net.URL master) {
        java.util.concurrent.CompletableFuture<? extends io.fabric8.kubernetes.client.http.HttpResponse<String>> f = null;
        try {
            if (probeHttp == null) {
                probeHttp = client.getHttpClient().newBuilder()
                        .tag(new io.fabric8.kubernetes.client.RequestConfigBuilder().withRequestRetryBackoffLimit(0).build()).build();
            }
            java.net.URL version = new java.net.URL(master, "version");
            f = probeHttp.sendAsync(probeHttp.newHttpRequestBuilder().uri(version.toString()).build(), String.class);
            int code = f.get(1, java.util.concurrent.TimeUnit.SECONDS).code();
            return code >= 200 && code < 300 ? null : "HTTP " + code;
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "nothing (interrupted)";
        } catch (java.util.concurrent.ExecutionException | java.net.MalformedURLException | RuntimeException e) {
            return "an error (" + (e.getCause() != null ? e.getCause() : e) + ")";
        }
    }

    /**
     * Restarts the informer of one kind ("Service", "EndpointSlice" or "Node") as the watchdog
     * does after an outage; for tests that need a restart at a chosen moment.
     */
    void restart(String kind) {
        informers.stream().filter(w -> w.kind.equals(kind)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no informer of kind " + kind))
                .restart();
    }

    /** Whether every informer currently holds an open watch. */
    public boolean isWatching() {
        return !informers.isEmpty() && informers.stream().allMatch(w -> w.informer.isWatching());
    }

    @Override
    public void close() {
        if (watchdog != null) {
            watchdog.shutdownNow();
        }
        informers.forEach(w -> w.informer.stop());
        informers.clear();
    }

    /** Translates events of one kind and hands them to the core. */
    private final class Forwarder<T extends HasMetadata, R> implements ResourceEventHandler<T> {
        private final String kind;
        private final Function<T, Optional<R>> translate;
        private final java.util.function.Consumer<R> upsert;
        private final java.util.function.Consumer<NamespacedName> delete;
        private final Runnable synced;

        Forwarder(String kind, Function<T, Optional<R>> translate, java.util.function.Consumer<R> upsert,
                  java.util.function.Consumer<NamespacedName> delete, Runnable synced) {
            this.kind = kind;
            this.translate = translate;
            this.upsert = upsert;
            this.delete = delete;
            this.synced = synced;
        }

        @Override
        public void onAdd(T obj) {
            if (VersionOnlyStore.isBare(obj)) {
                return; // a restarted informer replays its store's (bare) objects: the core already has them
            }
            handle(obj);
        }

        @Override
        public void onUpdate(T oldObj, T newObj) {
            if (oldObj == newObj || VersionOnlyStore.isBare(newObj)) {
                return; // a periodic resync re-delivers the stored (bare) object: the core already has it
            }
            handle(newObj);
        }

        @Override
        public void onDelete(T obj, boolean finalStateUnknown) {
            NamespacedName name = nameOf(obj);
            reported.remove(kind + " " + name);
            delete.accept(name);
        }

        @Override
        public void onList(String resourceVersion, boolean relisted) {
            synced.run();
        }

        private void handle(T obj) {
            NamespacedName name = nameOf(obj);
            String key = kind + " " + name;
            Optional<R> translated;
            try {
                translated = translate.apply(obj);
            } catch (RuntimeException e) {
                String msg = e.getMessage();
                if (!msg.equals(reported.put(key, msg))) {
                    metrics.malformedObject(kind);
                    LOG.warn("skipping malformed {} {}: {} (its last good version stays in effect)", kind, name, msg);
                }
                return;
            }
            if (reported.remove(key) != null) {
                LOG.info("{} {} is valid again", kind, name);
            }
            if (translated.isPresent()) {
                upsert.accept(translated.get());
            } else {
                delete.accept(name);
            }
        }

        private NamespacedName nameOf(T obj) {
            String ns = obj.getMetadata().getNamespace();
            return new NamespacedName(ns == null || ns.isEmpty() ? "-" : ns, obj.getMetadata().getName());
        }
    }
}
