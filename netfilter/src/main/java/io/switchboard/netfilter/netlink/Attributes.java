package io.switchboard.netfilter.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the attributes of one message or nested attribute: a view over {@code [from, to)} of a
 * buffer. Malformed lengths end the walk rather than throw (a reader takes what parsed). Pure.
 */
public final class Attributes {
    /** One attribute: its type (the nested flag cleared) and where its value lies. */
    public record Attr(int type, boolean nested, ByteBuffer buf, int offset, int length) {
        public byte[] bytes() {
            byte[] out = new byte[length];
            for (int i = 0; i < length; i++) {
                out[i] = buf.get(offset + i);
            }
            return out;
        }

        /** A NUL-terminated string. */
        public String string() {
            int n = 0;
            while (n < length && buf.get(offset + n) != 0) {
                n++;
            }
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = buf.get(offset + i);
            }
            return new String(b, StandardCharsets.UTF_8);
        }

        /** A big-endian 32-bit value. */
        public int u32() {
            return length < 4 ? 0 : ((buf.get(offset) & 0xff) << 24) | ((buf.get(offset + 1) & 0xff) << 16)
                    | ((buf.get(offset + 2) & 0xff) << 8) | (buf.get(offset + 3) & 0xff);
        }

        /** A big-endian 16-bit value. */
        public int u16() {
            return length < 2 ? 0 : ((buf.get(offset) & 0xff) << 8) | (buf.get(offset + 1) & 0xff);
        }

        /** A 32-bit value in host byte order (generic netlink's and rtnetlink's {@code NLA_U32}). */
        public int hostU32() {
            return length < 4 ? 0 : buf.duplicate().order(ByteOrder.nativeOrder()).getInt(offset);
        }

        /** A 16-bit value in host byte order. */
        public int hostU16() {
            return length < 2 ? 0 : buf.duplicate().order(ByteOrder.nativeOrder()).getShort(offset) & 0xffff;
        }

        /** A 64-bit value in host byte order. */
        public long hostU64() {
            return length < 8 ? 0 : buf.duplicate().order(ByteOrder.nativeOrder()).getLong(offset);
        }

        public int u8() {
            return length < 1 ? 0 : buf.get(offset) & 0xff;
        }

        /** The attributes nested in this one. */
        public Attributes children() {
            return new Attributes(buf, offset, offset + length);
        }
    }

    private final ByteBuffer buf;
    private final int from;
    private final int to;

    public Attributes(ByteBuffer buf, int from, int to) {
        this.buf = buf.duplicate().order(ByteOrder.nativeOrder());
        this.from = from;
        this.to = Math.min(to, buf.limit());
    }

    public static Attributes of(byte[] bytes, int from, int to) {
        return new Attributes(ByteBuffer.wrap(bytes), from, to);
    }

    public List<Attr> all() {
        List<Attr> out = new ArrayList<>();
        int pos = from;
        while (pos + 4 <= to) {
            int len = buf.getShort(pos) & 0xffff;
            int type = buf.getShort(pos + 2) & 0xffff;
            if (len < 4 || pos + len > to) {
                break;
            }
            out.add(new Attr(type & 0x3fff, (type & MessageBuilder.NLA_F_NESTED) != 0, buf, pos + 4, len - 4));
            pos += MessageBuilder.align(len);
        }
        return out;
    }

    /** The first attribute of a type, or null. */
    public Attr first(int type) {
        for (Attr a : all()) {
            if (a.type() == type) {
                return a;
            }
        }
        return null;
    }
}
