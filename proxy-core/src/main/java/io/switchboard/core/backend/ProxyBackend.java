package io.switchboard.core.backend;

import io.switchboard.core.sync.ProxySnapshot;

import java.time.Duration;

/**
 * A data-path implementation. The sync loop calls {@link #sync} from one thread, never
 * concurrently. The SPI fits three very different shapes: a stateless renderer that rewrites text
 * (iptables), a reconciler that reads kernel state back and applies a diff (ipvs), and an owner of
 * long-lived listeners and connections that must drain on shutdown (userspace).
 */
public interface ProxyBackend extends AutoCloseable {

    /**
     * Makes the data path match the snapshot. On failure the previous data path must stay in place;
     * the caller retries with a full snapshot.
     *
     * @throws SyncException when the data path could not be updated
     */
    void sync(ProxySnapshot snapshot) throws SyncException;

    /**
     * What the data path holds beyond the kernel's rules (e.g. the userspace proxy's listeners and
     * their endpoints), for {@code /debug/services} and {@code switchboard explain}; JSON-ready maps
     * and lists. Empty when the kernel's rules say everything.
     */
    default java.util.Map<String, Object> debugState() {
        return java.util.Map.of();
    }

    /** Removes everything this mode (or kube-proxy in this mode) ever installed. */
    void cleanup() throws SyncException;

    /**
     * Stops the backend, giving open connections up to {@code grace} to finish. Rules stay in place
     * so that traffic keeps flowing while the proxy restarts.
     */
    default void shutdown(Duration grace) {
    }

    @Override
    default void close() {
        shutdown(Duration.ZERO);
    }
}
