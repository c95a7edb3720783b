package io.switchboard.netfilter.conntrack;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.topology.EndpointSelection;
import io.switchboard.core.track.EndpointChanges;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pure planner: which UDP conntrack entries are stale after a sync. UDP has no connection end, so
 * an entry keeps steering a client's packets to an endpoint that is gone (DNS breaks for minutes);
 * and packets sent while a service had no endpoint leave entries without DNAT that blackhole it
 * once endpoints appear.
 * <ul>
 *   <li>endpoint gone: entries to the service's VIPs:port (or its node port) answered by that endpoint;</li>
 *   <li>service gained its first endpoint (or the proxy started): entries to its VIPs:port and node port
 *       whose reply source is not one of its endpoints now;</li>
 *   <li>a UDP port went away: every entry to its VIPs:port and node port.</li>
 * </ul>
 */
public final class ConntrackPlanner {
    private ConntrackPlanner() {
    }

    public static List<Flow> plan(ProxySnapshot snapshot, IpFamily family, List<Flow> table) {
        ProxySnapshot.ConntrackWork work = snapshot.conntrack();
        if (work.isEmpty() || table.isEmpty()) {
            return List.of();
        }
        Map<ServicePortName, ServicePort> ports = new HashMap<>();
        for (ServicePort p : work.removedPorts()) {
            ports.put(p.name(), p);
        }
        ports.putAll(snapshot.services());
        Set<Flow> out = new LinkedHashSet<>();
        for (EndpointChanges.StaleEndpoint stale : work.staleEndpoints()) {
            ServicePort svc = ports.get(stale.servicePort());
            if (svc == null || stale.endpoint().family() != family || svc.protocol() != Protocol.UDP) {
                continue;
            }
            Set<IpAddress> vips = vips(svc, family);
            for (Flow f : table) {
                if (f.protocol() == Flow.UDP && f.replySrc().equals(stale.endpoint().ip())
                        && toService(f, svc, vips)) {
                    out.add(f);
                }
            }
        }
        // newly active (including every service at a restart): only entries that do not lead to a
        // serving endpoint now, i.e. those made while it had none (no DNAT) or to endpoints that went
        // while nobody watched; a live client's entry to a live endpoint stays (no restart flush)
        for (ServicePortName spn : work.newlyActive()) {
            ServicePort svc = ports.get(spn);
            if (svc == null || svc.protocol() != Protocol.UDP) {
                continue;
            }
            Set<IpAddress> live = new HashSet<>();
            EndpointSelection sel = snapshot.selections(family).get(spn);
            if (sel != null) {
                sel.allReachable().forEach(e -> live.add(e.ip()));
            }
            Set<IpAddress> vips = vips(svc, family);
            for (Flow f : table) {
                if (f.protocol() == Flow.UDP && toService(f, svc, vips) && !live.contains(f.replySrc())) {
                    out.add(f);
                }
            }
        }
        List<ServicePort> wholesale = new ArrayList<>(work.removedPorts());
        for (ServicePort svc : wholesale) {
            if (svc.protocol() != Protocol.UDP) {
                continue;
            }
            Set<IpAddress> vips = vips(svc, family);
            for (Flow f : table) {
                if (f.protocol() == Flow.UDP && toService(f, svc, vips)) {
                    out.add(f);
                }
            }
        }
        return new ArrayList<>(out);
    }

    private static boolean toService(Flow f, ServicePort svc, Set<IpAddress> vips) {
        return (vips.contains(f.origDst()) && f.origDport() == svc.port())
                || (svc.nodePort() != 0 && f.origDport() == svc.nodePort());
    }

    private static Set<IpAddress> vips(ServicePort svc, IpFamily family) {
        Set<IpAddress> vips = new HashSet<>();
        svc.clusterIp(family).ifPresent(vips::add);
        vips.addAll(svc.externalIps(family));
        vips.addAll(svc.loadBalancerIps(family));
        return vips;
    }
}
