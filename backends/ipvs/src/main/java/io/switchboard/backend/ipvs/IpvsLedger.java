package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the last sync wanted, service by service, so that a sync between full ones plans only the
 * services that changed: their virtual servers and real servers, the addresses they bind (counted,
 * as an external or load-balancer IP can be shared by services) and the ipset members they put in
 * (counted too: two services can share a member). Without it every sync rebuilt and diffed the
 * whole table and every set in memory, so a single endpoint change cost as much as the table was
 * large. Pure; not thread-safe (the sync loop owns it).
 */
final class IpvsLedger {
    /** One ipset member of one family. */
    record Member(IpFamily family, IpvsRules.Set set, String value) {
    }

    /**
     * What replacing some services changes.
     *
     * @param want      the desired table for {@code keys}: those still wanted, with their real servers;
     *                  bound = the {@code addresses} some service still uses
     * @param keys      every virtual server the changed services had or have now
     * @param addresses every bound address the changed services had or have now
     * @param ipsets    per family, the ipset restore input that moves the sets to the new members
     *                  (empty when no member changed)
     */
    record Change(IpvsState want, Set<VirtualServer.Key> keys, Set<IpAddress> addresses, Map<IpFamily, String> ipsets) {
    }

    private final Map<NamespacedName, List<IpvsDesired.Entry>> entries = new HashMap<>();
    private final Map<VirtualServer.Key, NamespacedName> owner = new HashMap<>();
    private final Map<VirtualServer.Key, VirtualServer> services = new HashMap<>();
    private final Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> destinations = new HashMap<>();
    private final Map<IpAddress, Integer> addressUses = new HashMap<>();
    private final Map<Member, Integer> memberUses = new HashMap<>();

    /** The ledger of a whole desired table (at a full sync). */
    static IpvsLedger of(IpvsDesired.Result all) {
        IpvsLedger l = new IpvsLedger();
        for (IpvsDesired.Entry e : all.entries()) {
            l.add(e, all.state());
        }
        return l;
    }

    static NamespacedName serviceOf(IpvsDesired.Entry e) {
        return e.service().name().service();
    }

    private void add(IpvsDesired.Entry e, IpvsState state) {
        NamespacedName svc = serviceOf(e);
        entries.computeIfAbsent(svc, k -> new ArrayList<>()).add(e);
        owner.put(e.key(), svc);
        services.put(e.key(), state.services().get(e.key()));
        destinations.put(e.key(), state.destinationsOf(e.key()));
        if (e.kind() != IpvsDesired.Kind.NODE_PORT) {
            addressUses.merge(e.key().address(), 1, Integer::sum);
        }
        IpvsRules.members(e, e.key().family(), (set, value) -> memberUses.merge(new Member(e.key().family(), set, value), 1, Integer::sum));
    }

    private void remove(IpvsDesired.Entry e) {
        owner.remove(e.key());
        services.remove(e.key());
        destinations.remove(e.key());
        if (e.kind() != IpvsDesired.Kind.NODE_PORT) {
            addressUses.computeIfPresent(e.key().address(), (a, n) -> n == 1 ? null : n - 1);
        }
        IpvsRules.members(e, e.key().family(), (set, value) -> memberUses.computeIfPresent(new Member(e.key().family(), set, value),
                (m, n) -> n == 1 ? null : n - 1));
    }

    /**
     * Replaces what some services want with {@code fresh} (the desired table computed for those
     * services alone). A virtual server that another, unchanged service already has stays that
     * service's (the full computation's "first one wins", with the earlier claim winning).
     */
    Change replace(Collection<NamespacedName> changed, IpvsDesired.Result fresh) {
        Set<VirtualServer.Key> keys = new HashSet<>();
        Set<IpAddress> addresses = new HashSet<>();
        Map<Member, Boolean> before = new HashMap<>();
        Set<NamespacedName> replaced = new HashSet<>(changed);
        for (NamespacedName svc : replaced) {
            for (IpvsDesired.Entry e : entries.getOrDefault(svc, List.of())) {
                touch(e, keys, addresses, before);
                remove(e);
            }
            entries.remove(svc);
        }
        for (IpvsDesired.Entry e : fresh.entries()) {
            NamespacedName svc = serviceOf(e);
            if (!replaced.contains(svc) || owner.containsKey(e.key())) {
                continue;
            }
            touch(e, keys, addresses, before);
            add(e, fresh.state());
        }
        IpvsState want = wanted(keys);
        Set<IpAddress> bound = new TreeSet<>();
        for (IpAddress a : addresses) {
            if (addressUses.containsKey(a)) {
                bound.add(a);
            }
        }
        return new Change(new IpvsState(want.services(), want.destinations(), bound), keys, addresses, ipsetDelta(before));
    }

    private void touch(IpvsDesired.Entry e, Set<VirtualServer.Key> keys, Set<IpAddress> addresses, Map<Member, Boolean> before) {
        keys.add(e.key());
        if (e.kind() != IpvsDesired.Kind.NODE_PORT) {
            addresses.add(e.key().address());
        }
        IpvsRules.members(e, e.key().family(), (set, value) -> {
            Member m = new Member(e.key().family(), set, value);
            before.putIfAbsent(m, memberUses.containsKey(m));
        });
    }

    /** The members whose presence changed, as ipset restore input per family: deletions, then additions. */
    private Map<IpFamily, String> ipsetDelta(Map<Member, Boolean> before) {
        Map<IpFamily, Map<IpvsRules.Set, SortedSet<String>>> gone = new EnumMap<>(IpFamily.class);
        Map<IpFamily, Map<IpvsRules.Set, SortedSet<String>>> come = new EnumMap<>(IpFamily.class);
        for (Map.Entry<Member, Boolean> e : before.entrySet()) {
            Member m = e.getKey();
            boolean now = memberUses.containsKey(m);
            if (now == e.getValue()) {
                continue;
            }
            (now ? come : gone).computeIfAbsent(m.family(), f -> new EnumMap<>(IpvsRules.Set.class))
                    .computeIfAbsent(m.set(), s -> new TreeSet<>()).add(m.value());
        }
        Map<IpFamily, String> out = new EnumMap<>(IpFamily.class);
        for (IpFamily f : IpFamily.values()) {
            out.put(f, IpvsRules.ipsetDelta(gone.getOrDefault(f, Map.of()), come.getOrDefault(f, Map.of()), f));
        }
        return out;
    }

    /** The desired virtual server and real servers of some keys (those that are wanted), with no address bound. */
    IpvsState wanted(Set<VirtualServer.Key> keys) {
        SortedMap<VirtualServer.Key, VirtualServer> want = new TreeMap<>();
        Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> dests = new HashMap<>();
        for (VirtualServer.Key k : keys) {
            VirtualServer vs = services.get(k);
            if (vs != null) {
                want.put(k, vs);
                dests.put(k, destinations.get(k));
            }
        }
        return new IpvsState(want, dests, Set.of());
    }

    /** Every member of every set of a family, as a full computation would give them (for tests and checks). */
    Map<IpvsRules.Set, java.util.SortedSet<String>> members(IpFamily family) {
        Map<IpvsRules.Set, java.util.SortedSet<String>> out = new EnumMap<>(IpvsRules.Set.class);
        for (IpvsRules.Set s : IpvsRules.Set.values()) {
            out.put(s, new TreeSet<>());
        }
        for (Member m : memberUses.keySet()) {
            if (m.family() == family) {
                out.get(m.set()).add(m.value());
            }
        }
        return out;
    }

    /** The whole desired table as the ledger holds it (for tests and checks). */
    IpvsState table() {
        return new IpvsState(new TreeMap<>(services), destinations, addressUses.keySet());
    }
}
