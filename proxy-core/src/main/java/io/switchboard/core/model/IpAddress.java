package io.switchboard.core.model;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * An IPv4 or IPv6 address parsed strictly as a literal: no DNS lookup ever happens. Prints in the
 * canonical form Go's {@code net.IP.String()} uses (RFC 5952 for IPv6), because chain names hash
 * that text.
 */
public final class IpAddress implements Comparable<IpAddress> {
    private final byte[] bytes;
    private final IpFamily family;
    private final String text;

    private IpAddress(byte[] bytes) {
        this.bytes = bytes;
        this.family = bytes.length == 4 ? IpFamily.IPV4 : IpFamily.IPV6;
        this.text = family == IpFamily.IPV4 ? formatV4(bytes) : formatV6(bytes);
    }

    /**
     * Parses an IP literal.
     *
     * @throws IllegalArgumentException if the text is not an IPv4 dotted quad or an IPv6 literal
     */
    public static IpAddress parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("empty IP address");
        }
        if (text.indexOf(':') < 0) {
            return new IpAddress(parseV4(text));
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean ok = c == ':' || c == '.' || Character.digit(c, 16) >= 0;
            if (!ok) {
                throw new IllegalArgumentException("invalid IP address \"" + text + "\"");
            }
        }
        byte[] raw;
        try {
            // The text holds only hex digits, ':' and '.', so the JDK treats it as a literal
            // and never consults a resolver.
            raw = InetAddress.getByName(text).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("invalid IP address \"" + text + "\"", e);
        }
        if (raw.length == 4) {
            // "::ffff:1.2.3.4" is folded into IPv4 by the JDK; Kubernetes rejects such endpoints.
            throw new IllegalArgumentException("IPv4-mapped IPv6 address \"" + text + "\" is not allowed");
        }
        return new IpAddress(raw);
    }

    /** Builds an address from raw bytes (4 or 16). */
    public static IpAddress of(byte[] raw) {
        if (raw.length != 4 && raw.length != 16) {
            throw new IllegalArgumentException("an IP address has 4 or 16 bytes, not " + raw.length);
        }
        return new IpAddress(raw.clone());
    }

    private static byte[] parseV4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("invalid IP address \"" + text + "\"");
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                throw new IllegalArgumentException("invalid IP address \"" + text + "\"");
            }
            int v = 0;
            for (int j = 0; j < p.length(); j++) {
                char c = p.charAt(j);
                if (c < '0' || c > '9') {
                    throw new IllegalArgumentException("invalid IP address \"" + text + "\"");
                }
                v = v * 10 + (c - '0');
            }
            if (v > 255) {
                throw new IllegalArgumentException("invalid IP address \"" + text + "\"");
            }
            out[i] = (byte) v;
        }
        return out;
    }

    private static String formatV4(byte[] b) {
        return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
    }

    private static String formatV6(byte[] b) {
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        // longest run of zero groups (length >= 2), first one on ties
        int bestStart = -1;
        int bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen && j - i >= 2) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        return sb.toString();
    }

    public IpFamily family() {
        return family;
    }

    /** {@code 0.0.0.0} or {@code ::}. */
    public boolean isUnspecified() {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    /** A copy of the raw address bytes (network order). */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** Bit {@code i} of the address, counted from the most significant bit. */
    public boolean bit(int i) {
        return (bytes[i / 8] & (0x80 >>> (i % 8))) != 0;
    }

    /** {@code ip:port}, or {@code [ip]:port} for IPv6, as Go's {@code net.JoinHostPort}. */
    public String withPort(int port) {
        return family == IpFamily.IPV4 ? text + ":" + port : "[" + text + "]:" + port;
    }

    /** The address with a host prefix: {@code /32} or {@code /128}. */
    public String hostCidr() {
        return text + (family == IpFamily.IPV4 ? "/32" : "/128");
    }

    public boolean isLoopback() {
        return family == IpFamily.IPV4 ? (bytes[0] & 0xff) == 127 : text.equals("::1");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpAddress other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public int compareTo(IpAddress o) {
        if (bytes.length != o.bytes.length) {
            return Integer.compare(bytes.length, o.bytes.length);
        }
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public String toString() {
        return text;
    }
}
