package io.switchboard.core.model;

/** External or internal traffic policy of a service. */
public enum TrafficPolicy {
    CLUSTER, LOCAL;

    /** Parses the API's spelling; absent means Cluster. */
    public static TrafficPolicy parse(String s) {
        if (s == null || s.isEmpty() || s.equals("Cluster")) {
            return CLUSTER;
        }
        if (s.equals("Local")) {
            return LOCAL;
        }
        throw new IllegalArgumentException("unknown traffic policy \"" + s + "\"");
    }
}
