package io.switchboard.core.model;

import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * An EndpointSlice as the proxy sees it.
 *
 * @param name        the slice's own namespace/name
 * @param service     the service it belongs to (label {@code kubernetes.io/service-name})
 * @param addressType IPv4 or IPv6
 * @param ports       its ports
 * @param endpoints   its endpoints
 * @param triggerTime {@code endpoints.kubernetes.io/last-change-trigger-time}, or null
 */
public record EndpointSliceInfo(NamespacedName name, NamespacedName service, IpFamily addressType,
                                List<Port> ports, List<SliceEndpoint> endpoints, Instant triggerTime) {

    public EndpointSliceInfo {
        if (name == null || service == null || addressType == null) {
            throw new IllegalArgumentException("slice name, service and address type must be set");
        }
        if (!name.namespace().equals(service.namespace())) {
            throw new IllegalArgumentException("slice " + name + " points at service " + service + " in another namespace");
        }
        ports = List.copyOf(ports == null ? List.of() : ports);
        endpoints = List.copyOf(endpoints == null ? List.of() : endpoints);
        for (SliceEndpoint e : endpoints) {
            if (e.address().family() != addressType) {
                throw new IllegalArgumentException("slice " + name + " of type " + addressType.kubernetesName()
                        + " holds address " + e.address());
            }
        }
    }

    /** A slice port; kube-proxy ignores ports without a number. */
    public record Port(String name, int port, Protocol protocol) {
        public Port {
            name = name == null ? "" : name;
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("slice port " + port + " out of range 1-65535");
            }
            if (protocol == null) {
                throw new IllegalArgumentException("slice port protocol must be set");
            }
        }
    }

    /** A slice endpoint: kube-proxy uses its first address only. */
    public record SliceEndpoint(IpAddress address, boolean ready, boolean serving, boolean terminating,
                                String nodeName, String zone, Set<String> zoneHints, Set<String> nodeHints) {
        public SliceEndpoint {
            if (address == null) {
                throw new IllegalArgumentException("slice endpoint without an address");
            }
            nodeName = nodeName == null ? "" : nodeName;
            zone = zone == null ? "" : zone;
            zoneHints = Set.copyOf(zoneHints == null ? Set.of() : zoneHints);
            nodeHints = Set.copyOf(nodeHints == null ? Set.of() : nodeHints);
        }

        /** This address on one port. */
        public Endpoint at(int port) {
            return new Endpoint(address, port, ready, serving, terminating, nodeName, zone, zoneHints, nodeHints);
        }
    }
}
