package io.switchboard.app.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses and prints durations the way Go's {@code time.ParseDuration} / {@code String()} do. */
public final class GoDuration {
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");

    private GoDuration() {
    }

    /**
     * Parses {@code 30s}, {@code 1m30s}, {@code 1.5h}, {@code 500ms}, {@code 0}; a leading sign is
     * allowed (validation decides whether negative values make sense).
     */
    public static Duration parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("empty duration");
        }
        String s = text;
        boolean negative = false;
        if (s.charAt(0) == '-' || s.charAt(0) == '+') {
            negative = s.charAt(0) == '-';
            s = s.substring(1);
        }
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = PART.matcher(s);
        int pos = 0;
        double nanos = 0;
        while (pos < s.length()) {
            if (!m.find(pos) || m.start() != pos) {
                throw new IllegalArgumentException("invalid duration \"" + text + "\" (want e.g. 30s, 1m30s, 500ms)");
            }
            double value = Double.parseDouble(m.group(1));
            nanos += value * switch (m.group(2)) {
                case "ns" -> 1d;
                case "us", "µs" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                default -> 3600e9;
            };
            pos = m.end();
        }
        if (pos == 0) {
            throw new IllegalArgumentException("invalid duration \"" + text + "\"");
        }
        Duration d = Duration.ofNanos(Math.round(nanos));
        return negative ? d.negated() : d;
    }

    /** Prints like Go: {@code 30s}, {@code 1m0s}, {@code 1h0m0s}, {@code 500ms}, {@code 0s}. */
    public static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        String sign = d.isNegative() ? "-" : "";
        Duration a = d.abs();
        if (a.compareTo(Duration.ofSeconds(1)) < 0) {
            long n = a.toNanos();
            if (n % 1_000_000 == 0) {
                return sign + n / 1_000_000 + "ms";
            }
            if (n % 1000 == 0) {
                return sign + n / 1000 + "µs";
            }
            return sign + n + "ns";
        }
        long h = a.toHours();
        long m = a.toMinutesPart();
        long s = a.toSecondsPart();
        long frac = a.toNanosPart();
        String secs = frac == 0 ? Long.toString(s)
                : (s + "." + String.format("%09d", frac)).replaceAll("0+$", "");
        if (h > 0) {
            return sign + h + "h" + m + "m" + secs + "s";
        }
        if (m > 0) {
            return sign + m + "m" + secs + "s";
        }
        return sign + secs + "s";
    }
}
