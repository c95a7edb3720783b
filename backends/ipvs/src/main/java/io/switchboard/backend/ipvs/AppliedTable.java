package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpAddress;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The IPVS table as last applied, kept and changed in place between full syncs: an immutable copy
 * per sync cost as much as the table was large. The sync loop owns it.
 */
final class AppliedTable {
    private final Map<VirtualServer.Key, VirtualServer> services = new HashMap<>();
    private final Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> destinations = new HashMap<>();
    private final Set<IpAddress> bound = new HashSet<>();

    static AppliedTable of(IpvsState s) {
        AppliedTable t = new AppliedTable();
        t.services.putAll(s.services());
        t.destinations.putAll(s.destinations());
        t.bound.addAll(s.bound());
        return t;
    }

    /** Part of the table: the virtual servers of {@code keys} that exist, and those of {@code addresses} that are bound. */
    IpvsState slice(Set<VirtualServer.Key> keys, Set<IpAddress> addresses) {
        SortedMap<VirtualServer.Key, VirtualServer> s = new TreeMap<>();
        Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> d = new HashMap<>();
        for (VirtualServer.Key k : keys) {
            VirtualServer vs = services.get(k);
            if (vs != null) {
                s.put(k, vs);
                d.put(k, destinations.getOrDefault(k, new TreeMap<>()));
            }
        }
        Set<IpAddress> b = new HashSet<>();
        for (IpAddress a : addresses) {
            if (bound.contains(a)) {
                b.add(a);
            }
        }
        return new IpvsState(s, d, b);
    }

    /** Records operations that succeeded. */
    void apply(List<IpvsOp> ops) {
        IpvsState.applyTo(services, destinations, bound, ops);
    }

    /** The real servers of one virtual server as applied. */
    SortedMap<RealServer.Key, RealServer> destinationsOf(VirtualServer.Key k) {
        return destinations.getOrDefault(k, new TreeMap<>());
    }

    /** How many applied virtual servers are not in {@code kernel}, plus applied addresses not in {@code boundNow}. */
    int missingFrom(Set<VirtualServer.Key> kernel, Set<IpAddress> boundNow) {
        int n = 0;
        for (VirtualServer.Key k : services.keySet()) {
            if (!kernel.contains(k)) {
                n++;
            }
        }
        for (IpAddress a : bound) {
            if (!boundNow.contains(a)) {
                n++;
            }
        }
        return n;
    }

    int size() {
        return services.size();
    }

    int boundCount() {
        return bound.size();
    }
}
