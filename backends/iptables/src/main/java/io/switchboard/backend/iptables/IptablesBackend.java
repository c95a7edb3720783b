package io.switchboard.backend.iptables;

import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.backend.SyncException;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.topology.EndpointSelection;
import io.switchboard.netfilter.ChainNames;
import io.switchboard.netfilter.Iptables;
import io.switchboard.netfilter.InputContext;
import io.switchboard.netfilter.NodePortAddresses;
import io.switchboard.netfilter.RejectedServicePorts;
import io.switchboard.netfilter.conntrack.Conntrack;
import io.switchboard.netfilter.conntrack.ConntrackCleanup;
import io.switchboard.netfilter.health.ServiceHealthServers;
import io.switchboard.netfilter.trace.RuleSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * The iptables data path: renders each family's rules with {@link IptablesRenderer} and applies
 * them with one {@code iptables-restore --noflush --counters} per family and sync. Stateless apart
 * from the chains it wrote last (to delete stale ones on partial syncs); a full sync reads the
 * kernel's state back with {@code iptables-save}. A failed restore changes nothing in the kernel;
 * the error names the failing input line with context, and the next sync is full.
 */
public final class IptablesBackend implements ProxyBackend {
    private static final Logger LOG = LoggerFactory.getLogger(IptablesBackend.class);

    private final BackendContext ctx;
    private final Iptables iptables;
    private final Conntrack conntrack;
    private final ServiceHealthServers healthServers;
    private final Map<IpFamily, Boolean> needFull = new EnumMap<>(IpFamily.class);
    private final Map<IpFamily, Map<String, String>> lastTop = new EnumMap<>(IpFamily.class);
    private final Map<IpFamily, Map<ServicePortName, IptablesRenderer.ServiceMemo>> memos = new EnumMap<>(IpFamily.class);
    /** Per family, the service ports whose rules the kernel rejected at the last sync (left out, retried). */
    private final RejectedServicePorts rejected = new RejectedServicePorts();
    /** Beyond this many rejected ports in one sync the failure is taken as the family's, not a port's. */
    static final int MAX_REJECTED_PER_SYNC = 16;
    /** Service rules per restore when the input is split (nf_tables backend, large inputs). */
    static final int CHUNK_RULES = 2000;

    public IptablesBackend(BackendContext ctx, Iptables iptables, Conntrack conntrack) {
        this.ctx = ctx;
        this.iptables = iptables;
        this.conntrack = conntrack;
        boolean v6Only = ctx.families().equals(Set.of(IpFamily.IPV6));
        this.healthServers = new ServiceHealthServers(v6Only ? "::" : "0.0.0.0", () -> ctx.health().status().healthy());
        if (ctx.config().iptables().localhostNodePorts() && ctx.families().contains(IpFamily.IPV4)
                && ctx.config().nodePortAddresses().isEmpty()) {
            enableRouteLocalnet();
        }
    }

    private static void enableRouteLocalnet() {
        Path p = Path.of("/proc/sys/net/ipv4/conf/all/route_localnet");
        try {
            if (!"1".equals(Files.readString(p).strip())) {
                Files.writeString(p, "1");
                LOG.info("set net.ipv4.conf.all.route_localnet=1 for localhost NodePorts");
            }
        } catch (IOException e) {
            LOG.warn("cannot set route_localnet ({}); localhost NodePorts will not work", e.getMessage());
        }
    }

    @Override
    public void sync(ProxySnapshot snapshot) throws SyncException {
        List<String> failures = RejectedServicePorts.eachFamily(ctx.families(), family -> syncFamily(snapshot, family));
        syncHealthServers(snapshot);
        if (!failures.isEmpty()) {
            throw new SyncException(String.join("; ", failures));
        }
    }

    private void syncFamily(ProxySnapshot snapshot, IpFamily family) throws SyncException {
        boolean full = snapshot.fullSync() || needFull.getOrDefault(family, true) || !memos.containsKey(family);
        try {
            if (!full && !iptables.chainExists(family, "mangle", ChainNames.KUBE_PROXY_CANARY)) {
                LOG.warn("{}: canary chain {} is gone (something flushed the tables); rewriting everything",
                        family.kubernetesName(), ChainNames.KUBE_PROXY_CANARY);
                full = true;
            }
        } catch (Iptables.LockBusyException e) {
            // another agent holds the xtables lock: nothing was read or written; counted as the
            // failed restore it is, shown on /healthz, and retried by the runner with backoff
            ctx.metrics().restoreFailure(family, !full);
            LOG.warn("{}: the xtables lock is held by another process; keeping the current rules and retrying: {}",
                    family.kubernetesName(), e.getMessage());
            throw new SyncException(family.kubernetesName() + ": xtables lock busy: " + e.getMessage(), e);
        } catch (IOException e) {
            full = true;
        }
        Set<String> existing;
        List<JumpRule> missing;
        if (full) {
            RuleSet kernel;
            try {
                kernel = RuleSet.parse(iptables.save(family, null));
            } catch (IOException | IllegalArgumentException e) {
                needFull.put(family, true);
                throw new SyncException(family.kubernetesName() + ": cannot read rules back: " + e.getMessage(), e);
            }
            existing = new HashSet<>(kernel.table("nat").keySet());
            missing = missingJumps(kernel, family);
        } else {
            // partial: the memo of the last render knows every chain in use
            existing = Set.of();
            missing = List.of();
        }
        ProxySnapshot effective = rejected.withRetries(family, full ? snapshot.asFull() : snapshot);
        Set<ServicePortName> excluded = new TreeSet<>();
        RestoreInput input;
        long bytes;
        int restoreCount;
        while (true) {
            ProxySnapshot view = effective.without(family, excluded);
            RenderSettings settings = settings(view, family, existing, missing);
            input = IptablesRenderer.render(view, settings, full ? Map.of() : memos.getOrDefault(family, Map.of()));
            Set<String> unchanged = new HashSet<>();
            if (!full) {
                Map<String, String> previous = lastTop.getOrDefault(family, Map.of());
                input.topContents().forEach((k, v) -> {
                    if (v.equals(previous.get(k))) {
                        unchanged.add(k);
                    }
                });
            }
            List<String> restores = chunked(input) ? input.chunks(unchanged, CHUNK_RULES) : List.of(input.text(unchanged));
            restoreCount = restores.size();
            String current = "";
            bytes = 0;
            long restoreStart = System.nanoTime();
            try {
                for (String r : restores) {
                    if (r.isBlank()) {
                        continue;
                    }
                    current = r;
                    bytes += r.length();
                    iptables.restore(family, r);
                }
                lastRestoreNanos = System.nanoTime() - restoreStart;
                break;
            } catch (Iptables.RestoreException e) {
                ctx.metrics().restoreFailure(family, !full);
                ServicePortName culprit = excluded.size() < MAX_REJECTED_PER_SYNC ? culprit(input, current, e.line()) : null;
                if (culprit != null && excluded.add(culprit)) {
                    rejected.logRejected(family, culprit, e.getMessage(), InputContext.around(current, e.line()));
                    continue;
                }
                failed(family);
                LOG.error("{}: {} (the previous rules stay in place){}", family.kubernetesName(), e.getMessage(),
                        InputContext.around(current, e.line()));
                throw new SyncException(family.kubernetesName() + ": " + e.getMessage(), e);
            } catch (IOException e) {
                ctx.metrics().restoreFailure(family, !full);
                failed(family);
                throw new SyncException(family.kubernetesName() + ": " + e.getMessage(), e);
            }
        }
        rejected.record(family, excluded, snapshot, ctx.metrics());
        lastTop.put(family, input.topContents());
        memos.put(family, input.memo());
        lastInputBytes = bytes;
        ctx.metrics().syncInputBytes(family, bytes);
        needFull.put(family, false);
        ctx.metrics().iptablesRules(family, "filter", input.filterRules(), input.filterRulesWritten());
        ctx.metrics().iptablesRules(family, "nat", input.natRules(), input.natRulesWritten());
        ctx.metrics().noLocalEndpoints(family, "internal", input.noLocalInternal());
        ctx.metrics().noLocalEndpoints(family, "external", input.noLocalExternal());
        LOG.debug("{}: {} sync wrote {} bytes in {} restore(s) ({} nat, {} filter rules in total)", family.kubernetesName(),
                full ? "full" : "partial", bytes, restoreCount, input.natRules(), input.filterRules());
        ConntrackCleanup.run(snapshot, family, conntrack, ctx.metrics());
    }

    private volatile long lastInputBytes;
    private volatile long lastRestoreNanos;

    /** Time the last successful family sync spent inside iptables-restore. */
    public long lastRestoreNanos() {
        return lastRestoreNanos;
    }

    /** Bytes of restore input the last successful family sync wrote (for benchmarks and logs). */
    public long lastInputBytes() {
        return lastInputBytes;
    }

    /**
     * nf_tables' {@code --noflush} restore grows with the square of the input; splitting the
     * per-service chains into restores of {@value #CHUNK_RULES} rules keeps it near linear. The
     * legacy backend restores fast in one piece, and small inputs stay one atomic restore.
     */
    private boolean chunked(RestoreInput input) {
        if (iptables.flavor() == Iptables.Flavor.LEGACY) {
            return false;
        }
        int rules = 0;
        for (RestoreInput.Block b : input.blocks()) {
            rules += b.ruleCount();
        }
        return rules > 2 * CHUNK_RULES;
    }

    /** After a failed restore: forget what the kernel holds, so the next sync is full. */
    private void failed(IpFamily family) {
        needFull.put(family, true);
        lastTop.remove(family);
        memos.remove(family);
    }

    /**
     * The service port whose rules hold the line the kernel rejected: the owner of the per-service
     * chain the line writes, or the port whose top-level rule it is. Null when the line belongs to
     * no single port (a top-level chain of its own, a COMMIT, or no line number at all).
     */
    static ServicePortName culprit(RestoreInput input, String restore, int line) {
        if (line <= 0) {
            return null;
        }
        String[] lines = restore.split("\n", -1);
        if (line > lines.length) {
            return null;
        }
        String text = lines[line - 1];
        String[] tokens = text.split(" ", 3);
        String chain = null;
        if (text.startsWith(":")) {
            chain = tokens[0].substring(1);
        } else if (tokens.length > 1 && (tokens[0].equals("-A") || tokens[0].equals("-I") || tokens[0].equals("-X"))) {
            chain = tokens[1];
        }
        if (chain == null) {
            return null;
        }
        boolean perService = ChainNames.isServiceChain(chain);
        String withNewline = text + "\n";
        for (Map.Entry<ServicePortName, IptablesRenderer.ServiceMemo> e : input.memo().entrySet()) {
            IptablesRenderer.ServiceMemo m = e.getValue();
            if (perService ? m.chains().contains(chain) : ownsTopRule(m, withNewline)) {
                return e.getKey();
            }
        }
        return null;
    }

    private static boolean ownsTopRule(IptablesRenderer.ServiceMemo m, String line) {
        for (String[] r : m.filterTop()) {
            if (r[1].equals(line)) {
                return true;
            }
        }
        for (String[] r : m.natTop()) {
            if (r[1].equals(line)) {
                return true;
            }
        }
        return false;
    }


    private List<JumpRule> missingJumps(RuleSet kernel, IpFamily family) {
        List<JumpRule> wanted = new ArrayList<>(JumpRule.ALL);
        if (localnet(family)) {
            wanted.addAll(JumpRule.LOCALNET);
        }
        List<JumpRule> missing = new ArrayList<>();
        for (JumpRule j : wanted) {
            boolean present = kernel.chain(j.table(), j.from()).stream().anyMatch(r -> j.target().equals(r.target()));
            if (!present) {
                missing.add(j);
            }
        }
        return missing;
    }

    private boolean localnet(IpFamily family) {
        return family == IpFamily.IPV4 && ctx.config().iptables().localhostNodePorts()
                && ctx.config().nodePortAddresses().isEmpty();
    }

    RenderSettings settings(ProxySnapshot snapshot, IpFamily family, Set<String> existing, List<JumpRule> missing) {
        ProxyConfig cfg = ctx.config();
        List<IpAddress> nodeIps = NodePortAddresses.nodeIps(snapshot.node(), family);
        boolean all = NodePortAddresses.all(cfg);
        List<IpAddress> nodePortIps = NodePortAddresses.selected(cfg, snapshot.node(), family);
        return new RenderSettings(family, cfg.iptables().masqueradeBit(), cfg.iptables().masqueradeAll(),
                LocalDetector.of(cfg, family, snapshot.node()), all, nodePortIps, localnet(family) || !all && cfg.iptables().localhostNodePorts(),
                nodeIps, RenderSettings.LARGE_CLUSTER_THRESHOLD, existing, missing, snapshot.fullSync());
    }

    private void syncHealthServers(ProxySnapshot snapshot) {
        healthServers.sync(ServiceHealthServers.wanted(snapshot, ctx.families()));
    }

    @Override
    public void cleanup() throws SyncException {
        for (IpFamily family : new TreeSet<>(ctx.families().isEmpty() ? Set.of(IpFamily.IPV4) : ctx.families())) {
            try {
                iptables.removeChains(family, List.of("mangle", "filter", "nat"), chain -> chain.startsWith("KUBE-"));
            } catch (Iptables.RestoreException | IOException e) {
                throw new SyncException("cleanup of " + family.kubernetesName() + " rules failed: " + e.getMessage(), e);
            }
        }
    }

    @Override
    public void shutdown(Duration grace) {
        healthServers.close();
    }
}
