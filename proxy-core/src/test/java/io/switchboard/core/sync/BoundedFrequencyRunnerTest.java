package io.switchboard.core.sync;

import io.switchboard.core.testing.FakeClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BoundedFrequencyRunnerTest {
    private final FakeClock clock = new FakeClock();
    private final List<Instant> runs = new ArrayList<>();
    private final AtomicBoolean succeed = new AtomicBoolean(true);
    private final BoundedFrequencyRunner runner = new BoundedFrequencyRunner("test", () -> {
        runs.add(clock.instant());
        return succeed.get();
    }, Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(2), clock);

    @Test
    void nothingRunsUntilRequested() {
        assertThat(runner.step()).isNull();
        clock.advance(Duration.ofMinutes(5));
        assertThat(runner.step()).isNull();
        assertThat(runs).isEmpty();
    }

    @Test
    void requestsWhileNotReadyDoNotCountAndTheFirstReadyRequestRunsAtOnce() {
        AtomicBoolean ready = new AtomicBoolean(false);
        BoundedFrequencyRunner gated = new BoundedFrequencyRunner("gated", () -> {
            runs.add(clock.instant());
            return true;
        }, ready::get, Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(2), clock);
        gated.request();
        assertThat(gated.step()).isNull();
        clock.advance(Duration.ofMillis(100));
        ready.set(true);
        gated.request();
        // 100 ms after the first request, well inside minInterval: it runs now, not a second later
        assertThat(gated.step()).isEqualTo(clock.instant().plusSeconds(30));
        assertThat(runs).containsExactly(clock.instant());
        assertThat(gated.runs()).isEqualTo(1);
    }

    @Test
    void firstRequestRunsAtOnce() {
        runner.request();
        Instant next = runner.step();
        assertThat(runs).hasSize(1);
        assertThat(next).isEqualTo(clock.instant().plusSeconds(30));
    }

    @Test
    void burstsAreCoalescedAndMinIntervalHolds() {
        runner.request();
        runner.step();
        for (int i = 0; i < 10; i++) {
            runner.request();
            clock.advance(Duration.ofMillis(50));
            runner.step();
        }
        assertThat(runs).hasSize(1);
        clock.advance(Duration.ofMillis(500));
        runner.step();
        assertThat(runs).hasSize(2);
        assertThat(Duration.between(runs.get(0), runs.get(1))).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void pendingRequestReportsTheMinIntervalDeadline() {
        runner.request();
        runner.step();
        clock.advance(Duration.ofMillis(200));
        runner.request();
        assertThat(runner.step()).isEqualTo(runs.get(0).plusSeconds(1));
    }

    @Test
    void maxIntervalForcesARun() {
        runner.request();
        runner.step();
        clock.advance(Duration.ofSeconds(29));
        runner.step();
        assertThat(runs).hasSize(1);
        clock.advance(Duration.ofSeconds(1));
        runner.step();
        assertThat(runs).hasSize(2);
    }

    @Test
    void failureRetriesWithBackoffCappedAtMax() {
        succeed.set(false);
        runner.request();
        assertThat(runner.step()).isEqualTo(clock.instant().plusSeconds(2));
        clock.advance(Duration.ofSeconds(2));
        assertThat(runner.step()).isEqualTo(clock.instant().plusSeconds(4));
        clock.advance(Duration.ofSeconds(4));
        assertThat(runner.step()).isEqualTo(clock.instant().plusSeconds(8));
        clock.advance(Duration.ofSeconds(8));
        runner.step();
        clock.advance(Duration.ofSeconds(16));
        assertThat(runner.step()).isEqualTo(clock.instant().plusSeconds(30));
        assertThat(runs).hasSize(5);
        succeed.set(true);
        clock.advance(Duration.ofSeconds(30));
        assertThat(runner.step()).isEqualTo(clock.instant().plusSeconds(30));
        assertThat(runs).hasSize(6);
    }

    @Test
    void exceptionCountsAsFailure() {
        BoundedFrequencyRunner throwing = new BoundedFrequencyRunner("t", () -> {
            throw new IllegalStateException("boom");
        }, Duration.ZERO, Duration.ofSeconds(10), Duration.ofSeconds(1), clock);
        throwing.request();
        assertThat(throwing.step()).isEqualTo(clock.instant().plusSeconds(1));
    }

    @Test
    void rejectsBadIntervals() {
        assertThatThrownBy(() -> new BoundedFrequencyRunner("x", () -> true, Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofSeconds(1), clock)).hasMessageContaining("minInterval");
    }

    @Test
    void threadRunsOnRequestWithRealClock() throws Exception {
        List<Long> real = new ArrayList<>();
        BoundedFrequencyRunner r = new BoundedFrequencyRunner("real", () -> {
            synchronized (real) {
                real.add(System.nanoTime());
                real.notifyAll();
            }
            return true;
        }, Duration.ZERO, Duration.ofHours(1), Duration.ofSeconds(1), java.time.Clock.systemUTC());
        r.start();
        try {
            r.request();
            synchronized (real) {
                long deadline = System.currentTimeMillis() + 10_000;
                while (real.isEmpty() && System.currentTimeMillis() < deadline) {
                    real.wait(100);
                }
            }
            assertThat(real).hasSize(1);
            assertThat(r.runs()).isEqualTo(1);
        } finally {
            r.stop();
        }
    }
}
