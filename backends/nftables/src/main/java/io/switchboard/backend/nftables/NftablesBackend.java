package io.switchboard.backend.nftables;

import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.backend.SyncException;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.util.SortedMaps;
import io.switchboard.netfilter.InputContext;
import io.switchboard.netfilter.NodePortAddresses;
import io.switchboard.netfilter.RejectedServicePorts;
import io.switchboard.netfilter.conntrack.Conntrack;
import io.switchboard.netfilter.conntrack.ConntrackCleanup;
import io.switchboard.netfilter.health.ServiceHealthServers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The nftables data path: one atomic transaction per family and sync (a netlink batch, or
 * {@code nft -f -}), in kube-proxy's nftables layout. The first sync (and every full one) recreates the whole table in one
 * transaction; later syncs send only what changed since the model the kernel last accepted.
 * Before a partial sync the {@code services} chain is read back (a few bytes): if someone deleted
 * the table or flushed it, the sync becomes full. A rejected transaction changes nothing; when the
 * failing line belongs to one service port, that port is left out and the rest applied at once.
 */
public final class NftablesBackend implements ProxyBackend {
    private static final Logger LOG = LoggerFactory.getLogger(NftablesBackend.class);
    /** Beyond this many rejected ports in one sync the failure is taken as the family's. */
    static final int MAX_REJECTED_PER_SYNC = 16;
    /** Emptied chains are deleted this long after (kube-proxy: kernels before 6.2 need it). */
    static final Duration STALE_CHAIN_DELAY = Duration.ofSeconds(1);
    /** Service ports per transaction of a full sync (see {@link NftTransaction#fullChunks}). */
    static final int SERVICES_PER_TRANSACTION = 500;

    private final BackendContext ctx;
    private final Nft nft;
    private final Conntrack conntrack;
    private final Clock clock;
    private final ServiceHealthServers healthServers;
    private final Map<IpFamily, NftModel> applied = new EnumMap<>(IpFamily.class);
    private final Map<IpFamily, Map<String, Long>> staleChains = new EnumMap<>(IpFamily.class);
    private final RejectedServicePorts rejected = new RejectedServicePorts();
    private final Map<IpFamily, Long> lastCheck = new EnumMap<>(IpFamily.class);
    private volatile long lastInputBytes;
    private volatile long lastApplyNanos;
    private volatile int lastLines;

    public NftablesBackend(BackendContext ctx, Nft nft, Conntrack conntrack) {
        this.ctx = ctx;
        this.nft = nft;
        this.conntrack = conntrack;
        this.clock = ctx.clock();
        boolean v6Only = ctx.families().equals(Set.of(IpFamily.IPV6));
        this.healthServers = new ServiceHealthServers(v6Only ? "::" : "0.0.0.0", () -> ctx.health().status().healthy());
    }

    /** Bytes of transaction text the last successful family sync sent. */
    public long lastInputBytes() {
        return lastInputBytes;
    }

    /** Time the last successful family sync spent in {@code nft}. */
    public long lastApplyNanos() {
        return lastApplyNanos;
    }

    /** Statements the last successful family sync sent. */
    public int lastLines() {
        return lastLines;
    }

    @Override
    public void sync(ProxySnapshot snapshot) throws SyncException {
        List<String> failures = RejectedServicePorts.eachFamily(ctx.families(), family -> syncFamily(snapshot, family));
        healthServers.sync(ServiceHealthServers.wanted(snapshot, ctx.families()));
        if (!failures.isEmpty()) {
            throw new SyncException(String.join("; ", failures));
        }
    }

    NftSettings settings(ProxySnapshot snapshot, IpFamily family) {
        ProxyConfig cfg = ctx.config();
        String[] local = NftSettings.detector(cfg, family, snapshot.node());
        int bit = cfg.nftables().masqueradeBit() != null ? cfg.nftables().masqueradeBit() : 14;
        return new NftSettings(family, bit, cfg.nftables().masqueradeAll(), local[0], local[1],
                NodePortAddresses.all(cfg), NodePortAddresses.selected(cfg, snapshot.node(), family),
                NodePortAddresses.nodeIps(snapshot.node(), family));
    }

    private void syncFamily(ProxySnapshot snapshot, IpFamily family) throws SyncException {
        String fam = family.kubernetesName();
        NftModel before = applied.get(family);
        boolean full = snapshot.fullSync() || before == null;
        // the read-back costs as much as a transaction at scale (nft lists the table's chains and
        // sets first): done on syncs that carry no change (the periodic ones) and at least once a
        // syncPeriod, so an external flush is repaired within about a syncPeriod
        boolean check = !full && (snapshot.changedServices().isEmpty() || checkDue(family));
        if (check && !intact(family)) {
            LOG.warn("{}: the {} chain of table {} {} is gone or changed (someone flushed or deleted it); rewriting everything",
                    fam, NftNames.SERVICES, NftNames.family(family), NftNames.TABLE);
            full = true;
        }
        Set<String> dueStale = dueStaleChains(family, full ? before : null);
        if (full) {
            deleteChains(family, dueStale);
            dueStale = Set.of();
        }
        Set<String> kernelObjects = Set.of();
        if (full) {
            try {
                kernelObjects = nft.serviceObjects(family);
            } catch (IOException e) {
                applied.remove(family);
                throw new SyncException(fam + ": cannot read the nftables table back: " + e.getMessage(), e);
            }
        }
        ProxySnapshot effective = rejected.withRetries(family, full ? snapshot.asFull() : snapshot);
        Set<ServicePortName> excluded = new TreeSet<>();
        NftModel next;
        List<NftTransaction> txs;
        while (true) {
            ProxySnapshot view = effective.without(family, excluded);
            NftSettings s = settings(view, family);
            next = NftablesRenderer.render(view, s, full ? null : before);
            txs = full ? NftTransaction.fullChunks(next, s, kernelObjects, SERVICES_PER_TRANSACTION)
                    : List.of(NftTransaction.diff(before, next, s, dueStale));
            NftTransaction current = null;
            long t0 = System.nanoTime();
            try {
                for (NftTransaction tx : txs) {
                    current = tx;
                    if (!tx.isEmpty()) {
                        nft.apply(tx.text());
                    }
                }
                lastApplyNanos = System.nanoTime() - t0;
                break;
            } catch (Nft.TransactionException e) {
                ctx.metrics().restoreFailure(family, !full);
                ServicePortName culprit = excluded.size() < MAX_REJECTED_PER_SYNC ? current.owner(e.line()) : null;
                if (culprit != null && excluded.add(culprit)) {
                    rejected.logRejected(family, culprit, e.getMessage(), InputContext.around(current.text(), e.line()));
                    continue;
                }
                applied.remove(family);
                LOG.error("{}: nftables transaction failed: {} (the previous ruleset stays in place){}", fam, e.getMessage(),
                        InputContext.around(current.text(), e.line()));
                throw new SyncException(fam + ": nft: " + e.getMessage(), e);
            } catch (IOException e) {
                ctx.metrics().restoreFailure(family, !full);
                applied.remove(family);
                throw new SyncException(fam + ": " + e.getMessage(), e);
            }
        }
        rejected.record(family, excluded, snapshot, ctx.metrics());
        Map<String, Long> stale = staleChains.computeIfAbsent(family, f -> new HashMap<>());
        long now = clock.millis();
        long bytes = 0;
        int lines = 0;
        int chains = 0;
        int elements = 0;
        if (!stale.isEmpty()) {
            // a stale chain is used again only by a service rendered anew (a partial sync keeps the
            // previous objects of every other one): checking those is enough, where a scan of every
            // chain of 10,000 services cost tens of milliseconds and megabytes each sync
            SortedMaps.Cursor<ServicePortName, NftModel.ServiceObjects> old = SortedMaps.cursor(full ? null : before.services());
            for (Map.Entry<ServicePortName, NftModel.ServiceObjects> e : next.services().entrySet()) {
                if (full || old.get(e.getKey()) != e.getValue()) {
                    e.getValue().chains().forEach(c -> stale.remove(c.name()));
                }
            }
        }
        for (NftTransaction tx : txs) {
            tx.flushedStale().forEach(c -> stale.putIfAbsent(c, now));
            bytes += tx.text().length();
            lines += tx.lineCount();
            chains += tx.chainsWritten();
            elements += tx.elementsWritten();
        }
        applied.put(family, next);
        if (full) {
            lastCheck.put(family, clock.millis());
        }
        lastInputBytes = bytes;
        ctx.metrics().syncInputBytes(family, bytes);
        lastLines = lines;
        int noLocalInternal = 0;
        int noLocalExternal = 0;
        for (NftModel.ServiceObjects o : next.services().values()) {
            noLocalInternal += o.noLocalInternal();
            noLocalExternal += o.noLocalExternal();
        }
        ctx.metrics().noLocalEndpoints(family, "internal", noLocalInternal);
        ctx.metrics().noLocalEndpoints(family, "external", noLocalExternal);
        LOG.debug("{}: {} sync sent {} statements in {} transaction(s) ({} bytes, {} chains, {} map elements)", fam,
                full ? "full" : "partial", lines, txs.size(), bytes, chains, elements);
        ConntrackCleanup.run(snapshot, family, conntrack, ctx.metrics());
    }

    private boolean checkDue(IpFamily family) {
        Long last = lastCheck.get(family);
        return last == null || clock.millis() - last >= ctx.config().syncPeriod().toMillis();
    }

    /** The services chain still holds its two dispatch rules. */
    private boolean intact(IpFamily family) {
        lastCheck.put(family, clock.millis());
        try {
            List<String> rules = nft.chainRules(family, NftNames.SERVICES);
            return rules != null && rules.size() == 2 && rules.get(0).endsWith("vmap @" + NftNames.SERVICE_IPS)
                    && rules.get(1).endsWith("vmap @" + NftNames.SERVICE_NODEPORTS);
        } catch (IOException e) {
            LOG.warn("{}: cannot read the services chain back ({}); rewriting everything", family.kubernetesName(), e.getMessage());
            return false;
        }
    }

    /**
     * Chains emptied at least {@link #STALE_CHAIN_DELAY} ago that nothing uses again: taken off the
     * list, to be deleted by this sync. {@code current} (before a full sync): the model whose chains
     * are taken off the list first; between full syncs each partial sync takes off the chains of
     * the services it rendered anew, so null is passed.
     */
    private Set<String> dueStaleChains(IpFamily family, NftModel current) {
        Map<String, Long> stale = staleChains.get(family);
        if (stale == null || stale.isEmpty()) {
            return Set.of();
        }
        Set<String> active = new HashSet<>();
        if (current != null) {
            current.services().values().forEach(o -> o.chains().forEach(c -> active.add(c.name())));
        }
        stale.keySet().removeIf(active::contains);
        long cutoff = clock.millis() - STALE_CHAIN_DELAY.toMillis();
        Set<String> due = new TreeSet<>();
        stale.forEach((c, t) -> {
            if (t <= cutoff) {
                due.add(c);
            }
        });
        due.forEach(stale::remove);
        return due;
    }

    /** Deletes chains in a transaction of their own (before a full sync, or when nothing else is sent). */
    private void deleteChains(IpFamily family, Set<String> due) {
        if (due.isEmpty()) {
            return;
        }
        NftSettings s = new NftSettings(family, 14, false, "", "", true, List.of(), List.of());
        try {
            nft.apply(NftTransaction.deleteChains(s, due).text());
            LOG.debug("{}: deleted {} stale chains", family.kubernetesName(), due.size());
        } catch (Nft.TransactionException | IOException e) {
            // left for the next full sync, which reads the table back and empties them again
            LOG.warn("{}: cannot delete {} stale chains yet: {}", family.kubernetesName(), due.size(), e.getMessage());
        }
    }

    @Override
    public void cleanup() throws SyncException {
        List<String> failures = new ArrayList<>();
        for (String fam : List.of("ip", "ip6")) {
            try {
                if (nft.tableExists(fam, NftNames.TABLE)) {
                    nft.apply("delete table " + fam + " " + NftNames.TABLE + "\n");
                    LOG.info("deleted table {} {}", fam, NftNames.TABLE);
                }
            } catch (Nft.TransactionException | IOException e) {
                failures.add(fam + ": " + e.getMessage());
            }
        }
        if (!failures.isEmpty()) {
            throw new SyncException("cleanup of the nftables tables failed: " + String.join("; ", failures));
        }
    }

    @Override
    public void shutdown(Duration grace) {
        healthServers.close();
    }
}
