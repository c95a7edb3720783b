package io.switchboard.core.model;

/** An IP prefix such as {@code 10.0.0.0/8}; the base is masked to the prefix length. */
public record Cidr(IpAddress base, int prefixLength) {
    public Cidr {
        if (base == null) {
            throw new IllegalArgumentException("CIDR without an address");
        }
        int max = base.family().addressLength() * 8;
        if (prefixLength < 0 || prefixLength > max) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " out of range 0-" + max);
        }
        byte[] b = base.bytes();
        for (int i = 0; i < b.length * 8; i++) {
            if (i >= prefixLength) {
                b[i / 8] &= (byte) ~(0x80 >>> (i % 8));
            }
        }
        base = IpAddress.of(b);
    }

    /** Parses {@code a.b.c.d/n} or {@code v6/n}; the address part must be a literal. */
    public static Cidr parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("empty CIDR");
        }
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("invalid CIDR \"" + text + "\": no prefix length");
        }
        IpAddress ip;
        int len;
        try {
            ip = IpAddress.parse(text.substring(0, slash));
            String l = text.substring(slash + 1);
            if (l.isEmpty() || l.length() > 3 || !l.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("bad prefix length");
            }
            len = Integer.parseInt(l);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid CIDR \"" + text + "\"", e);
        }
        if (len > ip.family().addressLength() * 8) {
            throw new IllegalArgumentException("invalid CIDR \"" + text + "\": prefix length too long");
        }
        return new Cidr(ip, len);
    }

    public IpFamily family() {
        return base.family();
    }

    public boolean contains(IpAddress ip) {
        if (ip.family() != base.family()) {
            return false;
        }
        for (int i = 0; i < prefixLength; i++) {
            if (ip.bit(i) != base.bit(i)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return base + "/" + prefixLength;
    }
}
