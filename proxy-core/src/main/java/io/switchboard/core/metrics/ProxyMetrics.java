package io.switchboard.core.metrics;

import io.switchboard.core.model.IpFamily;

/**
 * What the proxy reports. Implemented at the edge (Prometheus names in the app module); the core
 * and the backends only see this interface. Every method has a no-op default.
 */
public interface ProxyMetrics {
    ProxyMetrics NOOP = new ProxyMetrics() {
    };

    /** A sync finished (successfully or not) after {@code seconds}. */
    default void syncDuration(IpFamily family, boolean full, double seconds) {
    }

    /** What the last successful sync of a family sent to the kernel (restore input or transaction text). */
    default void syncInputBytes(IpFamily family, long bytes) {
    }

    /** Rules were last written at this wall-clock time. */
    default void lastSyncTimestamp(IpFamily family, double epochSeconds) {
    }

    /** A change was last queued at this wall-clock time. */
    default void lastQueuedTimestamp(IpFamily family, double epochSeconds) {
    }

    /** From an EndpointSlice's last-change-trigger-time to rules in the kernel. */
    default void networkProgrammingDuration(IpFamily family, double seconds) {
    }

    /**
     * From the oldest change a sync carried reaching the proxy (an informer event) to the end of that
     * sync: the proxy's own share of the network-programming latency, without the API server's.
     */
    default void changeToRulesDuration(IpFamily family, double seconds) {
    }

    default void serviceChange(int pending) {
    }

    default void endpointChange(int pending) {
    }

    /** An iptables-restore failed ({@code partial}: a partial one, which forces a full sync). */
    default void restoreFailure(IpFamily family, boolean partial) {
    }

    /** Rule counts after a sync: {@code total} in the table, {@code last} written by that sync. */
    default void iptablesRules(IpFamily family, String table, int total, int last) {
    }

    /** Service ports that route with a Local policy and have no local endpoint. */
    default void noLocalEndpoints(IpFamily family, String trafficPolicy, int count) {
    }

    default void healthz(int code) {
    }

    default void livez(int code) {
    }

    default void conntrackDeleted(IpFamily family, int entries) {
    }

    /**
     * After a sync: service ports of a family left out because the kernel rejected their rules
     * ({@code newlyRejected} of them for the first time).
     */
    default void rejectedServicePorts(IpFamily family, int count, int newlyRejected) {
    }

    /**
     * One request to the API server, as client-go's REST client metrics count it.
     *
     * @param host          the API server's {@code host:port}
     * @param method        the HTTP method
     * @param code          the status code, or {@code <error>} when no response came
     * @param seconds       from sending to the response headers
     * @param requestBytes  the request body's size
     * @param responseBytes the response body's size, or -1 when unknown (streamed watches)
     */
    default void restClientRequest(String host, String method, String code, double seconds, long requestBytes,
                                   long responseBytes) {
    }

    /** Userspace mode: proxied connections (TCP) or sessions (UDP) opened (+1) or closed (-1). */
    default void userspaceConnections(String protocol, int delta) {
    }

    /** Userspace mode: bytes proxied, {@code direction} {@code to_endpoint} or {@code to_client}. */
    default void userspaceBytes(String direction, long bytes) {
    }

    /** Userspace mode: a connect to an endpoint failed; {@code retried} when another endpoint is tried next. */
    default void userspaceConnectFailure(boolean retried) {
    }

    /** A service port the mode cannot serve (e.g. SCTP in userspace mode) was skipped. */
    default void skippedServicePort(String protocol) {
    }

    /** An API object was malformed and skipped ({@code kind}: Service, EndpointSlice, Node). */
    default void malformedObject(String kind) {
    }
}
