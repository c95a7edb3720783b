package io.switchboard.core.sync;

import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.backend.SyncException;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.track.EndpointChanges;
import io.switchboard.core.track.EndpointsChangeTracker;
import io.switchboard.core.track.ServiceChangeTracker;
import io.switchboard.core.track.ServiceChanges;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The sync loop's brain: receives events, keeps the trackers, and on each run of the
 * {@link BoundedFrequencyRunner} hands a {@link ProxySnapshot} to the backend.
 *
 * <p>Rules: nothing is synced before Services and EndpointSlices have both delivered their initial
 * lists; a failed sync forces the next one to be full and carries its conntrack work forward; a
 * full sync also happens at least every {@code fullSyncPeriod}; a change of the node's topology
 * labels forces a full sync.
 */
public final class ProxyController implements ServiceHandler, EndpointSliceHandler, NodeHandler {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyController.class);
    /** kube-proxy rewrites everything at least this often even without failures. */
    public static final Duration DEFAULT_FULL_SYNC_PERIOD = Duration.ofHours(1);

    private final ProxyBackend backend;
    private final Set<IpFamily> families;
    private final ProxyMetrics metrics;
    private final ProxyHealth health;
    private final Clock clock;
    private final Duration fullSyncPeriod;
    private final ServiceChangeTracker services = new ServiceChangeTracker();
    private final EndpointsChangeTracker endpoints = new EndpointsChangeTracker();
    private final BoundedFrequencyRunner runner;

    private final Object stateLock = new Object();
    private volatile boolean servicesSynced;
    private volatile boolean slicesSynced;
    private NodeInfo node;
    private boolean needFullSync = true;
    private Instant lastFullSync;
    private ProxySnapshot.ConntrackWork carriedConntrack = ProxySnapshot.ConntrackWork.NONE;
    private Set<NamespacedName> carriedChanges = Set.of();
    private volatile ProxySnapshot lastApplied;
    /** Run after every full sync the backend accepted (on the sync thread). */
    private volatile Runnable afterFullSync = () -> { };
    /** When the oldest change not yet taken by a sync reached the proxy, or null if none is waiting. */
    private final AtomicReference<Instant> pendingSince = new AtomicReference<>();

    public ProxyController(ProxyBackend backend, Set<IpFamily> families, String nodeName, ProxyMetrics metrics,
                           ProxyHealth health, Clock clock, Duration minSyncPeriod, Duration syncPeriod,
                           Duration fullSyncPeriod) {
        this.backend = backend;
        this.families = Set.copyOf(families);
        this.metrics = metrics;
        this.health = health;
        this.clock = clock;
        this.fullSyncPeriod = fullSyncPeriod;
        this.node = NodeInfo.named(nodeName);
        Duration retry = minSyncPeriod.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : minSyncPeriod;
        // not ready until Services and EndpointSlices have both synced once: the first sync then
        // starts the moment they have, not a min-sync-period after an attempt that had to wait
        this.runner = new BoundedFrequencyRunner("sync-runner", this::syncOnce, this::initialSyncDone, minSyncPeriod, syncPeriod,
                retry, clock);
    }

    /** The runner that drives {@link #syncOnce()}; start it to begin syncing. */
    public BoundedFrequencyRunner runner() {
        return runner;
    }

    /**
     * Sets what runs after every full sync the backend accepted: on the sync thread, before the
     * next sync can start. A failure is logged and does not fail the sync.
     */
    public void afterFullSync(Runnable action) {
        this.afterFullSync = java.util.Objects.requireNonNull(action);
    }

    /** The last snapshot a backend accepted, or null. */
    public ProxySnapshot lastApplied() {
        return lastApplied;
    }

    public boolean initialSyncDone() {
        return servicesSynced && slicesSynced;
    }

    @Override
    public void onServiceUpsert(ServiceInfo service) {
        queued(services.update(service.name(), service));
        metrics.serviceChange(services.pendingCount());
    }

    @Override
    public void onServiceDelete(NamespacedName service) {
        queued(services.update(service, null));
        metrics.serviceChange(services.pendingCount());
    }

    @Override
    public void onServicesSynced() {
        servicesSynced = true;
        LOG.info("services synced");
        runner.request();
    }

    @Override
    public void onSliceUpsert(EndpointSliceInfo slice) {
        queued(endpoints.upsert(slice));
        metrics.endpointChange(endpoints.pendingCount());
    }

    @Override
    public void onSliceDelete(NamespacedName slice) {
        queued(endpoints.delete(slice));
        metrics.endpointChange(endpoints.pendingCount());
    }

    @Override
    public void onSlicesSynced() {
        slicesSynced = true;
        LOG.info("endpoint slices synced");
        runner.request();
    }

    @Override
    public void onNode(NodeInfo newNode) {
        boolean topologyChanged;
        synchronized (stateLock) {
            topologyChanged = !newNode.topologyLabels().equals(node.topologyLabels())
                    || !newNode.addresses().equals(node.addresses()) || !newNode.podCidrs().equals(node.podCidrs());
            node = newNode;
            if (topologyChanged) {
                needFullSync = true;
            }
        }
        health.nodeEligible(newNode.eligible());
        if (topologyChanged) {
            LOG.info("node {} topology changed (labels {}), forcing a full sync", newNode.name(), newNode.topologyLabels());
            queued(true);
        }
    }

    private void queued(boolean pending) {
        if (!pending) {
            return;
        }
        Instant received = clock.instant();
        pendingSince.compareAndSet(null, received);
        double now = received.toEpochMilli() / 1000.0;
        for (IpFamily f : families) {
            health.queued(f);
            metrics.lastQueuedTimestamp(f, now);
        }
        runner.request();
    }

    /**
     * One sync: checks out pending changes, builds a snapshot and hands it to the backend.
     *
     * @return false if the backend failed (the runner then retries)
     */
    public boolean syncOnce() {
        if (!initialSyncDone()) {
            LOG.debug("not syncing: services synced={}, endpoint slices synced={}", servicesSynced, slicesSynced);
            return true;
        }
        Instant start = clock.instant();
        // taken before the checkouts: a change arriving in between is applied now and counted again
        // from its own arrival by the next sync (an overstatement, never an understatement)
        Instant since = pendingSince.getAndSet(null);
        ServiceChanges svcChanges = services.checkout();
        EndpointChanges epChanges = endpoints.checkout();
        metrics.serviceChange(services.pendingCount());
        metrics.endpointChange(endpoints.pendingCount());
        boolean full;
        NodeInfo currentNode;
        ProxySnapshot.ConntrackWork conntrack;
        Set<NamespacedName> changed = new HashSet<>(carriedChanges);
        synchronized (stateLock) {
            full = needFullSync || lastFullSync == null || !start.isBefore(lastFullSync.plus(fullSyncPeriod));
            currentNode = node;
            conntrack = carriedConntrack.plus(new ProxySnapshot.ConntrackWork(epChanges.staleUdpEndpoints(),
                    epChanges.newlyActiveUdp(), svcChanges.removedUdpPorts()));
        }
        changed.addAll(svcChanges.changed());
        changed.addAll(epChanges.changed());
        ProxySnapshot snapshot = ProxySnapshot.build(services.servicePorts(), endpoints.endpoints(), currentNode,
                families, changed, full, conntrack, lastApplied);
        try {
            backend.sync(snapshot);
        } catch (SyncException | RuntimeException e) {
            double seconds = Duration.between(start, clock.instant()).toNanos() / 1e9;
            families.forEach(f -> metrics.syncDuration(f, full, seconds));
            LOG.error("sync failed (full={}, changed services={}); keeping previous rules, next sync will be full: {}",
                    full, changed.size(), e.getMessage(), e);
            health.syncFailed(e.getMessage());
            synchronized (stateLock) {
                needFullSync = true;
                carriedConntrack = conntrack;
                carriedChanges = changed;
            }
            if (since != null) {
                // the changes are carried to the next sync: they keep waiting from when they came
                pendingSince.accumulateAndGet(since, (a, b) -> a == null || b.isBefore(a) ? b : a);
            }
            return false;
        }
        Instant end = clock.instant();
        double seconds = Duration.between(start, end).toNanos() / 1e9;
        synchronized (stateLock) {
            needFullSync = false;
            carriedConntrack = ProxySnapshot.ConntrackWork.NONE;
            carriedChanges = Set.of();
            if (full) {
                lastFullSync = start;
            }
        }
        lastApplied = snapshot;
        for (IpFamily f : families) {
            metrics.syncDuration(f, full, seconds);
            metrics.lastSyncTimestamp(f, end.toEpochMilli() / 1000.0);
            health.updated(f);
            if (since != null) {
                metrics.changeToRulesDuration(f, Duration.between(since, end).toNanos() / 1e9);
            }
            for (Map.Entry<NamespacedName, List<Instant>> e : epChanges.triggerTimes().entrySet()) {
                for (Instant t : e.getValue()) {
                    if (!t.isAfter(end)) {
                        metrics.networkProgrammingDuration(f, Duration.between(t, end).toNanos() / 1e9);
                    }
                }
            }
        }
        if (LOG.isDebugEnabled()) {
            // how long the oldest change this sync carried had waited before it started: the API
            // server's and the informers' share of the network-programming latency, and the queue's
            long oldest = epChanges.triggerTimes().values().stream().flatMap(List::stream)
                    .mapToLong(t -> Duration.between(t, start).toMillis()).max().orElse(-1);
            LOG.debug("sync done in {} ms (full={}, services={}, changed={}, oldest trigger {} ms and oldest arrival {} ms before the start)",
                    Math.round(seconds * 1000), full, snapshot.services().size(), changed.size(), oldest,
                    since == null ? -1 : Duration.between(since, start).toMillis());
        }
        if (full) {
            try {
                afterFullSync.run();
            } catch (RuntimeException e) {
                LOG.warn("the after-full-sync action failed: {}", e.toString());
            }
        }
        return true;
    }
}
