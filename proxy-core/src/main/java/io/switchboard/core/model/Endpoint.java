package io.switchboard.core.model;

import java.util.Set;

/**
 * One endpoint of one service port.
 *
 * @param ip          the endpoint address
 * @param port        the endpoint (target) port
 * @param ready       {@code conditions.ready}
 * @param serving     {@code conditions.serving}
 * @param terminating {@code conditions.terminating}
 * @param nodeName    the node it runs on, or empty
 * @param zone        its zone, or empty
 * @param zoneHints   {@code hints.forZones}
 * @param nodeHints   {@code hints.forNodes}
 */
public record Endpoint(IpAddress ip, int port, boolean ready, boolean serving, boolean terminating,
                       String nodeName, String zone, Set<String> zoneHints, Set<String> nodeHints)
        implements Comparable<Endpoint> {

    public Endpoint {
        if (ip == null) {
            throw new IllegalArgumentException("endpoint without an IP");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("endpoint port " + port + " out of range 1-65535");
        }
        nodeName = nodeName == null ? "" : nodeName;
        zone = zone == null ? "" : zone;
        zoneHints = Set.copyOf(zoneHints == null ? Set.of() : zoneHints);
        nodeHints = Set.copyOf(nodeHints == null ? Set.of() : nodeHints);
    }

    /** A ready, serving, non-terminating endpoint with no topology: the common case in tests. */
    public static Endpoint ready(String ip, int port, String nodeName) {
        return new Endpoint(IpAddress.parse(ip), port, true, true, false, nodeName, "", Set.of(), Set.of());
    }

    public IpFamily family() {
        return ip.family();
    }

    /** Runs on the given node. */
    public boolean isLocal(String node) {
        return !nodeName.isEmpty() && nodeName.equals(node);
    }

    /** {@code ip:port} ({@code [ip]:port} for IPv6). */
    public String address() {
        return ip.withPort(port);
    }

    /**
     * kube-proxy's order: by the {@code "ip:port"} text ({@code 10.244.8.10:8080} before
     * {@code 10.244.8.1:8080}), so that the rules of both list endpoints identically.
     */
    @Override
    public int compareTo(Endpoint o) {
        return address().compareTo(o.address());
    }

    @Override
    public String toString() {
        return address();
    }
}
