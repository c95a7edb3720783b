package io.switchboard.netfilter;

import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NodeInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Which node addresses accept NodePort traffic ({@code nodePortAddresses}): every local address
 * when the list is empty, the node's primary address of the family for {@code primary}, else the
 * local addresses inside the listed CIDRs of the family. Shared by the modes that write rules.
 */
public final class NodePortAddresses {
    private static final Logger LOG = LoggerFactory.getLogger(NodePortAddresses.class);

    private NodePortAddresses() {
    }

    /** NodePorts answer on every local address of the family. */
    public static boolean all(ProxyConfig config) {
        return config.nodePortAddresses().isEmpty();
    }

    /** This node's addresses of one family, from the Node object (InternalIP first). */
    public static List<IpAddress> nodeIps(NodeInfo node, IpFamily family) {
        List<IpAddress> out = new ArrayList<>();
        for (IpAddress ip : node.addresses()) {
            if (ip.family() == family) {
                out.add(ip);
            }
        }
        return out;
    }

    /** The addresses that accept NodePorts when not all do (empty when {@link #all} holds), sorted. */
    public static List<IpAddress> selected(ProxyConfig config, NodeInfo node, IpFamily family) {
        List<IpAddress> out = new ArrayList<>();
        if (all(config)) {
            return out;
        }
        if (config.nodePortAddresses().contains("primary")) {
            List<IpAddress> nodeIps = nodeIps(node, family);
            if (!nodeIps.isEmpty()) {
                out.add(nodeIps.get(0));
            }
            return out;
        }
        List<Cidr> cidrs = new ArrayList<>();
        for (String c : config.nodePortAddresses()) {
            Cidr cidr = Cidr.parse(c);
            if (cidr.family() == family) {
                cidrs.add(cidr);
            }
        }
        for (IpAddress ip : localAddresses(family)) {
            if (cidrs.stream().anyMatch(c -> c.contains(ip))) {
                out.add(ip);
            }
        }
        Collections.sort(out);
        return out;
    }

    /** Every address of the family on this host's interfaces, link-local ones left out. */
    public static List<IpAddress> localAddresses(IpFamily family) {
        List<IpAddress> out = new ArrayList<>();
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    byte[] b = a.getAddress();
                    if ((b.length == 4) == (family == IpFamily.IPV4) && !a.isLinkLocalAddress()) {
                        out.add(IpAddress.of(b));
                    }
                }
            }
        } catch (SocketException e) {
            LOG.warn("cannot list local addresses: {}", e.getMessage());
        }
        return out;
    }
}
