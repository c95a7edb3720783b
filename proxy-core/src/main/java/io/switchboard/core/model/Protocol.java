package io.switchboard.core.model;

/** The transport protocols a Service port can use. */
public enum Protocol {
    TCP, UDP, SCTP;

    /** Lower-case name, as iptables and chain hashes spell it. */
    public String lower() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Parses the API's spelling ({@code TCP}, {@code UDP}, {@code SCTP}); an absent value means TCP. */
    public static Protocol parse(String s) {
        if (s == null || s.isEmpty()) {
            return TCP;
        }
        return switch (s) {
            case "TCP" -> TCP;
            case "UDP" -> UDP;
            case "SCTP" -> SCTP;
            default -> throw new IllegalArgumentException("unknown protocol \"" + s + "\"");
        };
    }
}
