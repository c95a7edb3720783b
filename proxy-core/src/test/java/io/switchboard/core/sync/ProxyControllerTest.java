package io.switchboard.core.sync;

import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.testing.FakeClock;
import io.switchboard.core.testing.RecordingBackend;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.switchboard.core.testing.Fixtures.nn;
import static io.switchboard.core.testing.Fixtures.service;
import static io.switchboard.core.testing.Fixtures.slice;
import static io.switchboard.core.testing.Fixtures.spn;
import static org.assertj.core.api.Assertions.assertThat;

class ProxyControllerTest {
    private final FakeClock clock = new FakeClock();
    private final RecordingBackend backend = new RecordingBackend();
    private final ProxyHealth health = new ProxyHealth(clock, Duration.ofSeconds(60));
    private final List<Double> latencies = new ArrayList<>();
    private final List<Double> proxyShares = new ArrayList<>();
    private final ProxyMetrics metrics = new ProxyMetrics() {
        @Override
        public void networkProgrammingDuration(IpFamily family, double seconds) {
            latencies.add(seconds);
        }

        @Override
        public void changeToRulesDuration(IpFamily family, double seconds) {
            proxyShares.add(seconds);
        }
    };
    private final ProxyController controller = new ProxyController(backend, Set.of(IpFamily.IPV4), "n1", metrics,
            health, clock, Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofHours(1));

    @Test
    void noSyncBeforeBothInformersSynced() {
        controller.onServiceUpsert(service("ns/a", "10.0.0.1", 80));
        controller.syncOnce();
        controller.onServicesSynced();
        controller.syncOnce();
        assertThat(backend.snapshots()).isEmpty();
        controller.onSlicesSynced();
        controller.syncOnce();
        assertThat(backend.snapshots()).hasSize(1);
        assertThat(backend.last().fullSync()).isTrue();
        assertThat(backend.last().services()).containsKey(spn("ns/a", "p", Protocol.TCP));
    }

    @Test
    void partialSyncCarriesOnlyChangedServices() {
        synced();
        controller.onServiceUpsert(service("ns/a", "10.0.0.1", 80));
        controller.onServiceUpsert(service("ns/b", "10.0.0.2", 80));
        controller.syncOnce();
        controller.onSliceUpsert(slice("ns/b", "b-1", "10.1.0.1"));
        controller.syncOnce();
        ProxySnapshot s = backend.last();
        assertThat(s.fullSync()).isFalse();
        assertThat(s.changedServices()).containsExactly(nn("ns/b"));
        assertThat(s.services()).hasSize(2);
        assertThat(s.selections(IpFamily.IPV4).get(spn("ns/b", "p", Protocol.TCP)).clusterEndpoints())
                .extracting(e -> e.address()).containsExactly("10.1.0.1:8080");
    }

    @Test
    void failedSyncForcesFullAndCarriesWork() {
        synced();
        controller.onServiceUpsert(service("ns/dns", "10.0.0.10", 53, Protocol.UDP));
        controller.onSliceUpsert(slice("ns/dns", "d-1", 53, Protocol.UDP, "10.1.0.1", "10.1.0.2"));
        controller.syncOnce();
        controller.onSliceUpsert(slice("ns/dns", "d-1", 53, Protocol.UDP, "10.1.0.2"));
        backend.failNext(1);
        assertThat(controller.syncOnce()).isFalse();
        assertThat(health.status().lastError()).contains("injected failure");
        assertThat(controller.syncOnce()).isTrue();
        ProxySnapshot retry = backend.last();
        assertThat(retry.fullSync()).isTrue();
        assertThat(retry.changedServices()).contains(nn("ns/dns"));
        assertThat(retry.conntrack().staleEndpoints()).extracting(e -> e.endpoint().address()).containsExactly("10.1.0.1:53");
        assertThat(health.status().lastError()).isEmpty();
        controller.syncOnce();
        assertThat(backend.last().conntrack().isEmpty()).isTrue();
        assertThat(backend.last().fullSync()).isFalse();
    }

    @Test
    void theAfterFullSyncActionRunsAfterEachAcceptedFullSyncOnly() {
        List<Boolean> seen = new ArrayList<>();
        controller.afterFullSync(() -> seen.add(backend.last().fullSync()));
        synced();
        controller.syncOnce();
        assertThat(seen).as("after the first (full) sync").containsExactly(true);
        controller.onServiceUpsert(service("ns/a", "10.0.0.1", 80));
        controller.syncOnce();
        assertThat(seen).as("not after a partial sync").hasSize(1);
        backend.failNext(1);
        controller.onServiceUpsert(service("ns/b", "10.0.0.2", 80));
        assertThat(controller.syncOnce()).isFalse();
        assertThat(seen).as("not after a failed sync").hasSize(1);
        controller.afterFullSync(() -> {
            seen.add(true);
            throw new IllegalStateException("injected");
        });
        assertThat(controller.syncOnce()).as("a failing action does not fail the (full) retry").isTrue();
        assertThat(seen).hasSize(2);
    }

    @Test
    void periodicFullSync() {
        synced();
        controller.syncOnce();
        clock.advance(Duration.ofMinutes(30));
        controller.syncOnce();
        assertThat(backend.last().fullSync()).isFalse();
        clock.advance(Duration.ofMinutes(31));
        controller.syncOnce();
        assertThat(backend.last().fullSync()).isTrue();
    }

    @Test
    void nodeTopologyChangeForcesFullSyncWithNewZone() {
        synced();
        controller.syncOnce();
        controller.onNode(new NodeInfo("n1", Map.of("topology.kubernetes.io/zone", "za"), List.of(), List.of(), true));
        controller.syncOnce();
        assertThat(backend.last().fullSync()).isTrue();
        assertThat(backend.last().node().zone()).isEqualTo("za");
        controller.onNode(new NodeInfo("n1", Map.of("topology.kubernetes.io/zone", "za", "other", "x"), List.of(), List.of(), true));
        controller.syncOnce();
        assertThat(backend.last().fullSync()).isFalse();
    }

    @Test
    void networkProgrammingLatencyFromTriggerTime() {
        synced();
        controller.onServiceUpsert(service("ns/a", "10.0.0.1", 80));
        var s = slice("ns/a", "a-1", "10.1.0.1");
        Instant trigger = clock.instant();
        controller.onSliceUpsert(new io.switchboard.core.model.EndpointSliceInfo(s.name(), s.service(), s.addressType(),
                s.ports(), s.endpoints(), trigger));
        clock.advance(Duration.ofMillis(1500));
        controller.syncOnce();
        assertThat(latencies).containsExactly(1.5);
    }

    @Test
    void theProxysShareCountsFromTheOldestArrivalToTheSyncsEndAndSurvivesAFailedSync() {
        synced();
        controller.syncOnce();
        assertThat(proxyShares).as("a sync with nothing waiting").isEmpty();
        // the change was made in the API 5 s ago; it reaches the proxy now
        var s = slice("ns/a", "a-1", "10.1.0.1");
        controller.onSliceUpsert(new io.switchboard.core.model.EndpointSliceInfo(s.name(), s.service(), s.addressType(),
                s.ports(), s.endpoints(), clock.instant().minusSeconds(5)));
        clock.advance(Duration.ofMillis(200));
        controller.onServiceUpsert(service("ns/b", "10.0.0.2", 80));
        clock.advance(Duration.ofMillis(100));
        backend.failNext(1);
        controller.syncOnce();
        assertThat(proxyShares).as("a failed sync put nothing in the kernel").isEmpty();
        clock.advance(Duration.ofMillis(400));
        controller.syncOnce();
        assertThat(proxyShares).as("from the first arrival, kept across the failed sync").containsExactly(0.7);
        controller.onServiceUpsert(service("ns/c", "10.0.0.3", 80));
        clock.advance(Duration.ofMillis(50));
        controller.syncOnce();
        assertThat(proxyShares).containsExactly(0.7, 0.05);
    }

    @Test
    void healthTurnsBadWhenQueuedChangeIsNotApplied() {
        synced();
        controller.syncOnce();
        controller.onServiceUpsert(service("ns/a", "10.0.0.1", 80));
        clock.advance(Duration.ofSeconds(59));
        assertThat(health.status().healthy()).isTrue();
        clock.advance(Duration.ofSeconds(1));
        assertThat(health.status().healthy()).isFalse();
        controller.syncOnce();
        assertThat(health.status().healthy()).isTrue();
    }

    private void synced() {
        controller.onServicesSynced();
        controller.onSlicesSynced();
    }
}
