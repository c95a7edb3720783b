package io.switchboard.backend.ipvs;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.topology.EndpointSelection;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The IPVS table a snapshot asks for, as kube-proxy's ipvs mode lays it out: one virtual server
 * per cluster IP, external IP and load-balancer IP and port (their addresses bound to
 * {@code kube-ipvs0}), one per node address and node port; real servers are the selected endpoints
 * (internal policy for the cluster IP, external policy for the rest), weight 1, masquerade. ClientIP
 * affinity makes a persistent service with the affinity timeout. Pure.
 */
public final class IpvsDesired {
    /** The IPVS table plus what the companion rules and ipsets need. */
    public record Result(IpvsState state, List<Entry> entries) {
    }

    /** Where a virtual server came from: the rules and ipsets are built from these. */
    public enum Kind { CLUSTER_IP, EXTERNAL_IP, LOAD_BALANCER, NODE_PORT }

    /** One virtual server's origin, its service port and endpoints. */
    public record Entry(Kind kind, VirtualServer.Key key, ServicePort service, List<Endpoint> endpoints) {
    }

    private IpvsDesired() {
    }

    static int protocol(Protocol p) {
        return switch (p) {
            case TCP -> VirtualServer.TCP;
            case UDP -> VirtualServer.UDP;
            case SCTP -> VirtualServer.SCTP;
        };
    }

    /**
     * @param scheduler     the configured scheduler (kube-proxy's default: rr)
     * @param nodeAddresses per family, the node addresses that take node ports
     */
    public static Result of(ProxySnapshot snapshot, Set<IpFamily> families, String scheduler,
                            Map<IpFamily, List<IpAddress>> nodeAddresses) {
        return of(snapshot, families, scheduler, nodeAddresses, null);
    }

    /** The same, for some services only ({@code only} null: all of them). */
    public static Result of(ProxySnapshot snapshot, Set<IpFamily> families, String scheduler,
                            Map<IpFamily, List<IpAddress>> nodeAddresses, Set<io.switchboard.core.model.NamespacedName> only) {
        SortedMap<VirtualServer.Key, VirtualServer> services = new TreeMap<>();
        Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> dests = new HashMap<>();
        Set<IpAddress> bound = new TreeSet<>();
        List<Entry> entries = new ArrayList<>();
        for (IpFamily family : new TreeSet<>(families)) {
            for (Map.Entry<ServicePortName, EndpointSelection> e : snapshot.selections(family).entrySet()) {
                if (only != null && !only.contains(e.getKey().service())) {
                    continue;
                }
                ServicePort svc = snapshot.services().get(e.getKey());
                if (svc == null) {
                    continue;
                }
                EndpointSelection sel = e.getValue();
                int proto = protocol(svc.protocol());
                boolean persistent = svc.sessionAffinity().clientIp();
                int timeout = persistent ? svc.sessionAffinity().timeoutSeconds() : 0;
                List<Endpoint> internal = svc.internalPolicyLocal() ? sel.localEndpoints() : sel.clusterEndpoints();
                List<Endpoint> external = svc.externalPolicyLocal() ? sel.localEndpoints() : sel.clusterEndpoints();
                IpAddress clusterIp = svc.clusterIp(family).orElse(null);
                if (clusterIp == null) {
                    continue;
                }
                add(services, dests, entries, Kind.CLUSTER_IP, new VirtualServer(clusterIp, proto, svc.port(), scheduler, persistent, timeout),
                        svc, internal);
                bound.add(clusterIp);
                for (IpAddress ip : svc.externalIps()) {
                    if (ip.family() == family) {
                        add(services, dests, entries, Kind.EXTERNAL_IP, new VirtualServer(ip, proto, svc.port(), scheduler, persistent, timeout),
                                svc, external);
                        bound.add(ip);
                    }
                }
                for (IpAddress ip : svc.loadBalancerIps()) {
                    if (ip.family() == family) {
                        add(services, dests, entries, Kind.LOAD_BALANCER, new VirtualServer(ip, proto, svc.port(), scheduler, persistent, timeout),
                                svc, external);
                        bound.add(ip);
                    }
                }
                if (svc.nodePort() != 0) {
                    for (IpAddress ip : nodeAddresses.getOrDefault(family, List.of())) {
                        add(services, dests, entries, Kind.NODE_PORT, new VirtualServer(ip, proto, svc.nodePort(), scheduler, persistent, timeout),
                                svc, external);
                    }
                }
            }
        }
        return new Result(new IpvsState(services, dests, bound), entries);
    }

    private static void add(SortedMap<VirtualServer.Key, VirtualServer> services,
                            Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> dests, List<Entry> entries,
                            Kind kind, VirtualServer vs, ServicePort svc, List<Endpoint> endpoints) {
        if (services.putIfAbsent(vs.key(), vs) != null) {
            // two service ports on one address and port (a user error the API allows): the first wins
            return;
        }
        SortedMap<RealServer.Key, RealServer> rs = new TreeMap<>();
        for (Endpoint ep : endpoints) {
            RealServer r = new RealServer(ep.ip(), ep.port(), 1);
            rs.put(r.key(), r);
        }
        dests.put(vs.key(), rs);
        entries.add(new Entry(kind, vs.key(), svc, List.copyOf(endpoints)));
    }
}
