package io.switchboard.core.health;

import io.switchboard.core.model.IpFamily;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;

/**
 * kube-proxy's health semantics. A family is unhealthy once a change has been queued and not
 * applied for {@code timeout} (kube-proxy uses 2 × syncPeriod). {@code /healthz} additionally fails
 * while the node is not eligible (being deleted, or tainted for deletion); {@code /livez} does not.
 */
public final class ProxyHealth {
    private final Clock clock;
    private final Duration timeout;
    private final Map<IpFamily, Instant> lastUpdated = new EnumMap<>(IpFamily.class);
    private final Map<IpFamily, Instant> oldestQueued = new EnumMap<>(IpFamily.class);
    private boolean nodeEligible = true;
    private String lastError = "";

    public ProxyHealth(Clock clock, Duration timeout) {
        this.clock = clock;
        this.timeout = timeout;
    }

    /** A change for this family was received and awaits a sync. */
    public synchronized void queued(IpFamily family) {
        oldestQueued.putIfAbsent(family, clock.instant());
    }

    /** The rules of this family now reflect every change queued so far. */
    public synchronized void updated(IpFamily family) {
        oldestQueued.remove(family);
        lastUpdated.put(family, clock.instant());
        lastError = "";
    }

    /** The last sync failed; shown on {@code /healthz} until a sync succeeds. */
    public synchronized void syncFailed(String message) {
        lastError = message == null ? "" : message;
    }

    public synchronized void nodeEligible(boolean eligible) {
        this.nodeEligible = eligible;
    }

    /** The state as the HTTP handlers report it. */
    public synchronized Status status() {
        Instant now = clock.instant();
        Instant latest = Instant.EPOCH;
        boolean healthy = true;
        for (Map.Entry<IpFamily, Instant> e : lastUpdated.entrySet()) {
            if (e.getValue().isAfter(latest)) {
                latest = e.getValue();
            }
        }
        for (Map.Entry<IpFamily, Instant> e : oldestQueued.entrySet()) {
            // a family that never synced is "starting up" in kube-proxy only if it has no queued
            // change; here a queued change starts the clock either way, so a proxy that never
            // manages its first sync turns unhealthy too.
            if (Duration.between(e.getValue(), now).compareTo(timeout) >= 0) {
                healthy = false;
            }
        }
        return new Status(healthy, nodeEligible, latest, now, lastError);
    }

    /**
     * @param healthy      no change has waited longer than the timeout
     * @param nodeEligible the node is not being deleted
     * @param lastUpdated  when rules were last brought up to date (epoch if never)
     * @param now          the current time
     * @param lastError    the last sync failure, if it has not been followed by a success
     */
    public record Status(boolean healthy, boolean nodeEligible, Instant lastUpdated, Instant now, String lastError) {
    }
}
