package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;

/**
 * One IPVS virtual server, as the kernel holds it.
 *
 * @param address        the virtual address (a cluster, external, load-balancer or node IP)
 * @param protocol       IP protocol number (6 TCP, 17 UDP, 132 SCTP)
 * @param port           the virtual port
 * @param scheduler      the scheduler's name (rr, wrr, lc, ...)
 * @param persistent     ClientIP affinity: a persistent service
 * @param timeoutSeconds the persistence timeout (0 unless persistent)
 */
public record VirtualServer(IpAddress address, int protocol, int port, String scheduler, boolean persistent,
                            int timeoutSeconds) {
    public static final int TCP = 6;
    public static final int UDP = 17;
    public static final int SCTP = 132;

    public VirtualServer {
        if (address == null || scheduler == null) {
            throw new IllegalArgumentException("virtual server needs an address and a scheduler");
        }
        if (!persistent) {
            timeoutSeconds = 0;
        }
    }

    public IpFamily family() {
        return address.family();
    }

    public Key key() {
        return new Key(address, protocol, port);
    }

    /** What identifies a virtual server in the kernel. */
    public record Key(IpAddress address, int protocol, int port) implements Comparable<Key> {
        public IpFamily family() {
            return address.family();
        }

        @Override
        public int compareTo(Key o) {
            int c = address.compareTo(o.address);
            if (c != 0) {
                return c;
            }
            c = Integer.compare(protocol, o.protocol);
            return c != 0 ? c : Integer.compare(port, o.port);
        }

        @Override
        public String toString() {
            return protocolName(protocol) + " " + address.withPort(port);
        }
    }

    static String protocolName(int protocol) {
        return switch (protocol) {
            case TCP -> "TCP";
            case UDP -> "UDP";
            case SCTP -> "SCTP";
            default -> "proto" + protocol;
        };
    }
}
