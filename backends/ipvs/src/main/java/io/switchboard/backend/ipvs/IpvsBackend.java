package io.switchboard.backend.ipvs;

import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.backend.SyncException;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.Iptables;
import io.switchboard.netfilter.NodePortAddresses;
import io.switchboard.netfilter.RejectedServicePorts;
import io.switchboard.netfilter.link.Links;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * {@code --proxy-mode=ipvs}: each sync computes the IPVS table the snapshot asks for
 * ({@link IpvsDesired}), diffs it against the kernel's ({@link IpvsPlanner}) and applies the
 * difference over generic netlink; service addresses are bound to the {@code kube-ipvs0} dummy
 * link; the companion ipsets and iptables rules ({@link IpvsRules}) are rewritten per family.
 * <p>
 * The kernel's table is read back at the first sync and at every full sync (so drift is repaired);
 * a periodic sync with nothing changed checks that every virtual server and address applied is
 * still there (one dump of each) and turns into a full sync if not; between them the backend plans only the services that changed (an {@link IpvsLedger} of what each
 * service wants, the {@link AppliedTable} of what was applied), and reads back only the real
 * servers of virtual servers that are draining one or about to lose one (their connection counts
 * decide between weight 0 and deletion). So a sync between full ones costs what changed, not what
 * the table holds.
 */
public final class IpvsBackend implements ProxyBackend {
    private static final Logger LOG = LoggerFactory.getLogger(IpvsBackend.class);
    public static final String DUMMY = "kube-ipvs0";
    /** How long a removed real server may keep connections at weight 0 before it is deleted anyway. */
    static final Duration GRACE = Duration.ofMinutes(5);
    private static final Duration IPSET_TIMEOUT = Duration.ofSeconds(60);

    /** Beyond this many refused service ports in one family and sync the failure is taken as the sync's. */
    static final int MAX_REJECTED_PER_SYNC = 16;
    private final RejectedServicePorts rejected = new RejectedServicePorts();
    private final BackendContext ctx;
    private final Ipvs ipvs;
    private final Links links;
    private final Iptables iptables;
    private final CommandRunner runner;
    private final Sysctls sysctls;
    private final io.switchboard.netfilter.conntrack.Conntrack conntrack;
    /** Health-check node ports of external policy Local services, as in the other modes. */
    private final io.switchboard.netfilter.health.ServiceHealthServers healthServers;
    /** Between full syncs: what was applied and what each service wants (null: the next sync is a full one). */
    private AppliedTable table;
    private IpvsLedger ledger;
    private Map<IpvsPlanner.Draining, Instant> draining = Map.of();
    private boolean prepared;
    private long lastInputBytes;
    private int lastOperations;
    /** Between full syncs: the dummy link's index and the node-port addresses. */
    private int dummyIndex = -1;
    private Map<IpFamily, List<IpAddress>> nodeAddresses;

    /** Writes {@code /proc/sys} values (a fake in unit tests). */
    public interface Sysctls {
        /** Sets one value; returns false (and says why in the log) when it cannot. */
        boolean set(String key, String value);

        Sysctls PROC = (key, value) -> {
            java.nio.file.Path p = java.nio.file.Path.of("/proc/sys", key);
            try {
                String now = java.nio.file.Files.readString(p).strip();
                if (!now.equals(value)) {
                    java.nio.file.Files.writeString(p, value);
                    LOG.info("set sysctl {} to {} (was {})", key.replace('/', '.'), value, now);
                }
                return true;
            } catch (IOException e) {
                LOG.warn("cannot set sysctl {} to {}: {}", key.replace('/', '.'), value, e.toString());
                return false;
            }
        };
    }

    /** @param conntrack the conntrack table for stale UDP entries, or null when ctnetlink cannot be loaded */
    public IpvsBackend(BackendContext ctx, Ipvs ipvs, Links links, Iptables iptables, CommandRunner runner, Sysctls sysctls,
                       io.switchboard.netfilter.conntrack.Conntrack conntrack) {
        this.conntrack = conntrack;
        this.healthServers = new io.switchboard.netfilter.health.ServiceHealthServers(
                ctx.families().equals(Set.of(IpFamily.IPV6)) ? "::" : "0.0.0.0", () -> ctx.health().status().healthy());
        this.ctx = ctx;
        this.ipvs = ipvs;
        this.links = links;
        this.iptables = iptables;
        this.runner = runner;
        this.sysctls = sysctls;
    }

    private void prepare() throws SyncException {
        // what kube-proxy sets in this mode: IPVS connections visible to conntrack (for masquerading),
        // connections to removed real servers expired, persistence templates of weight-0 servers dropped
        sysctls.set("net/ipv4/vs/conntrack", "1");
        sysctls.set("net/ipv4/vs/expire_nodest_conn", "1");
        sysctls.set("net/ipv4/vs/expire_quiescent_template", "1");
        sysctls.set("net/ipv4/ip_forward", "1");
        if (ctx.families().contains(IpFamily.IPV6)) {
            sysctls.set("net/ipv6/conf/all/forwarding", "1");
        }
        if (ctx.config().ipvs().strictArp()) {
            sysctls.set("net/ipv4/conf/all/arp_ignore", "1");
            sysctls.set("net/ipv4/conf/all/arp_announce", "2");
        }
        int tcp = seconds(ctx.config().ipvs().tcpTimeout());
        int fin = seconds(ctx.config().ipvs().tcpFinTimeout());
        int udp = seconds(ctx.config().ipvs().udpTimeout());
        if (tcp != 0 || fin != 0 || udp != 0) {
            try {
                ipvs.setTimeouts(tcp, fin, udp);
                LOG.info("IPVS timeouts set: tcp {}s, tcpfin {}s, udp {}s (0: unchanged)", tcp, fin, udp);
            } catch (IOException e) {
                LOG.warn("cannot set the IPVS timeouts: {}", e.getMessage());
            }
        }
        try {
            int index = links.ensureDummy(DUMMY);
            LOG.info("service addresses go on {} (index {}); IPVS {}", DUMMY, index, ipvs.version());
        } catch (IOException e) {
            throw new SyncException("cannot create the " + DUMMY + " dummy link: " + e.getMessage(), e);
        }
        prepared = true;
    }

    private static int seconds(Duration d) {
        return d == null ? 0 : (int) Math.min(Integer.MAX_VALUE, d.toSeconds());
    }

    @Override
    public void sync(ProxySnapshot requested) throws SyncException {
        if (!prepared) {
            prepare();
        }
        Set<IpFamily> families = ctx.families();
        // service ports whose operations the kernel refused last time are planned again with every sync
        ProxySnapshot snapshot = requested;
        for (IpFamily f : families) {
            snapshot = rejected.withRetries(f, snapshot);
        }
        boolean full = snapshot.fullSync() || table == null || ledger == null || nodeAddresses == null;
        if (!full && snapshot.changedServices().isEmpty() && drifted(families)) {
            full = true;
        }
        int index;
        if (full) {
            Map<IpFamily, List<IpAddress>> addrs = new EnumMap<>(IpFamily.class);
            try {
                index = links.ensureDummy(DUMMY);
                Set<IpAddress> onDummy = new HashSet<>();
                for (IpFamily f : families) {
                    onDummy.addAll(links.addresses(index, f));
                }
                for (IpFamily f : families) {
                    addrs.put(f, nodePortAddresses(snapshot, f, onDummy));
                }
            } catch (IOException e) {
                throw new SyncException("cannot read " + DUMMY + ": " + e.getMessage(), e);
            }
            dummyIndex = index;
            nodeAddresses = addrs;
        } else {
            index = dummyIndex;
        }
        Set<IpAddress> nodeIps = new HashSet<>();
        nodeAddresses.values().forEach(nodeIps::addAll);
        IpvsPlanner.Ownership own = new IpvsPlanner.Ownership(nodeIps, IpvsPlanner.Ownership.DEFAULT_LOW,
                IpvsPlanner.Ownership.DEFAULT_HIGH, ctx.config().ipvs().excludeCidrs());
        IpvsDesired.Result all = null;
        IpvsDesired.Result part = null;
        IpvsLedger.Change change = null;
        IpvsState want;
        IpvsState current;
        try {
            if (full) {
                all = IpvsDesired.of(snapshot, families, scheduler(), nodeAddresses);
                want = all.state();
                current = readKernel(index, own, want, families);
            } else {
                // only the changed services' virtual servers, plus those with a real server draining
                part = IpvsDesired.of(snapshot, families, scheduler(), nodeAddresses, snapshot.changedServices());
                change = ledger.replace(snapshot.changedServices(), part);
                Set<VirtualServer.Key> keys = new HashSet<>(change.keys());
                Set<VirtualServer.Key> drainingOnly = new HashSet<>();
                for (IpvsPlanner.Draining d : draining.keySet()) {
                    if (keys.add(d.service())) {
                        drainingOnly.add(d.service());
                    }
                }
                want = merge(change.want(), ledger.wanted(drainingOnly));
                IpvsState last = table.slice(keys, change.addresses());
                current = refresh(last, toRefresh(last, want));
            }
        } catch (IOException e) {
            table = null;
            ledger = null;
            throw new SyncException("cannot read the IPVS table back: " + e.getMessage(), e);
        }
        IpvsPlanner.Plan plan = IpvsPlanner.plan(want, current, own, draining, ctx.clock().instant(), GRACE);
        List<String> failures = new ArrayList<>();
        List<IpvsOp> done = new ArrayList<>();
        // addresses first, then the IPVS operations in one pipelined run, then the addresses to unbind
        List<IpvsOp> tableOps = new ArrayList<>();
        for (IpvsOp op : plan.ops()) {
            if (op instanceof IpvsOp.Bind) {
                applyAddress(index, op, done, failures);
            } else if (!(op instanceof IpvsOp.Unbind)) {
                tableOps.add(op);
            }
        }
        Map<Integer, IOException> failed = ipvs.applyAll(tableOps);
        // a refused operation on a virtual server of one service port only leaves that port out (its
        // other operations fail with it, or are taken back by the next plan); any other refusal fails
        // the sync, as one whose culprit is unknown
        Map<VirtualServer.Key, Set<ServicePortName>> owners = owners(full ? all : part);
        Map<IpFamily, Set<ServicePortName>> left = new EnumMap<>(IpFamily.class);
        Map<ServicePortName, String> why = new java.util.TreeMap<>();
        for (int i = 0; i < tableOps.size(); i++) {
            IOException e = failed.get(i);
            if (e == null) {
                done.add(tableOps.get(i));
                continue;
            }
            VirtualServer.Key key = IpvsOp.key(tableOps.get(i));
            Set<ServicePortName> owner = key == null ? Set.of() : owners.getOrDefault(key, Set.of());
            ServicePortName p = owner.size() == 1 ? owner.iterator().next() : null;
            Set<ServicePortName> already = p == null ? Set.of() : left.computeIfAbsent(key.family(), f -> new TreeSet<>());
            if (p != null && (already.contains(p) || already.size() < MAX_REJECTED_PER_SYNC)) {
                already.add(p);
                why.putIfAbsent(p, describe(tableOps.get(i)) + ": " + e.getMessage());
            } else {
                failures.add(describe(tableOps.get(i)) + ": " + e.getMessage());
            }
        }
        for (IpvsOp op : plan.ops()) {
            if (op instanceof IpvsOp.Unbind) {
                applyAddress(index, op, done, failures);
            }
        }
        draining = plan.draining();
        if (full) {
            table = AppliedTable.of(current.apply(done));
            ledger = IpvsLedger.of(all);
        } else {
            table.apply(done);
        }
        lastOperations = plan.ops().size();
        lastInputBytes = 0;
        if (!plan.ops().isEmpty()) {
            LOG.debug("IPVS: {} operations ({} failed), {} real servers draining", plan.ops().size(), failures.size(), draining.size());
        }
        for (IpFamily f : new TreeSet<>(families)) {
            if (full) {
                syncRules(f, all.entries());
            } else {
                String delta = change.ipsets().get(f);
                if (!delta.isEmpty()) {
                    ipsetRestore(f, delta);
                    lastInputBytes += delta.length();
                }
            }
            // UDP flows to removed endpoints, as kube-proxy's ipvs mode clears them too
            io.switchboard.netfilter.conntrack.ConntrackCleanup.run(snapshot, f, conntrack, ctx.metrics());
        }
        healthServers.sync(io.switchboard.netfilter.health.ServiceHealthServers.wanted(snapshot, families));
        if (failures.isEmpty()) {
            for (IpFamily f : new TreeSet<>(families)) {
                Set<ServicePortName> out = left.getOrDefault(f, Set.of());
                for (ServicePortName p : out) {
                    rejected.logRejected(f, p, why.get(p), "");
                }
                rejected.record(f, out, snapshot, ctx.metrics());
            }
        } else {
            for (Set<ServicePortName> out : left.values()) {
                out.forEach(p -> failures.add(why.get(p)));
            }
            table = null;
            ledger = null;
            for (IpFamily f : families) {
                ctx.metrics().restoreFailure(f, !snapshot.fullSync());
            }
            LOG.error("IPVS: {} of {} operations failed (the others are in place; a full sync follows): {}", failures.size(),
                    plan.ops().size(), String.join("; ", failures.subList(0, Math.min(5, failures.size()))));
            throw new SyncException("IPVS: " + failures.size() + " operations failed, first: " + failures.get(0));
        }
    }

    /** Per virtual server, the service ports it is desired for (more than one: a shared address and port). */
    private static Map<VirtualServer.Key, Set<ServicePortName>> owners(IpvsDesired.Result result) {
        Map<VirtualServer.Key, Set<ServicePortName>> out = new HashMap<>();
        if (result != null) {
            for (IpvsDesired.Entry e : result.entries()) {
                out.computeIfAbsent(e.key(), k -> new TreeSet<>()).add(e.service().name());
            }
        }
        return out;
    }

    private String scheduler() {
        String s = ctx.config().ipvs().scheduler();
        return s == null || s.isBlank() ? "rr" : s;
    }

    /** The node addresses that take node ports: the configured ones, or every local one but service addresses. */
    private List<IpAddress> nodePortAddresses(ProxySnapshot snapshot, IpFamily family, Set<IpAddress> onDummy) {
        if (!NodePortAddresses.all(ctx.config())) {
            return NodePortAddresses.selected(ctx.config(), snapshot.node(), family);
        }
        List<IpAddress> out = new ArrayList<>();
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (nic.getName().equals(DUMMY)) {
                    continue;
                }
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    IpAddress ip = IpAddress.of(a.getAddress());
                    if (ip.family() == family && !a.isLinkLocalAddress() && !a.isLoopbackAddress() && !onDummy.contains(ip)) {
                        out.add(ip);
                    }
                }
            }
        } catch (SocketException e) {
            LOG.warn("cannot list local addresses for node ports: {}", e.getMessage());
        }
        Collections.sort(out);
        return out;
    }

    /** The kernel's table: every virtual server, with real servers for those that are ours or wanted. */
    /**
     * On a sync with nothing changed (the periodic one): whether the kernel lost something this
     * backend applied, as an operator's {@code ipvsadm -D} or {@code -C}, or another agent, would do:
     * a virtual server gone, or a service address no longer on {@code kube-ipvs0}. One dump of the
     * virtual servers and one of the link's addresses, not of every real server; a drifted table
     * makes this sync a full one, which reads everything back and repairs it.
     */
    private boolean drifted(Set<IpFamily> families) {
        try {
            Set<VirtualServer.Key> inKernel = new HashSet<>();
            for (VirtualServer vs : ipvs.services()) {
                inKernel.add(vs.key());
            }
            Set<IpAddress> bound = new HashSet<>();
            for (IpFamily f : families) {
                bound.addAll(links.addresses(dummyIndex, f));
            }
            int missing = table.missingFrom(inKernel, bound);
            if (missing > 0) {
                LOG.warn("IPVS: {} of the virtual servers and {} addresses applied earlier are gone from the kernel; "
                        + "a full sync repairs them", missing, DUMMY);
                return true;
            }
            return false;
        } catch (IOException e) {
            LOG.warn("IPVS: cannot read the table back to check it ({}); a full sync follows", e.getMessage());
            return true;
        }
    }

    private IpvsState readKernel(int index, IpvsPlanner.Ownership own, IpvsState want, Set<IpFamily> families) throws IOException {
        Set<IpAddress> bound = new TreeSet<>();
        for (IpFamily f : families) {
            bound.addAll(links.addresses(index, f));
        }
        SortedMap<VirtualServer.Key, VirtualServer> services = new TreeMap<>();
        Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> dests = new HashMap<>();
        for (VirtualServer vs : ipvs.services()) {
            if (!families.contains(vs.family())) {
                continue;
            }
            services.put(vs.key(), vs);
            if (want.services().containsKey(vs.key()) || own.owns(vs.key(), bound)) {
                SortedMap<RealServer.Key, RealServer> rs = new TreeMap<>();
                for (RealServer r : ipvs.destinations(vs.key())) {
                    rs.put(r.key(), r);
                }
                dests.put(vs.key(), rs);
            }
        }
        return new IpvsState(services, dests, bound);
    }

    /**
     * The virtual servers whose real servers need their live connection counts: those being drained,
     * and those about to lose a real server (the counts decide between weight 0 and deletion; what was
     * applied last only knows the weights).
     */
    private Set<VirtualServer.Key> toRefresh(IpvsState last, IpvsState want) {
        Set<VirtualServer.Key> out = new HashSet<>();
        draining.keySet().forEach(d -> out.add(d.service()));
        for (Map.Entry<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> e : last.destinations().entrySet()) {
            if (out.contains(e.getKey()) || !want.services().containsKey(e.getKey())) {
                continue;
            }
            SortedMap<RealServer.Key, RealServer> wanted = want.destinationsOf(e.getKey());
            for (RealServer.Key k : e.getValue().keySet()) {
                if (!wanted.containsKey(k)) {
                    out.add(e.getKey());
                    break;
                }
            }
        }
        return out;
    }

    /** The last applied state with the kernel's real servers (and their connection counts) for some virtual servers. */
    private IpvsState refresh(IpvsState last, Set<VirtualServer.Key> services) throws IOException {
        if (services.isEmpty()) {
            return last;
        }
        Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> dests = new LinkedHashMap<>(last.destinations());
        for (VirtualServer.Key k : services) {
            if (!last.services().containsKey(k)) {
                continue;
            }
            SortedMap<RealServer.Key, RealServer> rs = new TreeMap<>();
            for (RealServer r : ipvs.destinations(k)) {
                rs.put(r.key(), r);
            }
            dests.put(k, rs);
        }
        return new IpvsState(last.services(), dests, last.bound());
    }

    private void applyAddress(int index, IpvsOp op, List<IpvsOp> done, List<String> failures) {
        try {
            if (op instanceof IpvsOp.Bind b) {
                links.addAddress(index, b.address());
            } else if (op instanceof IpvsOp.Unbind u) {
                links.deleteAddress(index, u.address());
            }
            done.add(op);
        } catch (IOException e) {
            failures.add(describe(op) + ": " + e.getMessage());
        }
    }

    static String describe(IpvsOp op) {
        return op.toString();
    }

    /**
     * A full sync rewrites every set (rebuilt and swapped in) and the rules, with the jumps checked;
     * between full syncs only the set members that changed are added or deleted (the ledger's
     * delta), and the rules — which do not depend on the services — are left as they are.
     */
    private void syncRules(IpFamily family, List<IpvsDesired.Entry> entries) throws SyncException {
        List<io.switchboard.netfilter.Jump> missing;
        try {
            missing = iptables.missingJumps(family, IpvsRules.JUMPS);
        } catch (IOException e) {
            throw new SyncException(family.kubernetesName() + ": cannot read rules back: " + e.getMessage(), e);
        }
        Integer bit = ctx.config().iptables().masqueradeBit();
        IpvsRules.Rendered r = IpvsRules.render(entries, new IpvsRules.Settings(family, ctx.config().clusterCidrs(),
                ctx.config().iptables().masqueradeAll(), bit == null ? 14 : bit, missing), existingSets(family));
        ipsetRestore(family, r.ipsets());
        try {
            iptables.restore(family, r.iptables());
        } catch (Iptables.RestoreException | IOException e) {
            ctx.metrics().restoreFailure(family, false);
            table = null;
            ledger = null;
            throw new SyncException(family.kubernetesName() + ": " + e.getMessage(), e);
        }
        ctx.metrics().syncInputBytes(family, r.iptables().length() + r.ipsets().length());
        lastInputBytes += r.iptables().length() + r.ipsets().length();
    }

    /** Two disjoint parts of a desired table as one. */
    private static IpvsState merge(IpvsState a, IpvsState b) {
        if (b.services().isEmpty()) {
            return a;
        }
        SortedMap<VirtualServer.Key, VirtualServer> s = new TreeMap<>(a.services());
        s.putAll(b.services());
        Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> d = new HashMap<>(a.destinations());
        d.putAll(b.destinations());
        return new IpvsState(s, d, a.bound());
    }

    /** The names of the ipsets that exist now. */
    private Set<String> existingSets(IpFamily family) throws SyncException {
        try {
            CommandRunner.Result res = runner.run(List.of("ipset", "list", "-n"), null, IPSET_TIMEOUT);
            if (!res.ok()) {
                throw new SyncException(family.kubernetesName() + ": ipset list failed: " + res.stderr().strip());
            }
            return new HashSet<>(res.stdout().lines().map(String::strip).filter(l -> !l.isEmpty()).toList());
        } catch (IOException e) {
            throw new SyncException(family.kubernetesName() + ": ipset list: " + e.getMessage(), e);
        }
    }

    private void ipsetRestore(IpFamily family, String input) throws SyncException {
        try {
            CommandRunner.Result res = runner.run(List.of("ipset", "restore"), input, IPSET_TIMEOUT);
            if (!res.ok()) {
                ctx.metrics().restoreFailure(family, false);
                table = null;
                ledger = null;
                throw new SyncException(family.kubernetesName() + ": ipset restore failed (exit " + res.exitCode() + "): "
                        + res.stderr().strip());
            }
        } catch (IOException e) {
            ctx.metrics().restoreFailure(family, false);
            table = null;
            ledger = null;
            throw new SyncException(family.kubernetesName() + ": ipset restore: " + e.getMessage(), e);
        }
    }

    /** Bytes of companion rules and ipset input the last sync wrote (netlink messages not counted). */
    public long lastInputBytes() {
        return lastInputBytes;
    }

    /** IPVS and address operations the last sync planned. */
    public int lastOperations() {
        return lastOperations;
    }

    @Override
    public Map<String, Object> debugState() {
        AppliedTable t = table;
        if (t == null) {
            return Map.of();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("virtualServers", t.size());
        out.put("realServersDraining", draining.size());
        out.put("boundAddresses", t.boundCount());
        return out;
    }

    @Override
    public void cleanup() throws SyncException {
        List<String> problems = new ArrayList<>();
        try {
            int index = links.index(DUMMY);
            Set<IpAddress> bound = new TreeSet<>();
            if (index >= 0) {
                for (IpFamily f : IpFamily.values()) {
                    bound.addAll(links.addresses(index, f));
                }
            }
            IpvsPlanner.Ownership own = new IpvsPlanner.Ownership(localAddresses(), IpvsPlanner.Ownership.DEFAULT_LOW,
                    IpvsPlanner.Ownership.DEFAULT_HIGH, ctx.config().ipvs().excludeCidrs());
            List<IpvsOp> deletes = new ArrayList<>();
            for (VirtualServer vs : ipvs.services()) {
                if (own.owns(vs.key(), bound)) {
                    deletes.add(new IpvsOp.DeleteService(vs.key()));
                }
            }
            Map<Integer, IOException> failed = ipvs.applyAll(deletes);
            failed.values().stream().findFirst().ifPresent(e -> problems.add("IPVS: " + failed.size() + " deletes failed, first: "
                    + e.getMessage()));
            int deleted = deletes.size() - failed.size();
            if (links.delete(DUMMY)) {
                LOG.info("cleanup: deleted {} IPVS virtual servers and the {} link", deleted, DUMMY);
            }
        } catch (IOException e) {
            problems.add("IPVS: " + e.getMessage());
        }
        for (IpFamily f : IpFamily.values()) {
            try {
                iptables.removeChains(f, List.of("nat", "filter"), c -> IpvsRules.NAT_CHAINS.contains(c) || IpvsRules.FILTER_CHAINS.contains(c));
            } catch (IOException | Iptables.RestoreException e) {
                problems.add(f.kubernetesName() + " rules: " + e.getMessage());
            }
            try {
                // one by one: a set already gone must not stop the others
                for (IpvsRules.Set s : IpvsRules.Set.values()) {
                    runner.run(List.of("ipset", "destroy", s.name(f)), null, IPSET_TIMEOUT);
                }
            } catch (IOException e) {
                problems.add("ipsets: " + e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new SyncException("cleanup incomplete: " + String.join("; ", problems));
        }
    }

    @Override
    public void shutdown(Duration grace) {
        healthServers.close();
    }

    private static Set<IpAddress> localAddresses() {
        Set<IpAddress> out = new HashSet<>();
        for (IpFamily f : IpFamily.values()) {
            out.addAll(NodePortAddresses.localAddresses(f));
        }
        return out;
    }
}
