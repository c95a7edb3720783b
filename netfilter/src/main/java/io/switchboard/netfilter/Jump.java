package io.switchboard.netfilter;

/**
 * A jump from a built-in chain into one of a mode's own, as restore input writes it: inserted
 * first ({@code -I FROM 1}) or appended ({@code -A FROM}).
 */
public record Jump(String table, String from, String rule, boolean first) {
    /** The chain jumped to (the rule's last word). */
    public String target() {
        return rule.substring(rule.lastIndexOf(' ') + 1);
    }

    /** The restore line that adds it. */
    public String line() {
        return (first ? "-I " + from + " 1 " : "-A " + from + " ") + rule;
    }
}
