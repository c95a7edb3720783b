package io.switchboard.netfilter.netlink;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * Writes netlink messages back to back into one growing buffer: each a {@code nlmsghdr} (host
 * byte order), an optional 4-byte family header ({@code nfgenmsg} for the netfilter subsystems),
 * then attributes, nested ones through {@link #begin}/{@link #end}. Every attribute is padded to 4
 * bytes. Values of the {@code u32}/{@code u64} helpers are written big-endian, as nfnetlink wants
 * them; {@link #attrHostU32} is for the families that use host order. Pure and not thread-safe.
 */
public final class MessageBuilder {
    public static final int NLM_F_REQUEST = 0x1;
    public static final int NLM_F_ACK = 0x4;
    public static final int NLM_F_DUMP = 0x300;
    public static final int NLM_F_REPLACE = 0x100;
    public static final int NLM_F_EXCL = 0x200;
    public static final int NLM_F_CREATE = 0x400;
    public static final int NLM_F_APPEND = 0x800;
    public static final int NLA_F_NESTED = 0x8000;
    private static final boolean LITTLE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private byte[] buf;
    private int pos;
    private int messageStart = -1;
    private int messages;
    private final Deque<Integer> nests = new ArrayDeque<>();

    public MessageBuilder() {
        this(4096);
    }

    public MessageBuilder(int capacity) {
        buf = new byte[Math.max(64, capacity)];
    }

    /** Starts a message (ends the previous one) with no family header. */
    public MessageBuilder message(int type, int flags, int seq) {
        finishMessage();
        messageStart = pos;
        putHost32(0);
        putHost16(type);
        putHost16(flags);
        putHost32(seq);
        putHost32(0);
        messages++;
        return this;
    }

    /** Starts a netfilter message: header plus {@code nfgenmsg} (family, version 0, resource id big-endian). */
    public MessageBuilder nfMessage(int type, int flags, int seq, int family, int resId) {
        message(type, flags, seq);
        ensure(4);
        buf[pos++] = (byte) family;
        buf[pos++] = 0;
        buf[pos++] = (byte) (resId >> 8);
        buf[pos++] = (byte) resId;
        return this;
    }

    /** Raw bytes after the header (a family header of another shape). */
    public MessageBuilder raw(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, pos, bytes.length);
        pos += bytes.length;
        return this;
    }

    public MessageBuilder attr(int type, byte[] value) {
        int len = 4 + value.length;
        ensure(align(len));
        putHost16(len);
        putHost16(type);
        System.arraycopy(value, 0, buf, pos, value.length);
        pos += value.length;
        pad();
        return this;
    }

    /** A NUL-terminated string. */
    public MessageBuilder attrString(int type, String value) {
        byte[] s = value.getBytes(StandardCharsets.UTF_8);
        return attr(type, Arrays.copyOf(s, s.length + 1));
    }

    public MessageBuilder attrU8(int type, int value) {
        return attr(type, new byte[]{(byte) value});
    }

    /** A big-endian 16-bit value. */
    public MessageBuilder attrU16(int type, int value) {
        return attr(type, new byte[]{(byte) (value >> 8), (byte) value});
    }

    /** A big-endian 32-bit value (nfnetlink's {@code NLA_BE32}). */
    public MessageBuilder attrU32(int type, int value) {
        return attr(type, be32(value));
    }

    /** A big-endian 64-bit value. */
    public MessageBuilder attrU64(int type, long value) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (value >>> (56 - 8 * i));
        }
        return attr(type, b);
    }

    /** A 32-bit value in host byte order. */
    public MessageBuilder attrHostU32(int type, int value) {
        return attr(type, host32(value));
    }

    /** A 16-bit value in host byte order. */
    public MessageBuilder attrHostU16(int type, int value) {
        return attr(type, LITTLE ? new byte[]{(byte) value, (byte) (value >> 8)} : new byte[]{(byte) (value >> 8), (byte) value});
    }

    /**
     * Starts a generic netlink message: header plus {@code genlmsghdr} (command, family version,
     * two reserved bytes); {@code familyId} is the message type.
     */
    public MessageBuilder genlMessage(int familyId, int flags, int seq, int command, int version) {
        message(familyId, flags, seq);
        ensure(4);
        buf[pos++] = (byte) command;
        buf[pos++] = (byte) version;
        buf[pos++] = 0;
        buf[pos++] = 0;
        return this;
    }

    /** Opens a nested attribute; close with {@link #end()}. */
    public MessageBuilder begin(int type) {
        ensure(4);
        nests.push(pos);
        putHost16(0);
        putHost16(type | NLA_F_NESTED);
        return this;
    }

    /** Closes the innermost nested attribute; its length must fit the 16-bit length field. */
    public MessageBuilder end() {
        int start = nests.pop();
        if (pos - start > 0xffff) {
            throw new IllegalStateException("nested attribute of " + (pos - start) + " bytes exceeds 65535");
        }
        writeHost16(start, pos - start);
        return this;
    }

    /** Bytes written into the innermost open nested attribute so far. */
    public int nestedSize() {
        return nests.isEmpty() ? 0 : pos - nests.peek();
    }

    /** How many messages were started. */
    public int messageCount() {
        return messages;
    }

    /** Bytes written so far (the current message included). */
    public int size() {
        return pos;
    }

    /** Every message written, the last one closed. */
    public byte[] toBytes() {
        finishMessage();
        return Arrays.copyOf(buf, pos);
    }

    private void finishMessage() {
        if (!nests.isEmpty()) {
            throw new IllegalStateException("unclosed nested attribute");
        }
        if (messageStart >= 0) {
            writeHost32(messageStart, pos - messageStart);
            messageStart = -1;
        }
    }

    public static int align(int n) {
        return (n + 3) & ~3;
    }

    public static byte[] be32(int v) {
        return new byte[]{(byte) (v >> 24), (byte) (v >> 16), (byte) (v >> 8), (byte) v};
    }

    /** Several 32-bit values in host byte order, back to back (a fixed family header). */
    public static byte[] host32Block(int... values) {
        byte[] out = new byte[values.length * 4];
        for (int i = 0; i < values.length; i++) {
            System.arraycopy(host32(values[i]), 0, out, 4 * i, 4);
        }
        return out;
    }

    public static byte[] host32(int v) {
        return LITTLE ? new byte[]{(byte) v, (byte) (v >> 8), (byte) (v >> 16), (byte) (v >> 24)} : be32(v);
    }

    private void pad() {
        int p = align(pos);
        ensure(p - pos);
        while (pos < p) {
            buf[pos++] = 0;
        }
    }

    private void ensure(int n) {
        if (pos + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
        }
    }

    private void putHost16(int v) {
        ensure(2);
        writeHost16(pos, v);
        pos += 2;
    }

    private void putHost32(int v) {
        ensure(4);
        writeHost32(pos, v);
        pos += 4;
    }

    private void writeHost16(int at, int v) {
        if (LITTLE) {
            buf[at] = (byte) v;
            buf[at + 1] = (byte) (v >> 8);
        } else {
            buf[at] = (byte) (v >> 8);
            buf[at + 1] = (byte) v;
        }
    }

    private void writeHost32(int at, int v) {
        byte[] b = host32(v);
        System.arraycopy(b, 0, buf, at, 4);
    }
}
