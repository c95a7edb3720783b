package io.switchboard.backend.ipvs;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpAddress;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;

/**
 * Desired state + kernel state → the ordered operations that make the kernel match. Pure.
 * <p>
 * Order: bind new addresses, add or change virtual servers, add or re-weight real servers, then
 * take away: a real server that is no longer wanted first gets weight 0 (no new connections, the
 * open ones go on: graceful termination) and is deleted once it has no connections or after the
 * grace timeout; unwanted virtual servers are deleted, then their addresses unbound.
 * <p>
 * Only what is ours is touched: a virtual server on an address bound to {@code kube-ipvs0}, or on a
 * node address with a port in the node-port range — never one whose address is in
 * {@code --ipvs-exclude-cidrs}. Whatever kube-proxy in ipvs mode created matches the same rule, so
 * a node that switches from kube-proxy is taken over without a flush.
 */
public final class IpvsPlanner {
    /** What may be touched. */
    public record Ownership(Set<IpAddress> nodeAddresses, int nodePortLow, int nodePortHigh, List<Cidr> excluded) {
        public static final int DEFAULT_LOW = 30000;
        public static final int DEFAULT_HIGH = 32767;

        boolean excluded(IpAddress a) {
            for (Cidr c : excluded) {
                if (c.contains(a)) {
                    return true;
                }
            }
            return false;
        }

        boolean owns(VirtualServer.Key k, Set<IpAddress> bound) {
            if (excluded(k.address())) {
                return false;
            }
            return bound.contains(k.address())
                    || (nodeAddresses.contains(k.address()) && k.port() >= nodePortLow && k.port() <= nodePortHigh);
        }
    }

    /** A real server being drained: since when. */
    public record Draining(VirtualServer.Key service, RealServer.Key destination) {
    }

    /** The operations, and the real servers still draining afterwards. */
    public record Plan(List<IpvsOp> ops, Map<Draining, Instant> draining) {
        public boolean isEmpty() {
            return ops.isEmpty();
        }
    }

    private IpvsPlanner() {
    }

    public static Plan plan(IpvsState desired, IpvsState current, Ownership own, Map<Draining, Instant> draining,
                            Instant now, Duration graceTimeout) {
        List<IpvsOp> binds = new ArrayList<>();
        List<IpvsOp> adds = new ArrayList<>();
        List<IpvsOp> takeaways = new ArrayList<>();
        List<IpvsOp> unbinds = new ArrayList<>();
        Map<Draining, Instant> stillDraining = new HashMap<>();

        for (IpAddress a : desired.bound()) {
            if (!current.bound().contains(a)) {
                binds.add(new IpvsOp.Bind(a));
            }
        }
        for (VirtualServer vs : desired.services().values()) {
            VirtualServer have = current.services().get(vs.key());
            if (have == null) {
                adds.add(new IpvsOp.AddService(vs));
            } else if (!have.equals(vs)) {
                adds.add(new IpvsOp.UpdateService(vs));
            }
            SortedMap<RealServer.Key, RealServer> want = desired.destinationsOf(vs.key());
            SortedMap<RealServer.Key, RealServer> got = have == null ? java.util.Collections.emptySortedMap() : current.destinationsOf(vs.key());
            for (RealServer rs : want.values()) {
                RealServer g = got.get(rs.key());
                if (g == null) {
                    adds.add(new IpvsOp.AddDestination(vs.key(), rs));
                } else if (g.weight() != rs.weight()) {
                    adds.add(new IpvsOp.UpdateDestination(vs.key(), rs));
                }
            }
            for (RealServer g : got.values()) {
                if (want.containsKey(g.key())) {
                    continue;
                }
                Draining d = new Draining(vs.key(), g.key());
                Instant since = draining.getOrDefault(d, now);
                // UDP has no connection to finish: as kube-proxy does, its real server goes at once and
                // IPVS moves its flows at their next packet (expire_nodest_conn)
                boolean drained = vs.protocol() == VirtualServer.UDP || g.activeConnections() + g.inactiveConnections() == 0;
                if (g.weight() != 0 && !drained) {
                    takeaways.add(new IpvsOp.UpdateDestination(vs.key(), new RealServer(g.address(), g.port(), 0)));
                    stillDraining.put(d, since);
                } else if (drained || !now.isBefore(since.plus(graceTimeout))) {
                    takeaways.add(new IpvsOp.DeleteDestination(vs.key(), g.key()));
                } else {
                    stillDraining.put(d, since);
                }
            }
        }
        for (VirtualServer have : current.services().values()) {
            if (!desired.services().containsKey(have.key()) && own.owns(have.key(), current.bound())) {
                takeaways.add(new IpvsOp.DeleteService(have.key()));
            }
        }
        for (IpAddress a : current.bound()) {
            if (!desired.bound().contains(a) && !own.excluded(a)) {
                unbinds.add(new IpvsOp.Unbind(a));
            }
        }
        List<IpvsOp> ops = new ArrayList<>(binds.size() + adds.size() + takeaways.size() + unbinds.size());
        ops.addAll(binds);
        ops.addAll(adds);
        ops.addAll(takeaways);
        ops.addAll(unbinds);
        return new Plan(List.copyOf(ops), Map.copyOf(stillDraining));
    }
}
