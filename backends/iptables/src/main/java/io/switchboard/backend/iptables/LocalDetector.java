package io.switchboard.backend.iptables;

import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NodeInfo;

import java.util.List;

/**
 * How rules tell pod traffic from other traffic (kube-proxy's detect-local modes): by source CIDR
 * (cluster CIDR or the node's pod CIDR), by bridge interface, or by interface name prefix.
 *
 * @param ifLocal    match arguments for "comes from a pod", empty when the mode has nothing to match on (e.g. no cluster CIDR)
 * @param ifNotLocal match arguments for "does not come from a pod"
 */
public record LocalDetector(List<String> ifLocal, List<String> ifNotLocal) {
    public static final LocalDetector NONE = new LocalDetector(List.of(), List.of());

    public boolean implemented() {
        return !ifLocal.isEmpty();
    }

    /** Builds the detector for a family from the configuration and the node. */
    public static LocalDetector of(ProxyConfig config, IpFamily family, NodeInfo node) {
        return switch (config.detectLocalMode()) {
            case CLUSTER_CIDR -> bySource(config.clusterCidrs(), family);
            case NODE_CIDR -> bySource(node.podCidrs(), family);
            case BRIDGE_INTERFACE -> byInterface(config.detectLocal().bridgeInterface());
            case INTERFACE_NAME_PREFIX -> byInterface(config.detectLocal().interfaceNamePrefix() + "+");
        };
    }

    private static LocalDetector bySource(List<Cidr> cidrs, IpFamily family) {
        for (Cidr c : cidrs) {
            if (c.family() == family) {
                return new LocalDetector(List.of("-s", c.toString()), List.of("!", "-s", c.toString()));
            }
        }
        return NONE;
    }

    private static LocalDetector byInterface(String name) {
        return new LocalDetector(List.of("-i", name), List.of("!", "-i", name));
    }
}
