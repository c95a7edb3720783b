package io.switchboard.core.sync;

import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.model.TrafficDistribution;
import io.switchboard.core.model.TrafficPolicy;
import io.switchboard.core.track.EndpointChanges;
import io.switchboard.core.track.EndpointsChangeTracker;
import io.switchboard.core.track.ServiceChangeTracker;
import io.switchboard.core.track.ServiceChanges;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Property: a snapshot that reuses the previous one's endpoint selections for unchanged services
 * selects exactly what one built from scratch does, over seeded random rounds of service and slice
 * changes (dual-stack, Local policies, PreferClose with zone hints, endpoints on this node and others, ready, serving and
 * terminating), with the node's zone changing now and then.
 */
class ProxySnapshotReuseTest {
    private static final Set<IpFamily> BOTH = Set.of(IpFamily.IPV4, IpFamily.IPV6);

    static LongStream seeds() {
        return LongStream.range(0, 20).map(i -> 20261202L + i);
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void reusedSelectionsEqualFreshOnes(long seed) {
        Random r = new Random(seed);
        ServiceChangeTracker services = new ServiceChangeTracker();
        EndpointsChangeTracker endpoints = new EndpointsChangeTracker();
        ProxySnapshot previous = null;
        NodeInfo node = node("za");
        int reused = 0;
        for (int round = 0; round < 30; round++) {
            int edits = 1 + r.nextInt(6);
            for (int e = 0; e < edits; e++) {
                int s = r.nextInt(25);
                switch (r.nextInt(5)) {
                    case 0 -> services.update(name(s), r.nextInt(8) == 0 ? null : service(s, r));
                    case 1 -> endpoints.delete(new NamespacedName("ns", "svc" + s + "-a"));
                    default -> endpoints.upsert(slice(s, r));
                }
            }
            if (r.nextInt(10) == 0) {
                node = node(r.nextBoolean() ? "za" : "zb");
            }
            ServiceChanges sc = services.checkout();
            EndpointChanges ec = endpoints.checkout();
            Set<NamespacedName> changed = new HashSet<>(sc.changed());
            changed.addAll(ec.changed());
            boolean full = round == 0 || r.nextInt(7) == 0;
            ProxySnapshot fresh = ProxySnapshot.build(services.servicePorts(), endpoints.endpoints(), node, BOTH, changed, full, null);
            ProxySnapshot reusing = ProxySnapshot.build(services.servicePorts(), endpoints.endpoints(), node, BOTH, changed, full, null,
                    previous);
            for (IpFamily f : BOTH) {
                assertThat(reusing.selections(f)).as("seed %d round %d %s", seed, round, f).isEqualTo(fresh.selections(f));
                if (previous != null && !full) {
                    for (var e : reusing.selections(f).entrySet()) {
                        if (e.getValue() == previous.selections(f).get(e.getKey())) {
                            reused++;
                        }
                    }
                }
            }
            previous = reusing;
        }
        assertThat(reused).as("selections reused (seed %d)", seed).isPositive();
    }

    private static NodeInfo node(String zone) {
        return new NodeInfo("n1", Map.of("topology.kubernetes.io/zone", zone), List.of(), List.of(), true);
    }

    private static NamespacedName name(int s) {
        return new NamespacedName("ns", "svc" + s);
    }

    private static ServiceInfo service(int s, Random r) {
        List<IpAddress> ips = new ArrayList<>(List.of(IpAddress.parse("10.96.0." + (s + 1))));
        if (r.nextBoolean()) {
            ips.add(IpAddress.parse("fd00::" + Integer.toHexString(s + 1)));
        }
        ServicePort.Builder b = ServicePort.builder(new ServicePortName(name(s), "p", Protocol.TCP)).clusterIps(ips)
                .port(80 + r.nextInt(2));
        if (r.nextInt(3) == 0) {
            b.internalPolicy(TrafficPolicy.LOCAL);
        } else if (r.nextInt(3) == 0) {
            b.trafficDistribution(TrafficDistribution.PREFER_CLOSE);
        }
        return new ServiceInfo(name(s), List.of(b.build()));
    }

    private static EndpointSliceInfo slice(int s, Random r) {
        boolean v6 = r.nextInt(3) == 0;
        List<EndpointSliceInfo.SliceEndpoint> eps = new ArrayList<>();
        int n = r.nextInt(5);
        for (int i = 0; i < n; i++) {
            String ip = v6 ? "fd00:244::" + Integer.toHexString(s * 16 + i + 1) : "10.244." + s + "." + (i + 1);
            boolean terminating = r.nextInt(4) == 0;
            eps.add(new EndpointSliceInfo.SliceEndpoint(IpAddress.parse(ip), !terminating, r.nextInt(5) != 0, terminating,
                    r.nextBoolean() ? "n1" : "n2", r.nextBoolean() ? "za" : "zb", r.nextBoolean() ? Set.of("za") : Set.of("zb"),
                    Set.of()));
        }
        return new EndpointSliceInfo(new NamespacedName("ns", "svc" + s + "-a"), name(s), v6 ? IpFamily.IPV6 : IpFamily.IPV4,
                List.of(new EndpointSliceInfo.Port("p", 8080 + r.nextInt(2), Protocol.TCP)), eps, null);
    }
}
