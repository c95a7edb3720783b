package io.switchboard.core.testing;

import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.backend.SyncException;
import io.switchboard.core.sync.ProxySnapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** A backend that records every snapshot and can be told to fail the next syncs. */
public final class RecordingBackend implements ProxyBackend {
    private final List<ProxySnapshot> snapshots = new ArrayList<>();
    private final AtomicInteger failNext = new AtomicInteger();
    private int cleanups;

    @Override
    public synchronized void sync(ProxySnapshot snapshot) throws SyncException {
        snapshots.add(snapshot);
        if (failNext.get() > 0) {
            failNext.decrementAndGet();
            throw new SyncException("injected failure");
        }
    }

    @Override
    public synchronized void cleanup() {
        cleanups++;
    }

    /** The next {@code n} syncs fail. */
    public void failNext(int n) {
        failNext.set(n);
    }

    public synchronized List<ProxySnapshot> snapshots() {
        return List.copyOf(snapshots);
    }

    public synchronized ProxySnapshot last() {
        return snapshots.isEmpty() ? null : snapshots.get(snapshots.size() - 1);
    }

    public synchronized int cleanups() {
        return cleanups;
    }
}
