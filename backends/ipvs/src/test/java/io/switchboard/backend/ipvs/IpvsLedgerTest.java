package io.switchboard.backend.ipvs;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.model.SessionAffinity;
import io.switchboard.core.model.TrafficPolicy;
import io.switchboard.core.sync.ProxySnapshot;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A sync between full ones plans only the changed services (through the ledger); it must leave the
 * kernel exactly as planning the whole table would. Seeded-random clusters of dual-stack services
 * (shared external IPs, shared endpoints, node ports, load balancers with source ranges, health-check
 * ports, UDP, affinity) go through rounds of random changes; after each, the table the incremental
 * plan leaves, the ledger's ipset members and its ipset delta are compared with the full
 * computation's. The seed is in the test's name.
 */
class IpvsLedgerTest {
    private static final Set<IpFamily> BOTH = Set.of(IpFamily.IPV4, IpFamily.IPV6);
    private static final Map<IpFamily, List<IpAddress>> NODE = Map.of(IpFamily.IPV4, List.of(IpAddress.parse("192.168.0.2")),
            IpFamily.IPV6, List.of(IpAddress.parse("fd00::2")));
    private static final IpvsPlanner.Ownership OWN = new IpvsPlanner.Ownership(
            Set.of(IpAddress.parse("192.168.0.2"), IpAddress.parse("fd00::2")), 30000, 32767, List.of());

    static LongStream seeds() {
        return LongStream.range(0, 25).map(i -> 0x5eed0000L + i * 7919);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void incrementalPlansLeaveTheKernelAsFullPlansWould(long seed) {
        Random rnd = new Random(seed);
        TreeMap<ServicePortName, ServicePort> services = new TreeMap<>();
        TreeMap<ServicePortName, List<Endpoint>> endpoints = new TreeMap<>();
        int n = 5 + rnd.nextInt(25);
        for (int i = 0; i < n; i++) {
            put(services, endpoints, i, rnd, 0);
        }
        ProxySnapshot first = ProxySnapshot.build(services, endpoints, NodeInfo.named("node-1"), BOTH, Set.of(), true, null);
        IpvsDesired.Result full = IpvsDesired.of(first, BOTH, "rr", NODE);
        IpvsState kernel = IpvsState.EMPTY.apply(IpvsPlanner.plan(full.state(), IpvsState.EMPTY, OWN, Map.of(), Instant.EPOCH,
                Duration.ofMinutes(5)).ops());
        IpvsLedger ledger = IpvsLedger.of(full);
        for (int round = 1; round <= 12; round++) {
            Set<NamespacedName> changed = new HashSet<>();
            int changes = 1 + rnd.nextInt(4);
            for (int c = 0; c < changes; c++) {
                int i = rnd.nextInt(n + 3);
                ServicePortName name = name(i);
                if (rnd.nextInt(5) == 0 && services.containsKey(name)) {
                    services.remove(name);
                    endpoints.remove(name);
                } else {
                    put(services, endpoints, i, rnd, round);
                }
                changed.add(name.service());
                n = Math.max(n, i + 1);
            }
            String ctx = "seed " + seed + " round " + round + " changed " + changed;
            ProxySnapshot snap = ProxySnapshot.build(services, endpoints, NodeInfo.named("node-1"), BOTH, changed, false, null);
            Map<IpFamily, Map<IpvsRules.Set, java.util.SortedSet<String>>> before = Map.of(
                    IpFamily.IPV4, ledger.members(IpFamily.IPV4), IpFamily.IPV6, ledger.members(IpFamily.IPV6));

            IpvsLedger.Change change = ledger.replace(changed, IpvsDesired.of(snap, BOTH, "rr", NODE, changed));
            IpvsState slice = slice(kernel, change.keys(), change.addresses());
            IpvsState incremental = kernel.apply(IpvsPlanner.plan(change.want(), slice, OWN, Map.of(), Instant.EPOCH,
                    Duration.ofMinutes(5)).ops());

            IpvsDesired.Result all = IpvsDesired.of(snap, BOTH, "rr", NODE);
            IpvsState whole = kernel.apply(IpvsPlanner.plan(all.state(), kernel, OWN, Map.of(), Instant.EPOCH,
                    Duration.ofMinutes(5)).ops());

            assertThat(incremental.services()).as(ctx).isEqualTo(whole.services());
            assertThat(incremental.destinations()).as(ctx).isEqualTo(whole.destinations());
            assertThat(incremental.bound()).as(ctx).isEqualTo(whole.bound());
            assertThat(ledger.table().services()).as(ctx).isEqualTo(all.state().services());
            for (IpFamily f : BOTH) {
                Map<IpvsRules.Set, java.util.SortedSet<String>> now = IpvsRules.members(all.entries(), f);
                assertThat(ledger.members(f)).as(ctx + " " + f).isEqualTo(now);
                assertThat(change.ipsets().get(f)).as(ctx + " " + f).isEqualTo(IpvsRules.ipsetDelta(before.get(f), now, f));
            }
            kernel = whole;
        }
    }

    private static IpvsState slice(IpvsState kernel, Set<VirtualServer.Key> keys, Set<IpAddress> addresses) {
        AppliedTable t = AppliedTable.of(kernel);
        return t.slice(keys, addresses);
    }

    private static ServicePortName name(int i) {
        return new ServicePortName(new NamespacedName("ns" + (i % 3), "svc" + i), "p", i % 4 == 3 ? Protocol.UDP : Protocol.TCP);
    }

    /** Service i (its shape drawn at random), with random endpoints from a small shared pool. */
    private static void put(TreeMap<ServicePortName, ServicePort> services, TreeMap<ServicePortName, List<Endpoint>> endpoints,
                            int i, Random rnd, int round) {
        ServicePortName name = name(i);
        ServicePort.Builder b = ServicePort.builder(name)
                .clusterIps(List.of(IpAddress.parse("10.96.0." + (i + 1)), IpAddress.parse("fd00:96::" + Integer.toHexString(i + 1))))
                .port(80 + i);
        if (rnd.nextBoolean()) {
            b.nodePort(30000 + i);
        }
        if (rnd.nextInt(3) == 0) {
            // a few shared external IPs, each service on its own port
            b.externalIps(List.of(IpAddress.parse("192.168.99." + rnd.nextInt(3)), IpAddress.parse("fd00:99::" + rnd.nextInt(3))));
        }
        if (rnd.nextInt(3) == 0) {
            b.loadBalancerIps(List.of(IpAddress.parse("198.51.100." + rnd.nextInt(4))));
            if (rnd.nextBoolean()) {
                b.loadBalancerSourceRanges(List.of(Cidr.parse("203.0.113.0/25"), Cidr.parse("fd00:203::/64")));
            }
        }
        if (rnd.nextInt(4) == 0) {
            b.externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(31000 + i);
        }
        if (rnd.nextInt(4) == 0) {
            b.sessionAffinity(SessionAffinity.clientIp(60 + round));
        }
        services.put(name, b.build());
        List<Endpoint> eps = new ArrayList<>();
        int count = rnd.nextInt(5);
        for (int e = 0; e < count; e++) {
            int k = rnd.nextInt(8);
            String node = rnd.nextBoolean() ? "node-1" : "node-2";
            eps.add(new Endpoint(IpAddress.parse(rnd.nextBoolean() ? "10.244.0." + k : "fd00:244::" + k), 8080 + rnd.nextInt(2), true, true,
                    false, node, "", Set.of(), Set.of()));
        }
        endpoints.put(name, eps.stream().distinct().toList());
    }
}
