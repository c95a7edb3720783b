package io.switchboard.netfilter;

/** The line a tool rejected, with two lines around it, for the log (restore input, nft transactions). */
public final class InputContext {
    private InputContext() {
    }

    /** @param line 1-based; 0 or less gives an empty string */
    public static String around(String input, int line) {
        if (line <= 0) {
            return "";
        }
        String[] lines = input.split("\n", -1);
        StringBuilder sb = new StringBuilder("\n");
        for (int i = Math.max(1, line - 2); i <= Math.min(lines.length, line + 2); i++) {
            sb.append(i == line ? ">> " : "   ").append(i).append(": ").append(lines[i - 1]).append('\n');
        }
        return sb.toString();
    }
}
