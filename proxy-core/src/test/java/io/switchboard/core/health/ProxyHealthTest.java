package io.switchboard.core.health;

import io.switchboard.core.model.IpFamily;
import io.switchboard.core.testing.FakeClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class ProxyHealthTest {
    private final FakeClock clock = new FakeClock();
    private final ProxyHealth health = new ProxyHealth(clock, Duration.ofSeconds(60));

    @Test
    void healthyWhileNothingIsQueued() {
        assertThat(health.status().healthy()).isTrue();
        clock.advance(Duration.ofHours(1));
        assertThat(health.status().healthy()).isTrue();
    }

    @Test
    void oldestQueuedChangeCounts() {
        health.updated(IpFamily.IPV4);
        health.queued(IpFamily.IPV4);
        clock.advance(Duration.ofSeconds(40));
        health.queued(IpFamily.IPV4); // later changes do not restart the clock
        clock.advance(Duration.ofSeconds(20));
        assertThat(health.status().healthy()).isFalse();
        health.updated(IpFamily.IPV4);
        assertThat(health.status().healthy()).isTrue();
        assertThat(health.status().lastUpdated()).isEqualTo(clock.instant());
    }

    @Test
    void oneLateFamilyIsEnough() {
        health.updated(IpFamily.IPV4);
        health.updated(IpFamily.IPV6);
        health.queued(IpFamily.IPV6);
        clock.advance(Duration.ofSeconds(61));
        assertThat(health.status().healthy()).isFalse();
    }

    @Test
    void nodeEligibilityIsSeparate() {
        health.nodeEligible(false);
        assertThat(health.status().healthy()).isTrue();
        assertThat(health.status().nodeEligible()).isFalse();
    }
}
