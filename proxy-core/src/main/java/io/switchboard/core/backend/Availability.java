package io.switchboard.core.backend;

/** Whether a backend can run on this machine, and if not, why (shown to the operator at start). */
public record Availability(boolean available, String reason) {
    public static final Availability AVAILABLE = new Availability(true, "");

    public Availability {
        reason = reason == null ? "" : reason;
        if (!available && reason.isEmpty()) {
            throw new IllegalArgumentException("an unavailable backend must say why");
        }
    }

    public static Availability unavailable(String reason) {
        return new Availability(false, reason);
    }
}
