package io.switchboard.core.topology;

import io.switchboard.core.model.ServicePort;

/**
 * How one service port's traffic is routed on this node, given its selected endpoints: the
 * decisions every rule-writing mode makes the same way (kube-proxy's), computed once here.
 *
 * @param hasEndpoints    some usable endpoint exists anywhere (else: REJECT)
 * @param usesCluster     the Cluster-policy endpoint list is written (internal Cluster, or any external traffic)
 * @param usesLocal       the Local-policy endpoint list is written
 * @param hasInternal     internal (cluster IP) traffic has an endpoint to go to (else: DROP, or REJECT without any)
 * @param hasExternal     external traffic has an endpoint to go to
 * @param usesExternal    the port takes external traffic and has endpoints: the external chain is written
 */
public record Routing(boolean hasEndpoints, boolean usesCluster, boolean usesLocal, boolean hasInternal,
                      boolean hasExternal, boolean usesExternal) {

    public static Routing of(ServicePort svc, EndpointSelection sel) {
        boolean has = sel.hasAnyEndpoints();
        boolean anyLocal = !sel.localEndpoints().isEmpty();
        return new Routing(has,
                !sel.clusterEndpoints().isEmpty() && svc.usesClusterEndpoints(),
                anyLocal && svc.usesLocalEndpoints(),
                has && (!svc.internalPolicyLocal() || anyLocal),
                has && (!svc.externalPolicyLocal() || anyLocal),
                has && svc.externallyAccessible());
    }
}
