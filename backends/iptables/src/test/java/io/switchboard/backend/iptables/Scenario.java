package io.switchboard.backend.iptables;

import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.track.EndpointsChangeTracker;
import io.switchboard.core.track.ServiceChangeTracker;
import io.switchboard.netfilter.trace.PacketTracer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A golden scenario: services, slices and a node go in (through the real trackers), restore text
 * and traced flows come out.
 *
 * <p>Scenarios are written once, in IPv4; {@link #in(Form)} replays the same definitions as an
 * IPv6-only or a dual-stack scenario by mapping every address into {@code fd00::/96} (the IPv4
 * address in the low 32 bits, so a {@code /n} becomes a {@code /96+n} and containment is kept;
 * 127.0.0.1 becomes {@code ::1}). A scenario written directly in IPv6 (family set by hand) is not
 * translated.
 */
final class Scenario {
    static final String NODE = "node-1";
    static final String NODE_IP = "192.168.0.2";

    /** The IP families a scenario is rendered for. */
    enum Form {
        IPV4, IPV6, DUAL_STACK;

        String dir() {
            return switch (this) {
                case IPV4 -> "";
                case IPV6 -> "ipv6/";
                case DUAL_STACK -> "dual-stack/";
            };
        }
    }

    private record SliceDef(String nsService, String port, Protocol proto, int target, String[] eps) {
    }

    final String name;
    final ServiceChangeTracker services = new ServiceChangeTracker();
    final EndpointsChangeTracker endpoints = new EndpointsChangeTracker();
    NodeInfo node = new NodeInfo(NODE, Map.of("topology.kubernetes.io/zone", "za"),
            List.of(IpAddress.parse(NODE_IP)), List.of(Cidr.parse("10.0.1.0/24")), true);
    IpFamily family = IpFamily.IPV4;
    /** Families rendered; {@link #family} alone unless the scenario is dual-stack. */
    Set<IpFamily> families;
    Form form = Form.IPV4;
    int masqueradeBit = 14;
    boolean masqueradeAll;
    LocalDetector detector = new LocalDetector(List.of("-s", "10.0.0.0/8"), List.of("!", "-s", "10.0.0.0/8"));
    /** Dual-stack scenarios: the IPv6 detector. */
    LocalDetector detector6;
    boolean nodePortAll = true;
    List<IpAddress> nodePortIps = List.of();
    boolean localhostNodePorts = true;
    int largeThreshold = RenderSettings.LARGE_CLUSTER_THRESHOLD;
    final List<PacketTracer.Packet> flows = new ArrayList<>();
    private final Map<NamespacedName, List<ServicePort>> serviceDefs = new LinkedHashMap<>();
    private final List<SliceDef> sliceDefs = new ArrayList<>();

    Scenario(String name) {
        this.name = name;
    }

    @Override
    public String toString() {
        return form == Form.IPV4 ? name : name + " [" + form.name().toLowerCase(java.util.Locale.ROOT) + "]";
    }

    Set<IpFamily> families() {
        return families != null ? families : Set.of(family);
    }

    /** A service with one port named {@code port}. */
    Scenario svc(String nsName, String port, Protocol proto, int number, String clusterIp, Consumer<ServicePort.Builder> more) {
        NamespacedName nn = nn(nsName);
        List<IpAddress> ips = new ArrayList<>();
        for (String ip : clusterIp.split(",")) {
            ips.add(IpAddress.parse(ip));
        }
        ServicePort.Builder b = ServicePort.builder(new ServicePortName(nn, port, proto)).clusterIps(ips).port(number);
        more.accept(b);
        return service(nn, List.of(b.build()));
    }

    private Scenario service(NamespacedName nn, List<ServicePort> ports) {
        serviceDefs.put(nn, ports);
        services.update(nn, new ServiceInfo(nn, ports));
        return this;
    }

    /** Endpoints "ip" (ready, on another node), "ip@local" (ready, this node), "ip!term" (serving, terminating). */
    Scenario slice(String nsService, String port, Protocol proto, int target, String... eps) {
        sliceDefs.add(new SliceDef(nsService, port, proto, target, eps));
        NamespacedName svc = nn(nsService);
        List<EndpointSliceInfo.SliceEndpoint> list = new ArrayList<>();
        IpFamily fam = IpFamily.IPV4;
        for (String e : eps) {
            String ip = e.split("[@!]")[0];
            boolean local = e.contains("@local");
            boolean term = e.contains("!term");
            IpAddress addr = IpAddress.parse(ip);
            fam = addr.family();
            list.add(new EndpointSliceInfo.SliceEndpoint(addr, !term, true, term, local ? NODE : "node-2", "", Set.of(), Set.of()));
        }
        endpoints.upsert(new EndpointSliceInfo(new NamespacedName(svc.namespace(), svc.name() + "-" + port + "-" + fam),
                svc, fam, List.of(new EndpointSliceInfo.Port(port, target, proto)), list, null));
        return this;
    }

    Scenario flow(PacketTracer.Packet p) {
        flows.add(p);
        return this;
    }

    static NamespacedName nn(String s) {
        String[] p = s.split("/");
        return new NamespacedName(p[0], p[1]);
    }

    /** Whether this scenario was written in IPv4 and can be replayed in other forms. */
    boolean translatable() {
        return family == IpFamily.IPV4 && families == null && form == Form.IPV4;
    }

    /** The same scenario in another form (this one for {@link Form#IPV4}). */
    Scenario in(Form target) {
        if (target == Form.IPV4) {
            return this;
        }
        if (!translatable()) {
            throw new IllegalStateException(name + " is not an IPv4 scenario");
        }
        boolean dual = target == Form.DUAL_STACK;
        Scenario s = new Scenario(name);
        s.form = target;
        s.family = dual ? IpFamily.IPV4 : IpFamily.IPV6;
        s.families = dual ? EnumSet.of(IpFamily.IPV4, IpFamily.IPV6) : null;
        s.node = new NodeInfo(node.name(), node.topologyLabels(), both(node.addresses(), dual),
                bothCidrs(node.podCidrs(), dual), node.eligible());
        s.masqueradeBit = masqueradeBit;
        s.masqueradeAll = masqueradeAll;
        LocalDetector v6 = new LocalDetector(v6Tokens(detector.ifLocal()), v6Tokens(detector.ifNotLocal()));
        s.detector = dual ? detector : v6;
        s.detector6 = v6;
        s.nodePortAll = nodePortAll;
        s.nodePortIps = both(nodePortIps, dual);
        s.localhostNodePorts = localhostNodePorts;
        s.largeThreshold = largeThreshold;
        serviceDefs.forEach((nn, ports) -> {
            List<ServicePort> out = new ArrayList<>();
            for (ServicePort p : ports) {
                out.add(new ServicePort(p.name(), both(p.clusterIps(), dual), p.port(), p.nodePort(),
                        both(p.externalIps(), dual), both(p.loadBalancerIps(), dual),
                        bothCidrs(p.loadBalancerSourceRanges(), dual), p.sessionAffinity(), p.externalPolicy(),
                        p.internalPolicy(), p.healthCheckNodePort(), p.trafficDistribution()));
            }
            s.service(nn, out);
        });
        for (SliceDef d : sliceDefs) {
            if (dual) {
                s.slice(d.nsService(), d.port(), d.proto(), d.target(), d.eps());
            }
            String[] eps6 = new String[d.eps().length];
            for (int i = 0; i < eps6.length; i++) {
                String e = d.eps()[i];
                String ip = e.split("[@!]")[0];
                eps6[i] = v6(IpAddress.parse(ip)) + e.substring(ip.length());
            }
            s.slice(d.nsService(), d.port(), d.proto(), d.target(), eps6);
        }
        for (PacketTracer.Packet p : flows) {
            if (dual) {
                s.flows.add(p);
            }
            s.flows.add(new PacketTracer.Packet(v6(p.src()), v6(p.dst()), p.protocol(), p.dport(), p.fromNode(), p.inInterface()));
        }
        return s;
    }

    /** The IPv6 counterpart of an IPv4 address: {@code fd00::/96} + the 32 bits, 127.0.0.1 → ::1. */
    static IpAddress v6(IpAddress v4) {
        if (v4.family() == IpFamily.IPV6) {
            return v4;
        }
        if (v4.isLoopback()) {
            return IpAddress.parse("::1");
        }
        byte[] b = new byte[16];
        b[0] = (byte) 0xfd;
        System.arraycopy(v4.bytes(), 0, b, 12, 4);
        return IpAddress.of(b);
    }

    static Cidr v6(Cidr v4) {
        if (v4.family() == IpFamily.IPV6) {
            return v4;
        }
        if (v4.base().isLoopback()) {
            return Cidr.parse("::1/128");
        }
        return Cidr.parse(v6(v4.base()) + "/" + (96 + v4.prefixLength()));
    }

    private static List<IpAddress> both(List<IpAddress> ips, boolean dual) {
        List<IpAddress> out = new ArrayList<>();
        if (dual) {
            out.addAll(ips);
        }
        for (IpAddress ip : ips) {
            out.add(v6(ip));
        }
        return out;
    }

    private static List<Cidr> bothCidrs(List<Cidr> cidrs, boolean dual) {
        List<Cidr> out = new ArrayList<>();
        if (dual) {
            out.addAll(cidrs);
        }
        for (Cidr c : cidrs) {
            out.add(v6(c));
        }
        return out;
    }

    /** Detector arguments with CIDRs mapped to IPv6 (interface matches stay). */
    private static List<String> v6Tokens(List<String> tokens) {
        List<String> out = new ArrayList<>();
        for (String t : tokens) {
            out.add(t.contains("/") && Character.isDigit(t.charAt(0)) ? v6(Cidr.parse(t)).toString() : t);
        }
        return out;
    }

    /** A full snapshot of everything added so far. */
    ProxySnapshot fullSnapshot() {
        var sc = services.checkout();
        var ec = endpoints.checkout();
        Set<NamespacedName> changed = new HashSet<>(sc.changed());
        changed.addAll(ec.changed());
        return ProxySnapshot.build(services.servicePorts(), endpoints.endpoints(), node, families(), changed, true, null);
    }

    /** A partial snapshot with the changes since the last checkout. */
    ProxySnapshot partialSnapshot() {
        var sc = services.checkout();
        var ec = endpoints.checkout();
        Set<NamespacedName> changed = new HashSet<>(sc.changed());
        changed.addAll(ec.changed());
        return ProxySnapshot.build(services.servicePorts(), endpoints.endpoints(), node, families(), changed, false, null);
    }

    /**
     * The configuration a real proxy would need to render this scenario: the detector as a
     * detect-local mode, the NodePort addresses as {@code primary} (the tests' JVM does not own the
     * scenario's node address, so a CIDR would select nothing), masquerading and localhost
     * NodePorts. Another mode's test runs its own backend with it (the large-cluster threshold has
     * no setting; it changes comments, not where packets go).
     */
    ProxyConfig config() {
        List<Cidr> clusterCidrs = new ArrayList<>();
        var mode = ProxyConfig.DetectLocalMode.CLUSTER_CIDR;
        String bridge = "";
        String prefix = "";
        for (LocalDetector d : detector6 == null ? List.of(detector) : List.of(detector, detector6)) {
            List<String> t = d.ifLocal();
            if (t.isEmpty()) {
                continue;
            }
            if (t.get(0).equals("-s")) {
                clusterCidrs.add(Cidr.parse(t.get(1)));
            } else if (t.get(1).endsWith("+")) {
                mode = ProxyConfig.DetectLocalMode.INTERFACE_NAME_PREFIX;
                prefix = t.get(1).substring(0, t.get(1).length() - 1);
            } else {
                mode = ProxyConfig.DetectLocalMode.BRIDGE_INTERFACE;
                bridge = t.get(1);
            }
        }
        List<String> nodePortAddresses = new ArrayList<>();
        if (!nodePortAll) {
            for (IpFamily f : families()) {
                List<IpAddress> own = node.addresses().stream().filter(a -> a.family() == f).limit(1).toList();
                List<IpAddress> wanted = nodePortIps.stream().filter(a -> a.family() == f).toList();
                if (!own.equals(wanted)) {
                    throw new IllegalStateException(name + ": only the node's primary address can be a NodePort address here");
                }
            }
            nodePortAddresses.add("primary");
        }
        Duration sync = Duration.ofSeconds(30);
        Duration minSync = Duration.ofSeconds(1);
        return new ProxyConfig("iptables",
                new ProxyConfig.ClientConnection("", "", "application/json", 5, 10), NODE,
                "0.0.0.0", "", "", clusterCidrs, mode, new ProxyConfig.DetectLocal(bridge, prefix),
                nodePortAddresses,
                new ProxyConfig.Iptables(masqueradeBit, masqueradeAll, localhostNodePorts, sync, minSync),
                new ProxyConfig.Ipvs("rr", List.of(), false, Duration.ZERO, Duration.ZERO,
                        Duration.ZERO, sync, Duration.ZERO),
                new ProxyConfig.Nftables(masqueradeBit, masqueradeAll, sync, minSync),
                new ProxyConfig.Conntrack(null, null, null, null, null, null),
                Duration.ofMinutes(15), -999, Map.of(), new ProxyConfig.Logging(0, "text"));
    }

    RenderSettings settings(Set<String> existingChains, List<JumpRule> missingJumps) {
        return settings(family, existingChains, missingJumps);
    }

    RenderSettings settings(IpFamily fam, Set<String> existingChains, List<JumpRule> missingJumps) {
        List<IpAddress> nodeIps = new ArrayList<>();
        for (IpAddress ip : node.addresses()) {
            if (ip.family() == fam) {
                nodeIps.add(ip);
            }
        }
        List<IpAddress> npIps = new ArrayList<>();
        for (IpAddress ip : nodePortIps) {
            if (ip.family() == fam) {
                npIps.add(ip);
            }
        }
        LocalDetector det = fam == IpFamily.IPV6 && detector6 != null ? detector6 : detector;
        return new RenderSettings(fam, masqueradeBit, masqueradeAll, det, nodePortAll, npIps,
                localhostNodePorts, nodeIps, largeThreshold, existingChains, missingJumps, true);
    }
}
