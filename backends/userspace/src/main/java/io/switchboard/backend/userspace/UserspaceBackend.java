package io.switchboard.backend.userspace;

import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.backend.SyncException;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.model.TrafficPolicy;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.topology.EndpointSelection;
import io.switchboard.netfilter.Iptables;
import io.switchboard.netfilter.conntrack.Conntrack;
import io.switchboard.netfilter.conntrack.Flow;
import io.switchboard.netfilter.RejectedServicePorts;
import io.switchboard.netfilter.health.ServiceHealthServers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The userspace data path: one listener per service port for traffic to its cluster IPs, and one
 * for traffic from outside (external IPs, load-balancer IPs, the NodePort) when it has any, each on
 * a local port that stays the same for as long as the service port exists. Portal rules from
 * {@link PortalRenderer} send service traffic there, one {@code iptables-restore} per family and
 * sync. Endpoints come from the core's selection: internal traffic uses the internal policy's
 * endpoints, external traffic the external policy's.
 */
public final class UserspaceBackend implements ProxyBackend {
    private static final Logger LOG = LoggerFactory.getLogger(UserspaceBackend.class);
    static final int MAX_REJECTED_PER_SYNC = 16;

    /** A listener: internal (cluster IPs) or external (external/LB IPs, NodePort) traffic of a port. */
    record Key(ServicePortName name, boolean external) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int c = name.compareTo(o.name);
            return c != 0 ? c : Boolean.compare(external, o.external);
        }
    }

    private static final class Listener {
        final Balancer balancer;
        final TcpProxy tcp;
        final UdpProxy udp;

        Listener(Balancer balancer, TcpProxy tcp, UdpProxy udp) {
            this.balancer = balancer;
            this.tcp = tcp;
            this.udp = udp;
        }

        int port() {
            return tcp != null ? tcp.port() : udp.port();
        }

        void close() {
            if (tcp != null) {
                tcp.close();
            } else {
                udp.close();
            }
        }
    }

    private final BackendContext ctx;
    private final Iptables iptables;
    private final Transport transport;
    private final MultiThreadIoEventLoopGroup group;
    private final Map<Key, Listener> listeners = new TreeMap<>();
    private final Set<ServicePortName> skipped = new HashSet<>();
    private final RejectedServicePorts rejected = new RejectedServicePorts();
    private final ServiceHealthServers healthServers;
    private final Duration tcpIdle;
    private int nextPort;
    private final Conntrack conntrack;
    /** UDP service ports whose listener opened since their conntrack flows were last cleared. */
    private final Map<Key, ServicePort> freshUdp = new HashMap<>();

    public UserspaceBackend(BackendContext ctx, Iptables iptables, Transport transport) {
        this(ctx, iptables, transport, null);
    }

    /**
     * @param conntrack the conntrack table, to end UDP flows that still lead to a closed proxy port
     *                  (null: not available, logged by the provider)
     */
    public UserspaceBackend(BackendContext ctx, Iptables iptables, Transport transport, Conntrack conntrack) {
        this.ctx = ctx;
        this.conntrack = conntrack;
        this.iptables = iptables;
        this.transport = transport;
        this.group = transport.group(Math.max(2, Runtime.getRuntime().availableProcessors()));
        boolean v6Only = ctx.families().equals(Set.of(IpFamily.IPV6));
        this.healthServers = new ServiceHealthServers(v6Only ? "::" : "0.0.0.0", () -> ctx.health().status().healthy());
        Duration est = ctx.config().conntrack().tcpEstablishedTimeout();
        // idle TCP connections end as the kernel's conntrack would end them (24h by default)
        this.tcpIdle = est == null || est.isZero() ? Duration.ofHours(24) : est;
        this.nextPort = ctx.config().userspace().portMin();
        LOG.info("userspace proxy: Netty {} transport, {} event loop threads", transport.name(), group.executorCount());
    }

    @Override
    public synchronized void sync(ProxySnapshot snapshot) throws SyncException {
        syncListeners(snapshot);
        List<String> failures = new ArrayList<>();
        boolean rulesOk = true;
        for (IpFamily family : new TreeSet<>(ctx.families())) {
            try {
                syncRules(snapshot, family);
            } catch (SyncException e) {
                failures.add(e.getMessage());
                rulesOk = false;
            }
        }
        if (rulesOk) {
            clearUdpFlows();
        }
        for (Listener l : listeners.values()) {
            if (l.udp != null) {
                l.udp.dropStaleSessions();
            }
        }
        healthServers.sync(ServiceHealthServers.wanted(snapshot, ctx.families()));
        if (!failures.isEmpty()) {
            throw new SyncException(String.join("; ", failures));
        }
    }

    /** Opens listeners for new service ports, updates endpoints, closes listeners of ports that went. */
    private void syncListeners(ProxySnapshot snapshot) throws SyncException {
        Set<Key> wanted = new HashSet<>();
        for (Map.Entry<ServicePortName, ServicePort> e : snapshot.services().entrySet()) {
            ServicePort svc = e.getValue();
            if (svc.protocol() == Protocol.SCTP) {
                if (skipped.add(e.getKey())) {
                    LOG.warn("{}: SCTP is not proxied in userspace mode; skipping it", e.getKey());
                    ctx.metrics().skippedServicePort("SCTP");
                }
                continue;
            }
            List<Key> keys = new ArrayList<>(List.of(new Key(e.getKey(), false)));
            if (external(svc)) {
                keys.add(new Key(e.getKey(), true));
            }
            for (Key k : keys) {
                wanted.add(k);
                Listener l = listeners.get(k);
                if (l == null || !l.balancer.affinity().equals(svc.sessionAffinity())) {
                    if (l != null) {
                        l.close();
                    }
                    l = open(k, svc);
                    listeners.put(k, l);
                    if (svc.protocol() == Protocol.UDP) {
                        freshUdp.put(k, svc);
                    }
                }
                l.balancer.update(endpoints(snapshot, k, svc));
            }
        }
        listeners.entrySet().removeIf(e -> {
            if (!wanted.contains(e.getKey())) {
                LOG.info("{}: service port gone; closing its {} listener on port {} (open connections drain)",
                        e.getKey().name(), e.getKey().external() ? "external" : "cluster IP", e.getValue().port());
                e.getValue().balancer.update(Map.of());
                e.getValue().close();
                return true;
            }
            return false;
        });
    }

    /**
     * A UDP client keeps its conntrack entry as long as it keeps sending, and that entry still
     * REDIRECTs to the proxy port that served it. When a UDP service port gets a new listener (the
     * proxy restarted, or the port was recreated), those entries lead to a closed port for good:
     * delete them once the portal rules point at the new one, as kube-proxy's userspace mode
     * cleared UDP conntrack entries for a service IP it started proxying.
     */
    private void clearUdpFlows() {
        if (freshUdp.isEmpty()) {
            return;
        }
        Map<Key, ServicePort> fresh = new HashMap<>(freshUdp);
        freshUdp.clear();
        if (conntrack == null) {
            return;
        }
        for (IpFamily family : new TreeSet<>(ctx.families())) {
            try {
                int deleted = conntrack.deleteMatching(family, f -> f.protocol() == Flow.UDP && leadsToAFreshPort(f, fresh));
                if (deleted > 0) {
                    ctx.metrics().conntrackDeleted(family, deleted);
                    LOG.info("{}: deleted {} UDP conntrack entries that led to replaced proxy ports", family.kubernetesName(), deleted);
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("{}: UDP conntrack cleanup failed: {}", family.kubernetesName(), e.getMessage());
            }
        }
    }

    static boolean leadsToAFreshPort(Flow f, Map<Key, ServicePort> fresh) {
        for (Map.Entry<Key, ServicePort> e : fresh.entrySet()) {
            ServicePort svc = e.getValue();
            if (e.getKey().external()) {
                if ((svc.nodePort() != 0 && f.origDport() == svc.nodePort())
                        || (f.origDport() == svc.port() && (svc.externalIps().contains(f.origDst())
                        || svc.loadBalancerIps().contains(f.origDst())))) {
                    return true;
                }
            } else if (f.origDport() == svc.port() && svc.clusterIps().contains(f.origDst())) {
                return true;
            }
        }
        return false;
    }

    private static boolean external(ServicePort svc) {
        return svc.nodePort() != 0 || !svc.externalIps().isEmpty() || !svc.loadBalancerIps().isEmpty();
    }

    private Map<IpFamily, List<InetSocketAddress>> endpoints(ProxySnapshot snapshot, Key k, ServicePort svc) {
        Map<IpFamily, List<InetSocketAddress>> out = new EnumMap<>(IpFamily.class);
        TrafficPolicy policy = k.external() ? svc.externalPolicy() : svc.internalPolicy();
        for (IpFamily f : ctx.families()) {
            EndpointSelection sel = snapshot.selections(f).get(k.name());
            if (sel == null) {
                continue;
            }
            List<InetSocketAddress> list = new ArrayList<>();
            for (Endpoint ep : policy == TrafficPolicy.LOCAL ? sel.localEndpoints() : sel.clusterEndpoints()) {
                list.add(socketAddress(ep.ip(), ep.port()));
            }
            out.put(f, list);
        }
        return out;
    }

    static InetSocketAddress socketAddress(IpAddress ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(ip.bytes()), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(ip.toString(), e);
        }
    }

    private Listener open(Key k, ServicePort svc) throws SyncException {
        ProxyConfig.Userspace cfg = ctx.config().userspace();
        Balancer balancer = new Balancer(svc.sessionAffinity(), System::nanoTime);
        String name = k.name() + (k.external() ? " (external)" : "");
        int attempts = cfg.portMin() == 0 ? 1 : cfg.portMax() - cfg.portMin() + 1;
        Set<Integer> inUse = new HashSet<>();
        listeners.values().forEach(l -> inUse.add(l.port()));
        for (int i = 0; i < attempts; i++) {
            int port = 0;
            if (cfg.portMin() != 0) {
                port = nextPort;
                nextPort = nextPort >= cfg.portMax() ? cfg.portMin() : nextPort + 1;
                if (inUse.contains(port)) {
                    continue;
                }
            }
            InetSocketAddress bind = new InetSocketAddress(port);
            try {
                Listener l = k.name().protocol() == Protocol.UDP
                        ? new Listener(balancer, null, new UdpProxy(name, transport, group, bind, balancer, ctx.metrics(),
                        cfg.udpIdleTimeout()))
                        : new Listener(balancer, new TcpProxy(name, transport, group, bind, balancer, ctx.metrics(),
                        TcpProxy.DIAL_TIMEOUTS, tcpIdle), null);
                LOG.info("{}: proxying {} on port {}", name, k.name().protocol(), l.port());
                return l;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SyncException(name + ": interrupted while opening a listener", e);
            } catch (Exception e) {
                if (!(e instanceof BindException) && !(e.getCause() instanceof BindException)
                        && !String.valueOf(e.getMessage()).contains("in use")) {
                    throw new SyncException(name + ": cannot open a listener: " + e, e);
                }
            }
        }
        throw new SyncException(name + ": no free port in portRange " + cfg.portMin() + "-" + cfg.portMax());
    }

    /** The portals of one family, sorted: each service address → its listener's port. */
    List<Portal> portals(ProxySnapshot snapshot, IpFamily family, Set<ServicePortName> excluded) {
        List<Portal> out = new ArrayList<>();
        for (Map.Entry<Key, Listener> e : listeners.entrySet()) {
            Key k = e.getKey();
            ServicePort svc = snapshot.services().get(k.name());
            if (svc == null || excluded.contains(k.name())) {
                continue;
            }
            EndpointSelection sel = snapshot.selections(family).get(k.name());
            boolean open = sel != null && sel.hasAnyEndpoints();
            int proxyPort = e.getValue().port();
            if (!k.external()) {
                for (IpAddress ip : svc.clusterIps()) {
                    if (ip.family() == family) {
                        out.add(new Portal(k.name(), ip, svc.port(), proxyPort, open));
                    }
                }
                continue;
            }
            List<IpAddress> ips = new ArrayList<>(svc.externalIps());
            ips.addAll(svc.loadBalancerIps());
            for (IpAddress ip : ips) {
                if (ip.family() == family) {
                    out.add(new Portal(k.name(), ip, svc.port(), proxyPort, open));
                }
            }
            if (svc.nodePort() != 0) {
                out.add(new Portal(k.name(), null, svc.nodePort(), proxyPort, open));
            }
        }
        return out;
    }

    private void syncRules(ProxySnapshot snapshot, IpFamily family) throws SyncException {
        List<io.switchboard.netfilter.Jump> missing;
        try {
            missing = iptables.missingJumps(family, PortalRenderer.JUMPS);
        } catch (IOException e) {
            throw new SyncException(family.kubernetesName() + ": cannot read rules back: " + e.getMessage(), e);
        }
        PortalRenderer.Settings settings = new PortalRenderer.Settings(family, hostAddress(snapshot, family),
                !bindAddressOf(family), missing);
        Set<ServicePortName> before = rejected.last(family);
        Set<ServicePortName> excluded = new TreeSet<>();
        while (true) {
            PortalRenderer.Rendered r = PortalRenderer.render(portals(snapshot, family, excluded), settings);
            try {
                iptables.restore(family, r.text());
                ctx.metrics().syncInputBytes(family, r.text().length());
                break;
            } catch (Iptables.RestoreException e) {
                ctx.metrics().restoreFailure(family, false);
                ServicePortName culprit = excluded.size() < MAX_REJECTED_PER_SYNC ? r.owner(e.line()) : null;
                if (culprit != null && excluded.add(culprit)) {
                    if (!before.contains(culprit)) {
                        LOG.error("{}: the kernel rejected the rules of service port {}; leaving it out and applying every"
                                + " other service (retried with each sync): {}", family.kubernetesName(), culprit, e.getMessage());
                    }
                    continue;
                }
                LOG.error("{}: {} (the previous rules stay in place)", family.kubernetesName(), e.getMessage());
                throw new SyncException(family.kubernetesName() + ": " + e.getMessage(), e);
            } catch (IOException e) {
                ctx.metrics().restoreFailure(family, false);
                throw new SyncException(family.kubernetesName() + ": " + e.getMessage(), e);
            }
        }
        rejected.record(family, excluded, snapshot, ctx.metrics());
    }

    private boolean bindAddressOf(IpFamily family) {
        IpAddress bind = IpAddress.parse(ctx.config().bindAddress());
        return !bind.isUnspecified() && bind.family() == family;
    }

    /** {@code bindAddress} when set for the family, else the node's first address of it, else a local one. */
    private IpAddress hostAddress(ProxySnapshot snapshot, IpFamily family) {
        if (bindAddressOf(family)) {
            return IpAddress.parse(ctx.config().bindAddress());
        }
        for (IpAddress a : snapshot.node().addresses()) {
            if (a.family() == family) {
                return a;
            }
        }
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    IpAddress ip = IpAddress.of(a.getAddress());
                    if (ip.family() == family && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
                        return ip;
                    }
                }
            }
        } catch (SocketException e) {
            LOG.warn("cannot list local addresses: {}", e.getMessage());
        }
        return null;
    }

    @Override
    public synchronized Map<String, Object> debugState() {
        List<Object> out = new ArrayList<>();
        for (Map.Entry<Key, Listener> e : listeners.entrySet()) {
            Map<String, Object> l = new java.util.LinkedHashMap<>();
            l.put("service", e.getKey().name().toString());
            l.put("kind", e.getKey().external() ? "external" : "cluster IP");
            l.put("protocol", e.getKey().name().protocol().name());
            l.put("port", e.getValue().port());
            l.put("affinity", e.getValue().balancer.affinity().clientIp()
                    ? "ClientIP " + e.getValue().balancer.affinity().timeoutSeconds() + "s" : "None");
            Map<String, Object> eps = new java.util.LinkedHashMap<>();
            for (IpFamily f : new TreeSet<>(ctx.families())) {
                List<String> list = new ArrayList<>();
                e.getValue().balancer.endpoints(f).forEach(a -> list.add(IpAddress.of(a.getAddress().getAddress()).withPort(a.getPort())));
                eps.put(f.kubernetesName(), list);
            }
            l.put("endpoints", eps);
            l.put("open", e.getValue().tcp != null ? e.getValue().tcp.openConnections() : e.getValue().udp.sessions());
            out.add(l);
        }
        return Map.of("userspaceListeners", out);
    }

    /** Local ports of the listeners, by service port and kind (for tests and inspection). */
    Map<Key, Integer> ports() {
        Map<Key, Integer> out = new TreeMap<>();
        listeners.forEach((k, l) -> out.put(k, l.port()));
        return out;
    }

    @Override
    public void cleanup() throws SyncException {
        Set<String> chains = Set.of(PortalRenderer.PORTALS_CONTAINER, PortalRenderer.PORTALS_HOST,
                PortalRenderer.NODEPORT_CONTAINER, PortalRenderer.NODEPORT_HOST, PortalRenderer.SERVICES);
        for (IpFamily family : new TreeSet<>(ctx.families().isEmpty() ? Set.of(IpFamily.IPV4) : ctx.families())) {
            try {
                iptables.removeChains(family, List.of("nat", "filter"), chains::contains);
            } catch (Iptables.RestoreException | IOException e) {
                throw new SyncException("cleanup of " + family.kubernetesName() + " portal rules failed: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Stops accepting, lets open connections finish for up to {@code grace}, then closes what is
     * left. The portal rules stay (the next process rewrites them).
     */
    @Override
    public void shutdown(Duration grace) {
        healthServers.close();
        listeners.values().forEach(Listener::close);
        long deadline = System.nanoTime() + grace.toNanos();
        while (System.nanoTime() < deadline && listeners.values().stream().anyMatch(l -> l.tcp != null && l.tcp.openConnections() > 0)) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        listeners.values().forEach(l -> {
            if (l.tcp != null) {
                l.tcp.closeConnections();
            }
        });
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).awaitUninterruptibly(5, java.util.concurrent.TimeUnit.SECONDS);
    }
}
