package io.switchboard.core.topology;

import io.switchboard.core.model.Endpoint;

import java.util.List;

/**
 * The endpoints one service port may use on this node.
 *
 * @param clusterEndpoints  for traffic routed with the Cluster policy (empty if never used)
 * @param localEndpoints    for traffic routed with the Local policy (empty if never used)
 * @param allReachable      the union of both: every endpoint this node may send to
 * @param hasAnyEndpoints   whether any usable endpoint exists anywhere in the cluster (so "no
 *                          endpoints" means REJECT rather than "no local endpoints" DROP)
 */
public record EndpointSelection(List<Endpoint> clusterEndpoints, List<Endpoint> localEndpoints,
                                List<Endpoint> allReachable, boolean hasAnyEndpoints) {
    public static final EndpointSelection EMPTY = new EndpointSelection(List.of(), List.of(), List.of(), false);

    public EndpointSelection {
        clusterEndpoints = List.copyOf(clusterEndpoints);
        localEndpoints = List.copyOf(localEndpoints);
        allReachable = List.copyOf(allReachable);
    }
}
