package io.switchboard.core.model;

/**
 * {@code spec.trafficDistribution}. The EndpointSlice controller turns it into hints; the proxy
 * follows the hints (see {@code EndpointSelector}) and keeps the value for dumps and metrics.
 */
public enum TrafficDistribution {
    NONE, PREFER_CLOSE, PREFER_SAME_ZONE, PREFER_SAME_NODE;

    /** Parses the API's spelling; unknown values are treated as absent, as the API allows growth. */
    public static TrafficDistribution parse(String s) {
        if (s == null) {
            return NONE;
        }
        return switch (s) {
            case "PreferClose" -> PREFER_CLOSE;
            case "PreferSameZone" -> PREFER_SAME_ZONE;
            case "PreferSameNode" -> PREFER_SAME_NODE;
            default -> NONE;
        };
    }
}
