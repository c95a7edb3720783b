package io.switchboard.netfilter.netlink;

import java.io.IOException;
import java.util.List;

/**
 * Generic netlink: messages carry a 4-byte {@code genlmsghdr} after the netlink header, and a
 * family is found by name through the {@code nlctrl} controller ({@code CTRL_CMD_GETFAMILY}).
 * The request and reply codec is pure; {@link #resolve} speaks to the kernel.
 */
public final class Genl {
    /** The controller's fixed family id. */
    public static final int GENL_ID_CTRL = 0x10;
    static final int CTRL_CMD_GETFAMILY = 3;
    static final int CTRL_ATTR_FAMILY_ID = 1;
    static final int CTRL_ATTR_FAMILY_NAME = 2;
    static final int CTRL_ATTR_VERSION = 3;
    /** Length of {@code genlmsghdr}. */
    public static final int HEADER = 4;

    /** A resolved family: the message type its requests use, and the version the kernel speaks. */
    public record Family(String name, int id, int version) {
    }

    private Genl() {
    }

    /** The {@code CTRL_CMD_GETFAMILY} request for one family name. */
    public static byte[] getFamilyRequest(String name, int seq) {
        return new MessageBuilder(64).genlMessage(GENL_ID_CTRL, MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_ACK, seq,
                CTRL_CMD_GETFAMILY, 1).attrString(CTRL_ATTR_FAMILY_NAME, name).toBytes();
    }

    /** The family in a controller reply, or null if the reply names none. */
    public static Family parseFamily(Replies.Message reply) {
        Attributes a = reply.attributes(HEADER);
        Attributes.Attr id = a.first(CTRL_ATTR_FAMILY_ID);
        Attributes.Attr name = a.first(CTRL_ATTR_FAMILY_NAME);
        Attributes.Attr version = a.first(CTRL_ATTR_VERSION);
        if (id == null || name == null) {
            return null;
        }
        return new Family(name.string(), id.hostU16(), version == null ? 0 : version.hostU32());
    }

    /** The command byte of a generic netlink message. */
    public static int command(Replies.Message m) {
        return m.payloadLength() < 1 ? -1 : m.buf().get(m.payloadOffset()) & 0xff;
    }

    /**
     * Resolves a family on an open {@code NETLINK_GENERIC} socket.
     *
     * @throws NetlinkException with {@link Errno#ENOENT} when the kernel has no such family (for
     *                          IPVS: the ip_vs module is not loaded, or not built)
     */
    public static Family resolve(NetlinkSocket socket, String name) throws IOException {
        int seq = NetlinkSocket.nextSeq();
        List<Replies.Message> replies = socket.request(getFamilyRequest(name, seq), seq, false, "generic netlink family " + name);
        for (Replies.Message m : replies) {
            Family f = parseFamily(m);
            if (f != null) {
                return f;
            }
        }
        throw new IOException("generic netlink family " + name + ": the controller's answer names no family");
    }
}
