package io.switchboard.core.model;

/**
 * One port of one Service: {@code namespace/name:port} plus its protocol. The unit every backend
 * programs; kube-proxy's chain names hash {@link #toString()} + the lower-case protocol.
 */
public record ServicePortName(NamespacedName service, String port, Protocol protocol)
        implements Comparable<ServicePortName> {
    public ServicePortName {
        if (service == null) {
            throw new IllegalArgumentException("service must be set");
        }
        port = port == null ? "" : port;
        if (protocol == null) {
            throw new IllegalArgumentException("protocol must be set");
        }
    }

    @Override
    public int compareTo(ServicePortName o) {
        // by service, port name, protocol; written out (no comparator chain): a sync compares
        // tens of thousands of these
        if (this == o) {
            return 0;
        }
        int c = service.compareTo(o.service);
        if (c != 0) {
            return c;
        }
        c = port.compareTo(o.port);
        return c != 0 ? c : protocol.compareTo(o.protocol);
    }

    /** {@code namespace/name} or {@code namespace/name:port} (the port part only when named). */
    @Override
    public String toString() {
        return port.isEmpty() ? service.toString() : service + ":" + port;
    }
}
