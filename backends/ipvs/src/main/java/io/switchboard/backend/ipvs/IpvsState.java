package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpAddress;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An IPVS table with its real servers and the addresses bound to {@code kube-ipvs0}: what should
 * be (from {@link IpvsDesired}) or what the kernel holds (read back).
 *
 * @param services     virtual servers by key
 * @param destinations real servers of each virtual server, by key
 * @param bound        host addresses on the dummy link
 */
public record IpvsState(SortedMap<VirtualServer.Key, VirtualServer> services,
                        Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> destinations,
                        Set<IpAddress> bound) {
    public static final IpvsState EMPTY = new IpvsState(new TreeMap<>(), Map.of(), Set.of());

    public IpvsState {
        services = Collections.unmodifiableSortedMap(new TreeMap<>(services));
        TreeMap<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> d = new TreeMap<>();
        destinations.forEach((k, v) -> d.put(k, Collections.unmodifiableSortedMap(new TreeMap<>(v))));
        destinations = Collections.unmodifiableMap(d);
        bound = Collections.unmodifiableSet(new TreeSet<>(bound));
    }

    /** This state with the operations applied, as the kernel holds it once they succeeded. */
    public IpvsState apply(java.util.List<IpvsOp> ops) {
        TreeMap<VirtualServer.Key, VirtualServer> s = new TreeMap<>(services);
        Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> d = new java.util.HashMap<>(destinations);
        Set<IpAddress> b = new TreeSet<>(bound);
        applyTo(s, d, b, ops);
        return new IpvsState(s, d, b);
    }

    /**
     * Applies operations to mutable maps in place. A real-server map that changes is replaced by a
     * changed copy (the maps given may hold unmodifiable ones).
     */
    static void applyTo(Map<VirtualServer.Key, VirtualServer> s, Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> d,
                        Set<IpAddress> b, java.util.List<IpvsOp> ops) {
        for (IpvsOp op : ops) {
            if (op instanceof IpvsOp.Bind x) {
                b.add(x.address());
            } else if (op instanceof IpvsOp.Unbind x) {
                b.remove(x.address());
            } else if (op instanceof IpvsOp.AddService x) {
                s.put(x.service().key(), x.service());
                d.put(x.service().key(), new TreeMap<>());
            } else if (op instanceof IpvsOp.UpdateService x) {
                s.put(x.service().key(), x.service());
            } else if (op instanceof IpvsOp.DeleteService x) {
                s.remove(x.service());
                d.remove(x.service());
            } else if (op instanceof IpvsOp.AddDestination x) {
                put(d, x.service(), x.destination());
            } else if (op instanceof IpvsOp.UpdateDestination x) {
                put(d, x.service(), x.destination());
            } else if (op instanceof IpvsOp.DeleteDestination x) {
                SortedMap<RealServer.Key, RealServer> m = d.get(x.service());
                if (m != null) {
                    TreeMap<RealServer.Key, RealServer> t = new TreeMap<>(m);
                    t.remove(x.destination());
                    d.put(x.service(), t);
                }
            }
        }
    }

    private static void put(Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> d, VirtualServer.Key k, RealServer r) {
        SortedMap<RealServer.Key, RealServer> m = d.get(k);
        TreeMap<RealServer.Key, RealServer> t = m == null ? new TreeMap<>() : new TreeMap<>(m);
        t.put(r.key(), r);
        d.put(k, t);
    }

    /** The real servers of one virtual server (empty if none or unknown). */
    public SortedMap<RealServer.Key, RealServer> destinationsOf(VirtualServer.Key k) {
        return destinations.getOrDefault(k, Collections.emptySortedMap());
    }
}
