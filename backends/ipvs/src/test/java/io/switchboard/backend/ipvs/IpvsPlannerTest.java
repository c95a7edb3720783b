package io.switchboard.backend.ipvs;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpAddress;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

class IpvsPlannerTest {
    static final IpAddress VIP = IpAddress.parse("10.96.0.10");
    static final IpAddress NODE = IpAddress.parse("192.168.50.2");
    static final Instant T0 = Instant.parse("2026-12-02T00:00:00Z");
    static final Duration GRACE = Duration.ofSeconds(30);
    static final IpvsPlanner.Ownership OWN = new IpvsPlanner.Ownership(Set.of(NODE), 30000, 32767,
            List.of(Cidr.parse("10.200.0.0/16")));

    static VirtualServer vs(IpAddress ip, int port, String sched, int affinity) {
        return new VirtualServer(ip, VirtualServer.TCP, port, sched, affinity > 0, affinity);
    }

    static RealServer rs(String ip, int weight, int active, int inactive) {
        return new RealServer(IpAddress.parse(ip), 8080, weight, active, inactive);
    }

    /** A state from virtual servers each followed by its real servers. */
    static IpvsState state(Set<IpAddress> bound, Object... items) {
        SortedMap<VirtualServer.Key, VirtualServer> svcs = new TreeMap<>();
        Map<VirtualServer.Key, SortedMap<RealServer.Key, RealServer>> dests = new HashMap<>();
        VirtualServer last = null;
        for (Object o : items) {
            if (o instanceof VirtualServer v) {
                svcs.put(v.key(), v);
                dests.put(v.key(), new TreeMap<>());
                last = v;
            } else {
                RealServer r = (RealServer) o;
                dests.get(last.key()).put(r.key(), r);
            }
        }
        return new IpvsState(svcs, dests, bound);
    }

    static IpvsPlanner.Plan plan(IpvsState desired, IpvsState current) {
        return IpvsPlanner.plan(desired, current, OWN, Map.of(), T0, GRACE);
    }

    @Test
    void fromNothingAddressesAreBoundFirstThenServicesThenRealServers() {
        VirtualServer web = vs(VIP, 80, "rr", 0);
        VirtualServer np = vs(NODE, 30080, "rr", 0);
        IpvsState desired = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0), np, rs("10.244.1.5", 1, 0, 0));
        assertThat(plan(desired, IpvsState.EMPTY).ops()).containsExactly(
                new IpvsOp.Bind(VIP),
                new IpvsOp.AddService(web), new IpvsOp.AddDestination(web.key(), rs("10.244.1.5", 1, 0, 0)),
                new IpvsOp.AddService(np), new IpvsOp.AddDestination(np.key(), rs("10.244.1.5", 1, 0, 0)));
    }

    @Test
    void aRestartOverTheSameKernelStateChangesNothing() {
        VirtualServer web = vs(VIP, 80, "rr", 0);
        IpvsState desired = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0), rs("10.244.2.7", 1, 0, 0));
        // the kernel's read-back carries connection counts: they do not make a difference
        IpvsState kernel = state(Set.of(VIP), web, rs("10.244.1.5", 1, 3, 9), rs("10.244.2.7", 1, 0, 1));
        assertThat(plan(desired, kernel).ops()).isEmpty();
    }

    @Test
    void aSchedulerOrAffinityChangeUpdatesTheServiceInPlace() {
        VirtualServer rr = vs(VIP, 80, "rr", 0);
        VirtualServer lc = vs(VIP, 80, "lc", 0);
        VirtualServer sticky = vs(VIP, 80, "rr", 10800);
        IpvsState kernel = state(Set.of(VIP), rr, rs("10.244.1.5", 1, 2, 0));
        assertThat(plan(state(Set.of(VIP), lc, rs("10.244.1.5", 1, 0, 0)), kernel).ops())
                .containsExactly(new IpvsOp.UpdateService(lc));
        assertThat(plan(state(Set.of(VIP), sticky, rs("10.244.1.5", 1, 0, 0)), kernel).ops())
                .containsExactly(new IpvsOp.UpdateService(sticky));
        VirtualServer shorter = vs(VIP, 80, "rr", 60);
        assertThat(plan(state(Set.of(VIP), shorter, rs("10.244.1.5", 1, 0, 0)), state(Set.of(VIP), sticky, rs("10.244.1.5", 1, 0, 0))).ops())
                .containsExactly(new IpvsOp.UpdateService(shorter));
    }

    @Test
    void aRemovedEndpointDrainsAtWeightZeroAndGoesOnceIdleOrAfterTheGraceTimeout() {
        VirtualServer web = vs(VIP, 80, "rr", 0);
        IpvsState desired = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0));
        IpvsState busy = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0), rs("10.244.2.7", 1, 4, 0));
        IpvsPlanner.Plan first = plan(desired, busy);
        RealServer.Key gone = rs("10.244.2.7", 0, 0, 0).key();
        assertThat(first.ops()).containsExactly(new IpvsOp.UpdateDestination(web.key(), rs("10.244.2.7", 0, 0, 0)));
        IpvsPlanner.Draining d = new IpvsPlanner.Draining(web.key(), gone);
        assertThat(first.draining()).containsEntry(d, T0);

        // still busy at weight 0, within the timeout: nothing to do, still draining since T0
        IpvsState zero = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0), rs("10.244.2.7", 0, 2, 1));
        IpvsPlanner.Plan later = IpvsPlanner.plan(desired, zero, OWN, first.draining(), T0.plusSeconds(10), GRACE);
        assertThat(later.ops()).isEmpty();
        assertThat(later.draining()).containsEntry(d, T0);
        // the timeout ends it even with connections left
        IpvsPlanner.Plan expired = IpvsPlanner.plan(desired, zero, OWN, later.draining(), T0.plusSeconds(30), GRACE);
        assertThat(expired.ops()).containsExactly(new IpvsOp.DeleteDestination(web.key(), gone));
        assertThat(expired.draining()).isEmpty();
        // once idle it goes at once
        IpvsState idle = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0), rs("10.244.2.7", 0, 0, 0));
        assertThat(IpvsPlanner.plan(desired, idle, OWN, later.draining(), T0.plusSeconds(11), GRACE).ops())
                .containsExactly(new IpvsOp.DeleteDestination(web.key(), gone));
        // an idle endpoint is removed without the weight-0 step
        IpvsState idleAtOne = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0), rs("10.244.2.7", 1, 0, 0));
        assertThat(plan(desired, idleAtOne).ops()).containsExactly(new IpvsOp.DeleteDestination(web.key(), gone));
    }

    @Test
    void aUdpRealServerGoesAtOnceEvenWithFlows() {
        VirtualServer dns = new VirtualServer(VIP, VirtualServer.UDP, 53, "rr", false, 0);
        IpvsState desired = state(Set.of(VIP), dns, rs("10.244.1.5", 1, 0, 0));
        IpvsState kernel = state(Set.of(VIP), dns, rs("10.244.1.5", 1, 0, 3), rs("10.244.2.7", 1, 0, 5));
        assertThat(plan(desired, kernel).ops()).containsExactly(new IpvsOp.DeleteDestination(dns.key(), rs("10.244.2.7", 0, 0, 0).key()));
    }

    @Test
    void anEndpointThatComesBackWhileDrainingGetsItsWeightBack() {
        VirtualServer web = vs(VIP, 80, "rr", 0);
        IpvsState desired = state(Set.of(VIP), web, rs("10.244.2.7", 1, 0, 0));
        IpvsState draining = state(Set.of(VIP), web, rs("10.244.2.7", 0, 3, 0));
        assertThat(plan(desired, draining).ops()).containsExactly(new IpvsOp.UpdateDestination(web.key(), rs("10.244.2.7", 1, 0, 0)));
    }

    @Test
    void aRemovedServiceIsDeletedAndItsAddressUnboundLast() {
        VirtualServer web = vs(VIP, 80, "rr", 0);
        VirtualServer np = vs(NODE, 30080, "rr", 0);
        IpvsState kernel = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0), np, rs("10.244.1.5", 1, 0, 0));
        assertThat(plan(IpvsState.EMPTY, kernel).ops()).containsExactly(
                new IpvsOp.DeleteService(web.key()), new IpvsOp.DeleteService(np.key()), new IpvsOp.Unbind(VIP));
    }

    @Test
    void foreignAndExcludedVirtualServersAreLeftAlone() {
        // another load balancer's service on a node address outside the node-port range, one on an
        // address that is not ours, and one in --ipvs-exclude-cidrs (even though bound)
        VirtualServer foreignNode = vs(NODE, 80, "wlc", 0);
        VirtualServer foreign = vs(IpAddress.parse("172.16.0.9"), 443, "rr", 0);
        IpAddress excludedIp = IpAddress.parse("10.200.1.1");
        VirtualServer excluded = vs(excludedIp, 80, "rr", 0);
        IpvsState kernel = state(Set.of(excludedIp), foreignNode, rs("10.0.0.1", 1, 0, 0), foreign, excluded);
        assertThat(plan(IpvsState.EMPTY, kernel).ops()).isEmpty();
    }

    @Test
    void realServersOfAServiceAreReconciledOneByOne() {
        VirtualServer web = vs(VIP, 80, "rr", 0);
        IpvsState desired = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0), rs("10.244.3.3", 1, 0, 0));
        IpvsState kernel = state(Set.of(VIP), web, rs("10.244.1.5", 1, 0, 0), rs("10.244.2.7", 1, 0, 0));
        assertThat(plan(desired, kernel).ops()).containsExactly(
                new IpvsOp.AddDestination(web.key(), rs("10.244.3.3", 1, 0, 0)),
                new IpvsOp.DeleteDestination(web.key(), rs("10.244.2.7", 0, 0, 0).key()));
    }
}
