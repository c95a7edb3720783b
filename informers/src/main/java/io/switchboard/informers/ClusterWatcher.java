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
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();

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
        SharedIndexInformer<Service> svcInformer = serverSideSelectors
                ? svcOp.withoutLabel(Translator.PROXY_NAME_LABEL).withoutLabel(Translator.HEADLESS_LABEL).runnableInformer(resyncMs)
                : svcOp.runnableInformer(resyncMs);
        SharedIndexInformer<EndpointSlice> sliceInformer = serverSideSelectors
                ? sliceOp.withoutLabel(Translator.PROXY_NAME_LABEL).withoutLabel(Translator.HEADLESS_LABEL).runnableInformer(resyncMs)
                : sliceOp.runnableInformer(resyncMs);
        SharedIndexInformer<Node> nodeInformer = client.nodes().withName(nodeName).runnableInformer(resyncMs);

        svcInformer.itemStore(new VersionOnlyStore<>(Service::new));
        sliceInformer.itemStore(new VersionOnlyStore<>(EndpointSlice::new));

        AtomicBoolean servicesSynced = new AtomicBoolean();
        svcInformer.addEventHandler(new Forwarder<>("Service", svc -> Translator.service(svc),
                info -> services.onServiceUpsert(info), services::onServiceDelete,
                () -> {
                    if (servicesSynced.compareAndSet(false, true)) {
                        services.onServicesSynced();
                    }
                }));
        AtomicBoolean slicesSynced = new AtomicBoolean();
        sliceInformer.addEventHandler(new Forwarder<>("EndpointSlice", s -> Translator.slice(s),
                info -> slices.onSliceUpsert(info), slices::onSliceDelete,
                () -> {
                    if (slicesSynced.compareAndSet(false, true)) {
                        slices.onSlicesSynced();
                    }
                }));
        nodeInformer.addEventHandler(new Forwarder<>("Node", n -> Optional.of(Translator.node(n)),
                nodes::onNode, n -> LOG.warn("node {} was deleted", n), () -> { }));

        for (SharedIndexInformer<?> inf : List.of(svcInformer, sliceInformer, nodeInformer)) {
            inf.exceptionHandler((started, t) -> {
                LOG.warn("watch of {} failed, retrying: {}", inf.getApiTypeClass().getSimpleName(), t.toString());
                return true;
            });
            informers.add(inf);
            inf.start();
        }
        LOG.info("watching Services, EndpointSlices and Node {} (resync {})", nodeName, resync);
    }

    /** Whether every informer currently holds an open watch. */
    public boolean isWatching() {
        return !informers.isEmpty() && informers.stream().allMatch(SharedIndexInformer::isWatching);
    }

    @Override
    public void close() {
        informers.forEach(SharedIndexInformer::stop);
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
            handle(obj);
        }

        @Override
        public void onUpdate(T oldObj, T newObj) {
            if (oldObj == newObj) {
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
