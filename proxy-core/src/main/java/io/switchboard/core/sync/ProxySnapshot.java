package io.switchboard.core.sync;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.topology.EndpointSelection;
import io.switchboard.core.topology.EndpointSelector;
import io.switchboard.core.track.EndpointChanges;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.util.SortedMaps;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The immutable desired state handed to a backend for one sync: every service port with its
 * endpoints already selected per IP family, the node, what changed since the last successful sync
 * and whether the backend must rewrite everything.
 *
 * @param services        all service ports, sorted
 * @param endpoints       all endpoints per service port (every family, not yet selected)
 * @param selections      per family, the selected endpoints of each service port of that family
 * @param node            the node the proxy runs on
 * @param changedServices services changed since the last successful sync (ignored when full)
 * @param fullSync        the backend must write its whole state, not only changed services
 * @param conntrack       stale UDP state to clean up after the rules are in place
 */
public record ProxySnapshot(SortedMap<ServicePortName, ServicePort> services,
                            SortedMap<ServicePortName, List<Endpoint>> endpoints,
                            Map<IpFamily, SortedMap<ServicePortName, EndpointSelection>> selections,
                            NodeInfo node,
                            Set<NamespacedName> changedServices,
                            boolean fullSync,
                            ConntrackWork conntrack) {

    public ProxySnapshot {
        // immutable copies; the trackers' array-backed maps are kept as they are
        services = SortedMaps.copyOf(services);
        endpoints = SortedMaps.copyOf(endpoints);
        selections = Map.copyOf(selections);
        changedServices = Set.copyOf(changedServices);
        conntrack = conntrack == null ? ConntrackWork.NONE : conntrack;
    }

    /**
     * Builds a snapshot and runs endpoint selection for every service port of every family given.
     */
    public static ProxySnapshot build(SortedMap<ServicePortName, ServicePort> services,
                                      SortedMap<ServicePortName, List<Endpoint>> endpoints,
                                      NodeInfo node, Set<IpFamily> families,
                                      Set<NamespacedName> changedServices, boolean fullSync,
                                      ConntrackWork conntrack) {
        return build(services, endpoints, node, families, changedServices, fullSync, conntrack, null);
    }

    /**
     * As {@link #build(SortedMap, SortedMap, NodeInfo, Set, Set, boolean, ConntrackWork)}, reusing
     * the endpoint selections of {@code previous} (the last snapshot a backend accepted; null: none)
     * for every service not in {@code changedServices}, unless this is a full sync or the node's name
     * or zone differ. A selection depends only on the service port, its endpoints, the node's name and
     * zone, and a service whose port or endpoints changed since {@code previous} is in
     * {@code changedServices}; so the result is the same as without reuse, and a partial sync at
     * 10,000 services no longer reselects (and allocates, for the collector to promote) every one.
     */
    public static ProxySnapshot build(SortedMap<ServicePortName, ServicePort> services,
                                      SortedMap<ServicePortName, List<Endpoint>> endpoints,
                                      NodeInfo node, Set<IpFamily> families,
                                      Set<NamespacedName> changedServices, boolean fullSync,
                                      ConntrackWork conntrack, ProxySnapshot previous) {
        Map<IpFamily, SortedMap<ServicePortName, EndpointSelection>> selections = new EnumMap<>(IpFamily.class);
        String zone = node.zone();
        boolean reuse = !fullSync && previous != null && previous.node().name().equals(node.name())
                && java.util.Objects.equals(previous.node().zone(), zone);
        for (IpFamily family : families) {
            // services are walked in order and the previous selections read with a cursor, so the
            // map is built without a tree search per service port (SortedMaps)
            List<ServicePortName> keys = new ArrayList<>(services.size());
            List<EndpointSelection> values = new ArrayList<>(services.size());
            SortedMaps.Cursor<ServicePortName, EndpointSelection> before = SortedMaps.cursor(reuse ? previous.selections(family) : null);
            for (Map.Entry<ServicePortName, ServicePort> e : services.entrySet()) {
                if (e.getValue().clusterIp(family).isEmpty()) {
                    continue;
                }
                if (reuse && !changedServices.contains(e.getKey().service())) {
                    EndpointSelection kept = before.get(e.getKey());
                    if (kept != null) {
                        keys.add(e.getKey());
                        values.add(kept);
                        continue;
                    }
                }
                List<Endpoint> all = endpoints.getOrDefault(e.getKey(), List.of());
                List<Endpoint> ofFamily = new ArrayList<>(all.size());
                for (Endpoint ep : all) {
                    if (ep.family() == family) {
                        ofFamily.add(ep);
                    }
                }
                keys.add(e.getKey());
                values.add(EndpointSelector.select(e.getValue(), ofFamily, node.name(), zone));
            }
            selections.put(family, SortedMaps.ofAscending(keys, values));
        }
        return new ProxySnapshot(services, endpoints, selections, node, changedServices, fullSync, conntrack);
    }

    /** Service ports that have a cluster IP of this family, with their selected endpoints. */
    public SortedMap<ServicePortName, EndpointSelection> selections(IpFamily family) {
        return selections.getOrDefault(family, Collections.emptySortedMap());
    }

    /** This snapshot as a full sync. */
    public ProxySnapshot asFull() {
        return fullSync ? this : new ProxySnapshot(services, endpoints, selections, node, changedServices, true, conntrack);
    }

    /** This snapshot with more services marked as changed. */
    public ProxySnapshot withChanged(Set<NamespacedName> more) {
        if (fullSync || changedServices.containsAll(more)) {
            return this;
        }
        Set<NamespacedName> all = new java.util.HashSet<>(changedServices);
        all.addAll(more);
        return new ProxySnapshot(services, endpoints, selections, node, all, false, conntrack);
    }

    /**
     * This snapshot without some service ports in one family: a backend leaves out ports whose
     * rules the kernel rejected, so that one bad port does not keep every other one from the kernel.
     */
    public ProxySnapshot without(IpFamily family, Set<ServicePortName> ports) {
        if (ports.isEmpty()) {
            return this;
        }
        TreeMap<ServicePortName, EndpointSelection> kept = new TreeMap<>(selections(family));
        kept.keySet().removeAll(ports);
        Map<IpFamily, SortedMap<ServicePortName, EndpointSelection>> all = new EnumMap<>(IpFamily.class);
        all.putAll(selections);
        all.put(family, Collections.unmodifiableSortedMap(kept));
        Set<NamespacedName> changed = new java.util.HashSet<>(changedServices);
        ports.forEach(p -> changed.add(p.service()));
        return new ProxySnapshot(services, endpoints, all, node, changed, fullSync, conntrack);
    }

    /** Whether this sync must (re)write the rules of a service. */
    public boolean mustWrite(NamespacedName service) {
        return fullSync || changedServices.contains(service);
    }

    /**
     * Stale UDP conntrack state to remove once the new rules are in place.
     *
     * @param staleEndpoints UDP endpoints that went away
     * @param newlyActive    UDP service ports that gained their first endpoint (entries for their
     *                       VIPs may hold a "no endpoint" verdict)
     * @param removedPorts   UDP service ports that went away or changed
     */
    public record ConntrackWork(List<EndpointChanges.StaleEndpoint> staleEndpoints, Set<ServicePortName> newlyActive,
                                List<ServicePort> removedPorts) {
        public static final ConntrackWork NONE = new ConntrackWork(List.of(), Set.of(), List.of());

        public ConntrackWork {
            staleEndpoints = List.copyOf(staleEndpoints);
            newlyActive = Set.copyOf(newlyActive);
            removedPorts = List.copyOf(removedPorts);
            for (ServicePort p : removedPorts) {
                if (p.protocol() != Protocol.UDP) {
                    throw new IllegalArgumentException("conntrack work for non-UDP port " + p.name());
                }
            }
        }

        public boolean isEmpty() {
            return staleEndpoints.isEmpty() && newlyActive.isEmpty() && removedPorts.isEmpty();
        }

        /** This work plus another's (work from a failed sync carried into the next). */
        public ConntrackWork plus(ConntrackWork other) {
            if (other.isEmpty()) {
                return this;
            }
            if (isEmpty()) {
                return other;
            }
            List<EndpointChanges.StaleEndpoint> s = new ArrayList<>(staleEndpoints);
            s.addAll(other.staleEndpoints);
            Set<ServicePortName> n = new java.util.HashSet<>(newlyActive);
            n.addAll(other.newlyActive);
            List<ServicePort> r = new ArrayList<>(removedPorts);
            r.addAll(other.removedPorts);
            return new ConntrackWork(s, n, r);
        }
    }
}
