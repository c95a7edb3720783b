package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpAddress;

/**
 * One real server (destination) of a virtual server. Forwarding is always masquerade (NAT), as
 * kube-proxy programs it. The connection counts are read back from the kernel (0 in desired state).
 */
public record RealServer(IpAddress address, int port, int weight, int activeConnections, int inactiveConnections) {
    public RealServer(IpAddress address, int port, int weight) {
        this(address, port, weight, 0, 0);
    }

    public Key key() {
        return new Key(address, port);
    }

    /** What identifies a real server within its virtual server. */
    public record Key(IpAddress address, int port) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int c = address.compareTo(o.address);
            return c != 0 ? c : Integer.compare(port, o.port);
        }

        @Override
        public String toString() {
            return address.withPort(port);
        }
    }
}
