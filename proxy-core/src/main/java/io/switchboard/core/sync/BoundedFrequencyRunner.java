package io.switchboard.core.sync;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.BooleanSupplier;

/**
 * Runs a function on one thread, no more often than {@code minInterval}, at least every
 * {@code maxInterval}, and again after a failure with a backoff that starts at {@code retryInterval}
 * and doubles up to {@code maxInterval}. Requests arriving while a run is pending or too soon are
 * coalesced into one run.
 *
 * <p>The decision logic ({@link #step()}) is separate from the thread ({@link #start()}) so that
 * tests drive it with a fake clock and no sleeping.
 */
public final class BoundedFrequencyRunner {
    private static final Logger LOG = LoggerFactory.getLogger(BoundedFrequencyRunner.class);

    private final String name;
    private final BooleanSupplier fn;
    private final BooleanSupplier ready;
    private final Duration minInterval;
    private final Duration maxInterval;
    private final Duration retryInterval;
    private final Clock clock;

    private final Object lock = new Object();
    private Instant lastRun;
    private boolean requested;
    private boolean signalled;
    private Instant retryAt;
    private int failures;
    private long runs;
    private volatile boolean stopped;
    private Thread thread;

    /**
     * @param fn            the work; returns false on failure
     * @param minInterval   minimum time between two run starts
     * @param maxInterval   a run happens at least this often once one has happened
     * @param retryInterval first retry delay after a failure (never less than minInterval)
     */
    public BoundedFrequencyRunner(String name, BooleanSupplier fn, Duration minInterval, Duration maxInterval,
                                  Duration retryInterval, Clock clock) {
        this(name, fn, () -> true, minInterval, maxInterval, retryInterval, clock);
    }

    /**
     * @param ready whether a run can do anything yet; while it says no, requests wait and nothing
     *              counts as a run, so the first real run is not held back by the minimum interval
     */
    public BoundedFrequencyRunner(String name, BooleanSupplier fn, BooleanSupplier ready, Duration minInterval,
                                  Duration maxInterval, Duration retryInterval, Clock clock) {
        if (minInterval.isNegative() || maxInterval.compareTo(minInterval) < 0 || maxInterval.isZero()) {
            throw new IllegalArgumentException("need 0 <= minInterval <= maxInterval and maxInterval > 0, got "
                    + minInterval + " / " + maxInterval);
        }
        this.name = name;
        this.fn = fn;
        this.ready = ready;
        this.minInterval = minInterval;
        this.maxInterval = maxInterval;
        this.retryInterval = retryInterval.compareTo(minInterval) < 0 ? minInterval : retryInterval;
        this.clock = clock;
    }

    /** Asks for a run as soon as the minimum interval allows. Cheap; never blocks on a run. */
    public void request() {
        synchronized (lock) {
            requested = true;
            signalled = true;
            lock.notifyAll();
        }
    }

    /** Number of runs so far. */
    public long runs() {
        synchronized (lock) {
            return runs;
        }
    }

    /**
     * Runs the function if a run is due now and returns when the next step is due (null: only when
     * requested).
     */
    public Instant step() {
        Instant now = clock.instant();
        synchronized (lock) {
            if (!due(now)) {
                return nextDeadline(now);
            }
            if (!ready.getAsBoolean()) {
                // keep the request; the next request (e.g. "synced") wakes the loop again
                return null;
            }
            requested = false;
            retryAt = null;
            lastRun = now;
            runs++;
        }
        boolean ok;
        try {
            ok = fn.getAsBoolean();
        } catch (RuntimeException e) {
            LOG.error("runner {}: run threw", name, e);
            ok = false;
        }
        synchronized (lock) {
            if (ok) {
                failures = 0;
            } else {
                failures++;
                Duration backoff = retryInterval.multipliedBy(1L << Math.min(failures - 1, 20));
                if (backoff.compareTo(maxInterval) > 0) {
                    backoff = maxInterval;
                }
                retryAt = lastRun.plus(backoff);
                LOG.info("runner {}: run failed ({} in a row), retrying in {}", name, failures, backoff);
            }
            return nextDeadline(clock.instant());
        }
    }

    private boolean due(Instant now) {
        if (lastRun == null) {
            return requested;
        }
        if (requested && !now.isBefore(lastRun.plus(minInterval))) {
            return true;
        }
        if (retryAt != null && !now.isBefore(retryAt)) {
            return true;
        }
        return !now.isBefore(lastRun.plus(maxInterval));
    }

    private Instant nextDeadline(Instant now) {
        if (lastRun == null) {
            return requested ? now : null;
        }
        Instant next = lastRun.plus(maxInterval);
        if (requested) {
            Instant earliest = lastRun.plus(minInterval);
            next = min(next, earliest.isBefore(now) ? now : earliest);
        }
        if (retryAt != null) {
            next = min(next, retryAt);
        }
        return next;
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    /** Starts the runner thread. */
    public synchronized void start() {
        if (thread != null) {
            return;
        }
        thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Stops the runner thread, waiting for a run in progress to end. */
    public void stop() {
        stopped = true;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        synchronized (lock) {
            lock.notifyAll();
        }
        if (t != null) {
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void loop() {
        while (!stopped) {
            Instant deadline = step();
            synchronized (lock) {
                while (!stopped && !signalled) {
                    long waitMs;
                    if (deadline == null) {
                        waitMs = 0;
                    } else {
                        waitMs = Duration.between(clock.instant(), deadline).toMillis();
                        if (waitMs <= 0) {
                            break;
                        }
                    }
                    try {
                        lock.wait(waitMs);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    if (deadline != null && !clock.instant().isBefore(deadline)) {
                        break;
                    }
                }
                signalled = false;
            }
        }
    }
}
