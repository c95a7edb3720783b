package io.switchboard.core.model;

import java.util.Comparator;

/**
 * One port of one Service: {@code namespace/name:port} plus its protocol. The unit every backend
 * programs; kube-proxy's chain names hash {@link #toString()} + the lower-case protocol.
 */
public record ServicePortName(NamespacedName service, String port, Protocol protocol)
        implements Comparable<ServicePortName> {
    private static final Comparator<ServicePortName> ORDER = Comparator
            .comparing(ServicePortName::service)
            .thenComparing(ServicePortName::port)
            .thenComparing(ServicePortName::protocol);

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
        return ORDER.compare(this, o);
    }

    /** {@code namespace/name} or {@code namespace/name:port} (the port part only when named). */
    @Override
    public String toString() {
        return port.isEmpty() ? service.toString() : service + ":" + port;
    }
}
