package io.switchboard.core.topology;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.ServicePort;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The one endpoint-selection function every backend uses. Pure: same input, same output.
 *
 * <p>Rules (kube-proxy's): Ready endpoints first; if none are usable, fall back to endpoints that
 * are serving and terminating (separately for the Cluster and the Local set). Topology hints are
 * used only when every ready endpoint carries one: node hints first (if one names this node), else
 * zone hints (if one names this node's zone); otherwise hints are ignored. The Cluster set exists
 * only if some traffic uses the Cluster policy, the Local set only if some uses Local.
 */
public final class EndpointSelector {
    private EndpointSelector() {
    }

    private enum Mode { NONE, SAME_NODE, SAME_ZONE }

    /**
     * Selects endpoints for one service port.
     *
     * @param port      the service port
     * @param endpoints all its endpoints of one IP family
     * @param nodeName  this node's name
     * @param zone      this node's zone label, or empty
     */
    public static EndpointSelection select(ServicePort port, List<Endpoint> endpoints, String nodeName, String zone) {
        if (endpoints.isEmpty()) {
            return EndpointSelection.EMPTY;
        }
        List<Endpoint> cluster = List.of();
        List<Endpoint> local = List.of();
        boolean hasAny = false;
        Mode mode = Mode.NONE;
        boolean localUsesTerminating = false;

        if (port.usesClusterEndpoints()) {
            Mode m = topologyMode(endpoints, nodeName, zone);
            mode = m;
            cluster = filter(endpoints, ep -> ep.ready() && availableFor(ep, m, nodeName, zone));
            if (cluster.isEmpty()) {
                cluster = filter(endpoints, ep -> ep.serving() && ep.terminating());
            }
            hasAny = !cluster.isEmpty();
        }
        if (!port.usesLocalEndpoints()) {
            return new EndpointSelection(cluster, List.of(), cluster, hasAny);
        }

        boolean localReady = false;
        boolean localTerminating = false;
        for (Endpoint ep : endpoints) {
            if (ep.ready()) {
                hasAny = true;
                localReady |= ep.isLocal(nodeName);
            } else if (ep.serving() && ep.terminating()) {
                hasAny = true;
                localTerminating |= ep.isLocal(nodeName);
            }
        }
        if (localReady) {
            local = filter(endpoints, ep -> ep.isLocal(nodeName) && ep.ready());
        } else if (localTerminating) {
            localUsesTerminating = true;
            local = filter(endpoints, ep -> ep.isLocal(nodeName) && ep.serving() && ep.terminating());
        }
        if (!port.usesClusterEndpoints()) {
            return new EndpointSelection(List.of(), local, local, hasAny);
        }
        if (mode == Mode.NONE && !localUsesTerminating) {
            // cluster holds every ready endpoint, so it already contains every local one
            return new EndpointSelection(cluster, local, cluster, hasAny);
        }
        TreeSet<Endpoint> union = new TreeSet<>(cluster);
        union.addAll(local);
        return new EndpointSelection(cluster, local, new ArrayList<>(union), hasAny);
    }

    private static Mode topologyMode(List<Endpoint> endpoints, String nodeName, String zone) {
        boolean anyReady = false;
        boolean allNodeHints = true;
        boolean forThisNode = false;
        boolean allZoneHints = true;
        boolean forThisZone = false;
        for (Endpoint ep : endpoints) {
            if (!ep.ready()) {
                continue;
            }
            anyReady = true;
            if (ep.nodeHints().isEmpty()) {
                allNodeHints = false;
            } else if (ep.nodeHints().contains(nodeName)) {
                forThisNode = true;
            }
            if (ep.zoneHints().isEmpty()) {
                allZoneHints = false;
            } else if (ep.zoneHints().contains(zone)) {
                forThisZone = true;
            }
        }
        if (!anyReady) {
            return Mode.NONE;
        }
        if (allNodeHints && forThisNode) {
            return Mode.SAME_NODE;
        }
        if (allZoneHints && forThisZone && !zone.isEmpty()) {
            return Mode.SAME_ZONE;
        }
        return Mode.NONE;
    }

    private static boolean availableFor(Endpoint ep, Mode mode, String nodeName, String zone) {
        return switch (mode) {
            case NONE -> true;
            case SAME_NODE -> ep.nodeHints().contains(nodeName);
            case SAME_ZONE -> ep.zoneHints().contains(zone);
        };
    }

    private static List<Endpoint> filter(List<Endpoint> endpoints, Predicate<Endpoint> keep) {
        List<Endpoint> out = new ArrayList<>(endpoints.size());
        for (Endpoint ep : endpoints) {
            if (keep.test(ep)) {
                out.add(ep);
            }
        }
        return out;
    }
}
