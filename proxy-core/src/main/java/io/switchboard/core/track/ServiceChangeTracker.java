package io.switchboard.core.track;

import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.util.SortedMaps;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Accumulates service updates between syncs. Per service it remembers the state last handed to a
 * backend ("previous") and the newest state seen ("current"); an update that brings a service back
 * to its previous state cancels the pending change. Thread-safe; every update is O(size of the
 * service).
 */
public final class ServiceChangeTracker {
    private final Map<NamespacedName, ServiceInfo> applied = new HashMap<>();
    private final Map<NamespacedName, Optional<ServiceInfo>> pending = new HashMap<>();
    private final TreeMap<ServicePortName, ServicePort> ports = new TreeMap<>();

    /**
     * Records the newest state of a service.
     *
     * @param name    the service
     * @param current its new state, or null when it was deleted (or is no longer proxied)
     * @return whether any change is pending afterwards
     */
    public synchronized boolean update(NamespacedName name, ServiceInfo current) {
        if (current != null && !current.name().equals(name)) {
            throw new IllegalArgumentException("service " + current.name() + " recorded under " + name);
        }
        if (Objects.equals(applied.get(name), current)) {
            pending.remove(name);
        } else {
            pending.put(name, Optional.ofNullable(current));
        }
        return !pending.isEmpty();
    }

    /** Number of services with a pending change. */
    public synchronized int pendingCount() {
        return pending.size();
    }

    /** Applies all pending changes to the service-port map and reports what changed. */
    public synchronized ServiceChanges checkout() {
        if (pending.isEmpty()) {
            return ServiceChanges.NONE;
        }
        Set<NamespacedName> changed = new HashSet<>();
        List<ServicePort> removedUdp = new ArrayList<>();
        for (Map.Entry<NamespacedName, Optional<ServiceInfo>> e : pending.entrySet()) {
            NamespacedName name = e.getKey();
            ServiceInfo previous = applied.get(name);
            ServiceInfo current = e.getValue().orElse(null);
            changed.add(name);
            Map<ServicePortName, ServicePort> currentPorts = new HashMap<>();
            if (current != null) {
                for (ServicePort p : current.ports()) {
                    currentPorts.put(p.name(), p);
                }
            }
            if (previous != null) {
                for (ServicePort p : previous.ports()) {
                    ServicePort now = currentPorts.get(p.name());
                    if (p.protocol() == Protocol.UDP && !p.equals(now)) {
                        removedUdp.add(p);
                    }
                    ports.remove(p.name());
                }
            }
            ports.putAll(currentPorts);
            if (current == null) {
                applied.remove(name);
            } else {
                applied.put(name, current);
            }
        }
        pending.clear();
        return new ServiceChanges(changed, removedUdp);
    }

    /** An immutable, sorted copy of the applied service ports. */
    public synchronized SortedMap<ServicePortName, ServicePort> servicePorts() {
        // an immutable array-backed copy: a fifth of a tree's memory, kept by the snapshot until the next sync
        return SortedMaps.copyOf(ports);
    }
}
