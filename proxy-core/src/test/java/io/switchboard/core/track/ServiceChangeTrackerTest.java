package io.switchboard.core.track;

import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServiceInfo;
import org.junit.jupiter.api.Test;

import static io.switchboard.core.testing.Fixtures.nn;
import static io.switchboard.core.testing.Fixtures.service;
import static io.switchboard.core.testing.Fixtures.spn;
import static org.assertj.core.api.Assertions.assertThat;

class ServiceChangeTrackerTest {
    private final ServiceChangeTracker tracker = new ServiceChangeTracker();

    @Test
    void addThenCheckout() {
        assertThat(tracker.update(nn("ns/a"), service("ns/a", "10.0.0.1", 80))).isTrue();
        assertThat(tracker.pendingCount()).isEqualTo(1);
        ServiceChanges c = tracker.checkout();
        assertThat(c.changed()).containsExactly(nn("ns/a"));
        assertThat(tracker.servicePorts()).containsOnlyKeys(spn("ns/a", "p", Protocol.TCP));
        assertThat(tracker.pendingCount()).isZero();
        assertThat(tracker.checkout()).isEqualTo(ServiceChanges.NONE);
    }

    @Test
    void keepsFirstPreviousAndLastCurrent() {
        tracker.update(nn("ns/a"), service("ns/a", "10.0.0.1", 80));
        tracker.checkout();
        tracker.update(nn("ns/a"), service("ns/a", "10.0.0.1", 81));
        tracker.update(nn("ns/a"), service("ns/a", "10.0.0.1", 82));
        ServiceChanges c = tracker.checkout();
        assertThat(c.changed()).containsExactly(nn("ns/a"));
        assertThat(tracker.servicePorts().get(spn("ns/a", "p", Protocol.TCP)).port()).isEqualTo(82);
    }

    @Test
    void selfRevertingChangeIsDropped() {
        ServiceInfo original = service("ns/a", "10.0.0.1", 80);
        tracker.update(nn("ns/a"), original);
        tracker.checkout();
        assertThat(tracker.update(nn("ns/a"), service("ns/a", "10.0.0.1", 81))).isTrue();
        assertThat(tracker.update(nn("ns/a"), original)).isFalse();
        assertThat(tracker.pendingCount()).isZero();
        assertThat(tracker.checkout().changed()).isEmpty();
    }

    @Test
    void addThenDeleteBeforeSyncIsNothing() {
        tracker.update(nn("ns/a"), service("ns/a", "10.0.0.1", 80));
        assertThat(tracker.update(nn("ns/a"), null)).isFalse();
        assertThat(tracker.checkout().changed()).isEmpty();
        assertThat(tracker.servicePorts()).isEmpty();
    }

    @Test
    void deletedUdpPortsAreReported() {
        tracker.update(nn("ns/dns"), service("ns/dns", "10.0.0.10", 53, Protocol.UDP));
        tracker.update(nn("ns/web"), service("ns/web", "10.0.0.11", 80, Protocol.TCP));
        tracker.checkout();
        tracker.update(nn("ns/dns"), null);
        tracker.update(nn("ns/web"), null);
        ServiceChanges c = tracker.checkout();
        assertThat(c.changed()).containsExactlyInAnyOrder(nn("ns/dns"), nn("ns/web"));
        assertThat(c.removedUdpPorts()).extracting(p -> p.name().toString()).containsExactly("ns/dns:p");
        assertThat(tracker.servicePorts()).isEmpty();
    }
}
