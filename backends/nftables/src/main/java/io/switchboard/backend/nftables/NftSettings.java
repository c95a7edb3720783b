package io.switchboard.backend.nftables;

import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NodeInfo;

import java.util.List;

/**
 * Everything besides the snapshot that shapes one family's table.
 *
 * @param family        the family rendered
 * @param masqueradeBit fwmark bit for "needs SNAT" (0-31)
 * @param masqueradeAll SNAT every packet sent to a cluster IP
 * @param ifLocal       match for "comes from a pod" (empty when the detect-local mode has nothing to match)
 * @param ifNotLocal    its negation
 * @param nodePortAll   NodePorts on every local address (else only on {@code nodePortIps})
 * @param nodePortIps   the addresses that accept NodePorts when not all do
 * @param nodeIps       this node's addresses of the family (for "allow from node" in source ranges)
 */
public record NftSettings(IpFamily family, int masqueradeBit, boolean masqueradeAll, String ifLocal, String ifNotLocal,
                          boolean nodePortAll, List<IpAddress> nodePortIps, List<IpAddress> nodeIps) {
    public NftSettings {
        ifLocal = ifLocal == null ? "" : ifLocal;
        ifNotLocal = ifNotLocal == null ? "" : ifNotLocal;
        nodePortIps = List.copyOf(nodePortIps);
        nodeIps = List.copyOf(nodeIps);
    }

    /** The mark as kube-proxy prints it, e.g. {@code 0x00004000} for bit 14. */
    public String mark() {
        return String.format("0x%08x", 1 << masqueradeBit);
    }

    public boolean localDetectorImplemented() {
        return !ifLocal.isEmpty();
    }

    /** {@code ip} or {@code ip6}. */
    public String ip() {
        return NftNames.family(family);
    }

    /** The local-traffic detector of kube-proxy's detect-local modes, in nft syntax. */
    public static String[] detector(ProxyConfig config, IpFamily family, NodeInfo node) {
        String ip = NftNames.family(family);
        return switch (config.detectLocalMode()) {
            case CLUSTER_CIDR -> bySource(config.clusterCidrs(), family, ip);
            case NODE_CIDR -> bySource(node.podCidrs(), family, ip);
            case BRIDGE_INTERFACE -> byInterface(config.detectLocal().bridgeInterface());
            case INTERFACE_NAME_PREFIX -> byInterface(config.detectLocal().interfaceNamePrefix() + "*");
        };
    }

    private static String[] bySource(List<Cidr> cidrs, IpFamily family, String ip) {
        for (Cidr c : cidrs) {
            if (c.family() == family) {
                return new String[]{ip + " saddr " + c, ip + " saddr != " + c};
            }
        }
        return new String[]{"", ""};
    }

    private static String[] byInterface(String name) {
        return new String[]{"iifname \"" + name + "\"", "iifname != \"" + name + "\""};
    }
}
