package io.switchboard.backend.iptables;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;

import java.util.List;
import java.util.Set;

/**
 * Everything besides the snapshot that shapes the rules of one IP family.
 *
 * @param family              the family rendered
 * @param masqueradeBit       fwmark bit for "needs SNAT" (0-31)
 * @param masqueradeAll       SNAT every packet sent to a cluster IP
 * @param localDetector       how pod traffic is recognised
 * @param nodePortAllAddresses NodePorts on every local address (else only on {@code nodePortIps})
 * @param nodePortIps         the node addresses that accept NodePorts when not all do
 * @param localhostNodePorts  IPv4 NodePorts also on 127.0.0.0/8 (needs route_localnet)
 * @param nodeIps             this node's addresses of the family (for firewall "allow from node")
 * @param largeClusterThreshold above this many endpoints, per-endpoint comments are dropped
 * @param existingNatChains   per-service nat chains present before this sync (stale ones are deleted)
 * @param missingJumps        jumps from built-in chains that must be inserted in this sync
 * @param deleteStale         delete stale chains ({@code -X}); otherwise they are only flushed, and
 *                            the next full sync (which reads them back) deletes them. With nf_tables a
 *                            chain deletion costs a scan of every rule, so partial syncs only flush.
 */
public record RenderSettings(IpFamily family, int masqueradeBit, boolean masqueradeAll, LocalDetector localDetector,
                             boolean nodePortAllAddresses, List<IpAddress> nodePortIps, boolean localhostNodePorts,
                             List<IpAddress> nodeIps, int largeClusterThreshold, Set<String> existingNatChains,
                             List<JumpRule> missingJumps, boolean deleteStale) {
    public RenderSettings {
        nodePortIps = List.copyOf(nodePortIps);
        nodeIps = List.copyOf(nodeIps);
        existingNatChains = Set.copyOf(existingNatChains);
        missingJumps = List.copyOf(missingJumps);
    }

    /** kube-proxy's threshold for large-cluster mode. */
    public static final int LARGE_CLUSTER_THRESHOLD = 1000;

    /** The mark value, e.g. {@code 0x4000} for bit 14. */
    public String mark() {
        return "0x" + Integer.toHexString(1 << masqueradeBit);
    }

    /** The loopback CIDR of the family. */
    public Cidr loopback() {
        return Cidr.parse(family == IpFamily.IPV4 ? "127.0.0.0/8" : "::1/128");
    }
}
