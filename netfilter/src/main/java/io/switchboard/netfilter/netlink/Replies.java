package io.switchboard.netfilter.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits what one {@code recv} returned into messages. {@code NLMSG_ERROR} messages carry an
 * errno (0 is an acknowledgement) and the sequence number of the request they answer. Pure.
 */
public final class Replies {
    public static final int NLMSG_NOOP = 1;
    public static final int NLMSG_ERROR = 2;
    public static final int NLMSG_DONE = 3;

    /** One message: header fields and where its payload (after the 16-byte header) lies. */
    public record Message(int type, int flags, int seq, ByteBuffer buf, int payloadOffset, int payloadLength) {
        public boolean isError() {
            return type == NLMSG_ERROR;
        }

        public boolean isDone() {
            return type == NLMSG_DONE;
        }

        /** For an error message: the positive errno, 0 for an acknowledgement. */
        public int errno() {
            return payloadLength < 4 ? 0 : -buf.getInt(payloadOffset);
        }

        /** For an error message: the sequence number of the request it answers. */
        public int requestSeq() {
            return payloadLength < 4 + 16 ? seq : buf.getInt(payloadOffset + 4 + 8);
        }

        /** The attributes after a family header of {@code headerLength} bytes. */
        public Attributes attributes(int headerLength) {
            return new Attributes(buf, payloadOffset + headerLength, payloadOffset + payloadLength);
        }
    }

    private Replies() {
    }

    /** The messages in {@code bytes[0, length)}; stops at a truncated one. */
    public static List<Message> parse(byte[] bytes, int length) {
        ByteBuffer bb = ByteBuffer.wrap(bytes, 0, length).order(ByteOrder.nativeOrder());
        List<Message> out = new ArrayList<>();
        int pos = 0;
        while (pos + 16 <= length) {
            int len = bb.getInt(pos);
            if (len < 16 || pos + len > length) {
                break;
            }
            out.add(new Message(bb.getShort(pos + 4) & 0xffff, bb.getShort(pos + 6) & 0xffff, bb.getInt(pos + 8),
                    bb, pos + 16, len - 16));
            pos += MessageBuilder.align(len);
        }
        return out;
    }
}
