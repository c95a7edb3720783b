package io.switchboard.core.model;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** A Service as the proxy sees it: its name and its ports (already validated). */
public record ServiceInfo(NamespacedName name, List<ServicePort> ports) {
    public ServiceInfo {
        if (name == null) {
            throw new IllegalArgumentException("service name must be set");
        }
        ports = List.copyOf(ports == null ? List.of() : ports);
        Set<ServicePortName> seen = new HashSet<>();
        for (ServicePort p : ports) {
            if (!p.name().service().equals(name)) {
                throw new IllegalArgumentException("port " + p.name() + " does not belong to service " + name);
            }
            if (!seen.add(p.name())) {
                throw new IllegalArgumentException(name + ": duplicate port " + p.name().port() + "/" + p.protocol());
            }
        }
    }
}
