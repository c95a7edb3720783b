package io.switchboard.core.track;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.ServicePortName;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a checkout of the endpoint tracker found.
 *
 * @param changed             services whose endpoints changed
 * @param staleUdpEndpoints   UDP endpoints that were usable and are gone (conntrack work)
 * @param newlyActiveUdp      UDP service ports that had no usable endpoint and now have one
 * @param triggerTimes        per changed service, the slices' last-change-trigger-times
 */
public record EndpointChanges(Set<NamespacedName> changed, List<StaleEndpoint> staleUdpEndpoints,
                              Set<ServicePortName> newlyActiveUdp, Map<NamespacedName, List<Instant>> triggerTimes) {
    public static final EndpointChanges NONE = new EndpointChanges(Set.of(), List.of(), Set.of(), Map.of());

    public EndpointChanges {
        changed = Set.copyOf(changed);
        staleUdpEndpoints = List.copyOf(staleUdpEndpoints);
        newlyActiveUdp = Set.copyOf(newlyActiveUdp);
        triggerTimes = Map.copyOf(triggerTimes);
    }

    /** An endpoint of a service port that went away. */
    public record StaleEndpoint(ServicePortName servicePort, Endpoint endpoint) {
    }
}
