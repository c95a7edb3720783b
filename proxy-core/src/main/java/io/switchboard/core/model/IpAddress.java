package io.switchboard.core.model;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 address parsed strictly as a literal: no DNS lookup ever happens. Prints in the
 * canonical form Go's {@code net.IP.String()} uses (RFC 5952 for IPv6), because chain names hash
 * that text.
 */
public final class IpAddress implements Comparable<IpAddress> {
    // The address as two big-endian 64-bit halves (IPv4 in the low 32 bits of lo): 40 bytes per
    // address instead of a byte array plus a cached string, which matters at 100k endpoints.
    // The text is formatted on demand.
    private final long hi;
    private final long lo;
    private final IpFamily family;

    private IpAddress(byte[] bytes) {
        this.family = bytes.length == 4 ? IpFamily.IPV4 : IpFamily.IPV6;
        long h = 0;
        long l = 0;
        if (bytes.length == 4) {
            for (byte b : bytes) {
                l = (l << 8) | (b & 0xff);
            }
        } else {
            for (int i = 0; i < 8; i++) {
                h = (h << 8) | (bytes[i] & 0xff);
                l = (l << 8) | (bytes[i + 8] & 0xff);
            }
        }
        this.hi = h;
        this.lo = l;
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
        return new IpAddress(raw);
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

    private int length() {
        return family == IpFamily.IPV4 ? 4 : 16;
    }

    /** {@code 0.0.0.0} or {@code ::}. */
    public boolean isUnspecified() {
        return hi == 0 && lo == 0;
    }

    /** A copy of the raw address bytes (network order). */
    public byte[] bytes() {
        byte[] out = new byte[length()];
        if (out.length == 4) {
            for (int i = 0; i < 4; i++) {
                out[i] = (byte) (lo >>> (24 - 8 * i));
            }
        } else {
            for (int i = 0; i < 8; i++) {
                out[i] = (byte) (hi >>> (56 - 8 * i));
                out[i + 8] = (byte) (lo >>> (56 - 8 * i));
            }
        }
        return out;
    }

    /** Bit {@code i} of the address, counted from the most significant bit. */
    public boolean bit(int i) {
        if (family == IpFamily.IPV4) {
            return (lo >>> (31 - i) & 1) != 0;
        }
        return i < 64 ? (hi >>> (63 - i) & 1) != 0 : (lo >>> (127 - i) & 1) != 0;
    }

    /** {@code ip:port}, or {@code [ip]:port} for IPv6, as Go's {@code net.JoinHostPort}. */
    public String withPort(int port) {
        return family == IpFamily.IPV4 ? toString() + ":" + port : "[" + this + "]:" + port;
    }

    /** The address with a host prefix: {@code /32} or {@code /128}. */
    public String hostCidr() {
        return this + (family == IpFamily.IPV4 ? "/32" : "/128");
    }

    public boolean isLoopback() {
        return family == IpFamily.IPV4 ? (lo >>> 24) == 127 : hi == 0 && lo == 1;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpAddress other && family == other.family && hi == other.hi && lo == other.lo;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * family.ordinal() + Long.hashCode(hi)) + Long.hashCode(lo);
    }

    @Override
    public int compareTo(IpAddress o) {
        if (family != o.family) {
            return family == IpFamily.IPV4 ? -1 : 1;
        }
        int c = Long.compareUnsigned(hi, o.hi);
        return c != 0 ? c : Long.compareUnsigned(lo, o.lo);
    }

    @Override
    public String toString() {
        return family == IpFamily.IPV4 ? formatV4(bytes()) : formatV6(bytes());
    }
}
