package io.switchboard.core.track;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.util.SortedMaps;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Accumulates EndpointSlice updates between syncs and merges the slices of each service into one
 * endpoint list per service port. Per slice it keeps the applied state and the newest pending one;
 * a pending state equal to the applied one is dropped. A slice whose service label changes is
 * removed from the old service and added to the new one. Thread-safe; updates are O(1) apart from
 * comparing the slice with its applied version.
 */
public final class EndpointsChangeTracker {
    private final Map<NamespacedName, Map<NamespacedName, EndpointSliceInfo>> applied = new HashMap<>();
    private final Map<NamespacedName, Map<NamespacedName, Optional<EndpointSliceInfo>>> pending = new HashMap<>();
    private final Map<NamespacedName, NamespacedName> owner = new HashMap<>();
    private final Map<NamespacedName, List<Instant>> triggerTimes = new HashMap<>();
    private final TreeMap<ServicePortName, List<Endpoint>> endpoints = new TreeMap<>();

    /**
     * Records the newest state of a slice.
     *
     * @return whether any change is pending afterwards
     */
    public synchronized boolean upsert(EndpointSliceInfo slice) {
        NamespacedName previousOwner = owner.put(slice.name(), slice.service());
        if (previousOwner != null && !previousOwner.equals(slice.service())) {
            stage(previousOwner, slice.name(), null);
        }
        stage(slice.service(), slice.name(), slice);
        if (slice.triggerTime() != null && pending.containsKey(slice.service())) {
            triggerTimes.computeIfAbsent(slice.service(), k -> new ArrayList<>()).add(slice.triggerTime());
        }
        return !pending.isEmpty();
    }

    /**
     * Records that a slice was deleted.
     *
     * @return whether any change is pending afterwards
     */
    public synchronized boolean delete(NamespacedName sliceName) {
        NamespacedName service = owner.remove(sliceName);
        if (service != null) {
            stage(service, sliceName, null);
        }
        return !pending.isEmpty();
    }

    private void stage(NamespacedName service, NamespacedName sliceName, EndpointSliceInfo slice) {
        EndpointSliceInfo appliedSlice = applied.getOrDefault(service, Map.of()).get(sliceName);
        if (Objects.equals(appliedSlice, slice)) {
            Map<NamespacedName, Optional<EndpointSliceInfo>> p = pending.get(service);
            if (p != null) {
                p.remove(sliceName);
                if (p.isEmpty()) {
                    pending.remove(service);
                    triggerTimes.remove(service);
                }
            }
            return;
        }
        pending.computeIfAbsent(service, k -> new HashMap<>()).put(sliceName, Optional.ofNullable(slice));
    }

    /** Number of services with a pending endpoint change. */
    public synchronized int pendingCount() {
        return pending.size();
    }

    /** Applies pending changes and reports what changed. */
    public synchronized EndpointChanges checkout() {
        if (pending.isEmpty()) {
            return EndpointChanges.NONE;
        }
        Set<NamespacedName> changed = new HashSet<>();
        List<EndpointChanges.StaleEndpoint> stale = new ArrayList<>();
        Set<ServicePortName> newlyActive = new HashSet<>();
        Map<NamespacedName, List<Instant>> times = new HashMap<>();
        for (Map.Entry<NamespacedName, Map<NamespacedName, Optional<EndpointSliceInfo>>> e : pending.entrySet()) {
            NamespacedName service = e.getKey();
            Map<NamespacedName, EndpointSliceInfo> before = applied.getOrDefault(service, Map.of());
            Map<NamespacedName, EndpointSliceInfo> after = new HashMap<>(before);
            e.getValue().forEach((slice, state) -> {
                if (state.isPresent()) {
                    after.put(slice, state.get());
                } else {
                    after.remove(slice);
                }
            });
            if (after.isEmpty()) {
                applied.remove(service);
            } else {
                applied.put(service, after);
            }
            Map<ServicePortName, List<Endpoint>> oldEps = expand(service, before);
            Map<ServicePortName, List<Endpoint>> newEps = expand(service, after);
            if (oldEps.equals(newEps)) {
                continue;
            }
            changed.add(service);
            List<Instant> t = triggerTimes.get(service);
            if (t != null) {
                times.put(service, List.copyOf(t));
            }
            oldEps.keySet().forEach(endpoints::remove);
            endpoints.putAll(newEps);
            for (Map.Entry<ServicePortName, List<Endpoint>> old : oldEps.entrySet()) {
                if (old.getKey().protocol() != Protocol.UDP) {
                    continue;
                }
                Set<String> stillServing = new HashSet<>();
                for (Endpoint ep : newEps.getOrDefault(old.getKey(), List.of())) {
                    if (usable(ep)) {
                        stillServing.add(ep.address());
                    }
                }
                for (Endpoint ep : old.getValue()) {
                    if (usable(ep) && !stillServing.contains(ep.address())) {
                        stale.add(new EndpointChanges.StaleEndpoint(old.getKey(), ep));
                    }
                }
            }
            for (Map.Entry<ServicePortName, List<Endpoint>> now : newEps.entrySet()) {
                if (now.getKey().protocol() == Protocol.UDP
                        && now.getValue().stream().anyMatch(EndpointsChangeTracker::usable)
                        && oldEps.getOrDefault(now.getKey(), List.of()).stream().noneMatch(EndpointsChangeTracker::usable)) {
                    newlyActive.add(now.getKey());
                }
            }
        }
        pending.clear();
        triggerTimes.clear();
        return new EndpointChanges(changed, stale, newlyActive, times);
    }

    private static boolean usable(Endpoint ep) {
        return ep.ready() || (ep.serving() && ep.terminating());
    }

    /** An immutable, sorted copy of the applied endpoints per service port. */
    public synchronized SortedMap<ServicePortName, List<Endpoint>> endpoints() {
        // an immutable array-backed copy: a fifth of a tree's memory, kept by the snapshot until the next sync
        return SortedMaps.copyOf(endpoints);
    }

    /**
     * Merges slices into endpoint lists: one list per service port name and protocol, each endpoint
     * once (a ready copy wins over a not-ready one), sorted by address.
     */
    static Map<ServicePortName, List<Endpoint>> expand(NamespacedName service,
                                                       Map<NamespacedName, EndpointSliceInfo> slices) {
        if (slices.isEmpty()) {
            return Map.of();
        }
        Map<ServicePortName, Map<String, Endpoint>> merged = new HashMap<>();
        List<NamespacedName> names = new ArrayList<>(slices.keySet());
        Collections.sort(names);
        for (NamespacedName sliceName : names) {
            EndpointSliceInfo slice = slices.get(sliceName);
            for (EndpointSliceInfo.Port port : slice.ports()) {
                ServicePortName spn = new ServicePortName(service, port.name(), port.protocol());
                Map<String, Endpoint> set = merged.computeIfAbsent(spn, k -> new LinkedHashMap<>());
                for (EndpointSliceInfo.SliceEndpoint se : slice.endpoints()) {
                    Endpoint ep = se.at(port.port());
                    set.merge(ep.address(), ep, (a, b) -> rank(b) > rank(a) ? b : a);
                }
            }
        }
        Map<ServicePortName, List<Endpoint>> out = new HashMap<>();
        merged.forEach((spn, set) -> {
            List<Endpoint> list = new ArrayList<>(set.values());
            Collections.sort(list);
            out.put(spn, List.copyOf(list));
        });
        return out;
    }

    private static int rank(Endpoint ep) {
        return (ep.ready() ? 2 : 0) + (ep.serving() ? 1 : 0);
    }
}
