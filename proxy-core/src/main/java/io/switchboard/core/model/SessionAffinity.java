package io.switchboard.core.model;

/** Session affinity of a service: none, or by client IP for {@code timeoutSeconds}. */
public record SessionAffinity(boolean clientIp, int timeoutSeconds) {
    /** kube-proxy's default ClientIP timeout: 3 hours. */
    public static final int DEFAULT_TIMEOUT_SECONDS = 10800;
    public static final SessionAffinity NONE = new SessionAffinity(false, 0);

    public SessionAffinity {
        if (clientIp && (timeoutSeconds <= 0 || timeoutSeconds > 86400)) {
            throw new IllegalArgumentException("session affinity timeout " + timeoutSeconds + " out of range 1-86400");
        }
        if (!clientIp) {
            timeoutSeconds = 0;
        }
    }

    public static SessionAffinity clientIp(int timeoutSeconds) {
        return new SessionAffinity(true, timeoutSeconds);
    }
}
