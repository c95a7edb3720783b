package io.switchboard.core.track;

import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.ServicePort;

import java.util.List;
import java.util.Set;

/**
 * What a checkout of the service tracker found.
 *
 * @param changed          services whose ports changed, appeared or went away
 * @param removedUdpPorts  UDP ports that went away or changed (their conntrack entries are stale)
 */
public record ServiceChanges(Set<NamespacedName> changed, List<ServicePort> removedUdpPorts) {
    public static final ServiceChanges NONE = new ServiceChanges(Set.of(), List.of());

    public ServiceChanges {
        changed = Set.copyOf(changed);
        removedUdpPorts = List.copyOf(removedUdpPorts);
    }
}
