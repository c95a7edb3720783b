package io.switchboard.backend.iptables;

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

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A golden scenario: services, slices and a node go in (through the real trackers), restore text
 * and traced flows come out.
 */
final class Scenario {
    static final String NODE = "node-1";
    static final String NODE_IP = "192.168.0.2";

    final String name;
    final ServiceChangeTracker services = new ServiceChangeTracker();
    final EndpointsChangeTracker endpoints = new EndpointsChangeTracker();
    NodeInfo node = new NodeInfo(NODE, Map.of("topology.kubernetes.io/zone", "za"),
            List.of(IpAddress.parse(NODE_IP)), List.of(Cidr.parse("10.0.1.0/24")), true);
    IpFamily family = IpFamily.IPV4;
    int masqueradeBit = 14;
    boolean masqueradeAll;
    LocalDetector detector = new LocalDetector(List.of("-s", "10.0.0.0/8"), List.of("!", "-s", "10.0.0.0/8"));
    boolean nodePortAll = true;
    List<IpAddress> nodePortIps = List.of();
    boolean localhostNodePorts = true;
    int largeThreshold = RenderSettings.LARGE_CLUSTER_THRESHOLD;
    final List<PacketTracer.Packet> flows = new ArrayList<>();

    Scenario(String name) {
        this.name = name;
    }

    @Override
    public String toString() {
        return name;
    }

    Scenario service(String nsName, Consumer<ServicePort.Builder>... ports) {
        NamespacedName nn = nn(nsName);
        List<ServicePort> list = new ArrayList<>();
        for (Consumer<ServicePort.Builder> c : ports) {
            ServicePort.Builder b = ServicePort.builder(null);
            c.accept(b);
            list.add(b.build());
        }
        services.update(nn, new ServiceInfo(nn, list));
        return this;
    }

    /** A service with one port named {@code port}. */
    Scenario svc(String nsName, String port, Protocol proto, int number, String clusterIp, Consumer<ServicePort.Builder> more) {
        NamespacedName nn = nn(nsName);
        ServicePort.Builder b = ServicePort.builder(new ServicePortName(nn, port, proto))
                .clusterIps(List.of(IpAddress.parse(clusterIp))).port(number);
        more.accept(b);
        services.update(nn, new ServiceInfo(nn, List.of(b.build())));
        return this;
    }

    /** Endpoints "ip" (ready, on another node), "ip@local" (ready, this node), "ip!term" (serving, terminating). */
    Scenario slice(String nsService, String port, Protocol proto, int target, String... eps) {
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

    /** A full snapshot of everything added so far. */
    ProxySnapshot fullSnapshot() {
        var sc = services.checkout();
        var ec = endpoints.checkout();
        Set<NamespacedName> changed = new HashSet<>(sc.changed());
        changed.addAll(ec.changed());
        return ProxySnapshot.build(services.servicePorts(), endpoints.endpoints(), node, Set.of(family), changed, true, null);
    }

    /** A partial snapshot with the changes since the last checkout. */
    ProxySnapshot partialSnapshot() {
        var sc = services.checkout();
        var ec = endpoints.checkout();
        Set<NamespacedName> changed = new HashSet<>(sc.changed());
        changed.addAll(ec.changed());
        return ProxySnapshot.build(services.servicePorts(), endpoints.endpoints(), node, Set.of(family), changed, false, null);
    }

    RenderSettings settings(Set<String> existingChains, List<JumpRule> missingJumps) {
        List<IpAddress> nodeIps = new ArrayList<>();
        for (IpAddress ip : node.addresses()) {
            if (ip.family() == family) {
                nodeIps.add(ip);
            }
        }
        return new RenderSettings(family, masqueradeBit, masqueradeAll, detector, nodePortAll, nodePortIps,
                localhostNodePorts, nodeIps, largeThreshold, existingChains, missingJumps, true);
    }
}
