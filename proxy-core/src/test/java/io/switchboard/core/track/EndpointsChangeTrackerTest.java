package io.switchboard.core.track;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePortName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static io.switchboard.core.testing.Fixtures.nn;
import static io.switchboard.core.testing.Fixtures.slice;
import static io.switchboard.core.testing.Fixtures.spn;
import static org.assertj.core.api.Assertions.assertThat;

class EndpointsChangeTrackerTest {
    private final EndpointsChangeTracker tracker = new EndpointsChangeTracker();
    private final ServicePortName web = spn("ns/web", "p", Protocol.TCP);

    private List<String> addresses(ServicePortName spn) {
        return tracker.endpoints().getOrDefault(spn, List.of()).stream().map(Endpoint::address).toList();
    }

    @Test
    void mergesSeveralSlicesOfOneService() {
        tracker.upsert(slice("ns/web", "web-a", "10.0.0.2", "10.0.0.1"));
        tracker.upsert(slice("ns/web", "web-b", "10.0.0.3"));
        EndpointChanges c = tracker.checkout();
        assertThat(c.changed()).containsExactly(nn("ns/web"));
        assertThat(addresses(web)).containsExactly("10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080");
    }

    @Test
    void endpointsAreOrderedByTheirAddressTextAsKubeProxyOrdersThem() {
        tracker.upsert(slice("ns/web", "web-a", "10.244.8.1", "10.244.8.10", "10.244.8.2", "10.244.80.1"));
        tracker.checkout();
        // text order: '0' (0x30) sorts before ':' (0x3a), so .10 comes before .1
        assertThat(addresses(web)).containsExactly("10.244.8.10:8080", "10.244.8.1:8080", "10.244.8.2:8080",
                "10.244.80.1:8080");
    }

    @Test
    void duplicateEndpointAcrossSlicesAppearsOnceReadyWins() {
        EndpointSliceInfo notReady = new EndpointSliceInfo(nn("ns/web-a"), nn("ns/web"),
                io.switchboard.core.model.IpFamily.IPV4, List.of(new EndpointSliceInfo.Port("p", 8080, Protocol.TCP)),
                List.of(new EndpointSliceInfo.SliceEndpoint(IpAddress.parse("10.0.0.1"), false, false, false, "n1", "", Set.of(), Set.of())),
                null);
        tracker.upsert(notReady);
        tracker.upsert(slice("ns/web", "web-b", "10.0.0.1"));
        tracker.checkout();
        List<Endpoint> eps = tracker.endpoints().get(web);
        assertThat(eps).hasSize(1);
        assertThat(eps.get(0).ready()).isTrue();
    }

    @Test
    void deletingOneSliceKeepsTheOthers() {
        tracker.upsert(slice("ns/web", "web-a", "10.0.0.1"));
        tracker.upsert(slice("ns/web", "web-b", "10.0.0.2"));
        tracker.checkout();
        tracker.delete(nn("ns/web-a"));
        assertThat(tracker.checkout().changed()).containsExactly(nn("ns/web"));
        assertThat(addresses(web)).containsExactly("10.0.0.2:8080");
        tracker.delete(nn("ns/web-b"));
        tracker.checkout();
        assertThat(tracker.endpoints()).doesNotContainKey(web);
    }

    @Test
    void selfRevertingSliceChangeIsDropped() {
        EndpointSliceInfo original = slice("ns/web", "web-a", "10.0.0.1");
        tracker.upsert(original);
        tracker.checkout();
        assertThat(tracker.upsert(slice("ns/web", "web-a", "10.0.0.9"))).isTrue();
        assertThat(tracker.upsert(original)).isFalse();
        assertThat(tracker.checkout().changed()).isEmpty();
    }

    @Test
    void sliceMovingBetweenServices() {
        tracker.upsert(slice("ns/web", "moving", "10.0.0.1"));
        tracker.checkout();
        tracker.upsert(slice("ns/api", "moving", "10.0.0.1"));
        EndpointChanges c = tracker.checkout();
        assertThat(c.changed()).containsExactlyInAnyOrder(nn("ns/web"), nn("ns/api"));
        assertThat(tracker.endpoints()).doesNotContainKey(web);
        assertThat(addresses(spn("ns/api", "p", Protocol.TCP))).containsExactly("10.0.0.1:8080");
    }

    @Test
    void staleUdpEndpointsAndNewlyActiveServices() {
        ServicePortName dns = spn("ns/dns", "p", Protocol.UDP);
        tracker.upsert(slice("ns/dns", "dns-a", 53, Protocol.UDP, "10.0.0.1", "10.0.0.2"));
        EndpointChanges first = tracker.checkout();
        assertThat(first.newlyActiveUdp()).containsExactly(dns);
        assertThat(first.staleUdpEndpoints()).isEmpty();

        tracker.upsert(slice("ns/dns", "dns-a", 53, Protocol.UDP, "10.0.0.2", "10.0.0.3"));
        EndpointChanges second = tracker.checkout();
        assertThat(second.staleUdpEndpoints()).extracting(s -> s.endpoint().address()).containsExactly("10.0.0.1:53");
        assertThat(second.newlyActiveUdp()).isEmpty();
    }

    @Test
    void tcpRemovalsAreNotConntrackWork() {
        tracker.upsert(slice("ns/web", "web-a", "10.0.0.1"));
        tracker.checkout();
        tracker.delete(nn("ns/web-a"));
        assertThat(tracker.checkout().staleUdpEndpoints()).isEmpty();
    }

    @Test
    void triggerTimesOfChangedServicesAreReported() {
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        EndpointSliceInfo s = slice("ns/web", "web-a", "10.0.0.1");
        tracker.upsert(new EndpointSliceInfo(s.name(), s.service(), s.addressType(), s.ports(), s.endpoints(), t));
        EndpointChanges c = tracker.checkout();
        assertThat(c.triggerTimes()).containsEntry(nn("ns/web"), List.of(t));
        assertThat(tracker.checkout().triggerTimes()).isEmpty();
    }

    /**
     * Seeded random sequences of slice upserts and deletes with checkouts in between: the tracked
     * endpoints always equal those computed from scratch from the last state of every slice.
     */
    @ParameterizedTest
    @ValueSource(longs = {7, 11, 2024, 99991})
    void randomSequencesConvergeToTheTruth(long seed) {
        Random r = new Random(seed);
        Map<String, EndpointSliceInfo> truth = new HashMap<>();
        String[] services = {"ns/a", "ns/b", "ns/c"};
        for (int step = 0; step < 400; step++) {
            String sliceName = "s" + r.nextInt(8);
            if (r.nextInt(4) == 0) {
                truth.remove(sliceName);
                tracker.delete(new NamespacedName("ns", sliceName));
            } else {
                String svc = services[r.nextInt(services.length)];
                int n = r.nextInt(4);
                String[] ips = new String[n];
                for (int i = 0; i < n; i++) {
                    ips[i] = "10.0." + r.nextInt(3) + "." + (1 + r.nextInt(5));
                }
                EndpointSliceInfo s = slice(svc, sliceName, 80, Protocol.UDP, ips);
                truth.put(sliceName, s);
                tracker.upsert(s);
            }
            if (r.nextInt(5) == 0) {
                tracker.checkout();
                assertThat(tracker.endpoints()).isEqualTo(expected(truth));
            }
        }
        tracker.checkout();
        assertThat(tracker.pendingCount()).isZero();
        assertThat(tracker.endpoints()).isEqualTo(expected(truth));
    }

    private static Map<ServicePortName, List<Endpoint>> expected(Map<String, EndpointSliceInfo> truth) {
        Map<ServicePortName, TreeSet<Endpoint>> out = new HashMap<>();
        for (EndpointSliceInfo s : truth.values()) {
            for (EndpointSliceInfo.Port p : s.ports()) {
                ServicePortName spn = new ServicePortName(s.service(), p.name(), p.protocol());
                for (EndpointSliceInfo.SliceEndpoint e : s.endpoints()) {
                    out.computeIfAbsent(spn, k -> new TreeSet<>()).add(e.at(p.port()));
                }
            }
        }
        Map<ServicePortName, List<Endpoint>> result = new HashMap<>();
        out.forEach((k, v) -> {
            if (!v.isEmpty()) {
                result.put(k, new ArrayList<>(v));
            }
        });
        // a service whose slices all exist but hold no endpoint keeps an empty list
        for (EndpointSliceInfo s : truth.values()) {
            for (EndpointSliceInfo.Port p : s.ports()) {
                result.putIfAbsent(new ServicePortName(s.service(), p.name(), p.protocol()), List.of());
            }
        }
        return result;
    }
}
