package io.switchboard.core.model;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The node the proxy runs on.
 *
 * @param name      node name (hostname override or the host's name)
 * @param labels    the node's labels (the topology ones matter)
 * @param addresses the node's addresses (InternalIP first)
 * @param podCidrs  {@code spec.podCIDRs}, for detect-local mode NodeCIDR
 * @param eligible  false while the node is being deleted or tainted for deletion
 */
public record NodeInfo(String name, Map<String, String> labels, List<IpAddress> addresses, List<Cidr> podCidrs,
                       boolean eligible) {
    public static final String ZONE_LABEL = "topology.kubernetes.io/zone";
    /** Labels whose change changes endpoint selection. */
    public static final Set<String> TOPOLOGY_LABELS = Set.of(ZONE_LABEL);

    public NodeInfo {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("node name must be set");
        }
        labels = Map.copyOf(labels == null ? Map.of() : labels);
        addresses = List.copyOf(addresses == null ? List.of() : addresses);
        podCidrs = List.copyOf(podCidrs == null ? List.of() : podCidrs);
    }

    /** A node known only by name: no labels or addresses yet. */
    public static NodeInfo named(String name) {
        return new NodeInfo(name, Map.of(), List.of(), List.of(), true);
    }

    public String zone() {
        return labels.getOrDefault(ZONE_LABEL, "");
    }

    /** The topology-relevant labels only. */
    public Map<String, String> topologyLabels() {
        return labels.containsKey(ZONE_LABEL) ? Map.of(ZONE_LABEL, labels.get(ZONE_LABEL)) : Map.of();
    }
}
