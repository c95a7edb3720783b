package io.switchboard.netfilter.link;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.netlink.Attributes;
import io.switchboard.netfilter.netlink.MessageBuilder;
import io.switchboard.netfilter.netlink.Replies;

/**
 * rtnetlink requests and replies for links ({@code ifinfomsg}, 16 bytes) and addresses
 * ({@code ifaddrmsg}, 8 bytes), laid out as {@code linux/rtnetlink.h} and {@code if_link.h} say.
 * Pure.
 */
public final class RtnlCodec {
    static final int RTM_NEWLINK = 16;
    static final int RTM_DELLINK = 17;
    static final int RTM_GETLINK = 18;
    static final int RTM_NEWADDR = 20;
    static final int RTM_DELADDR = 21;
    static final int RTM_GETADDR = 22;
    static final int IFLA_IFNAME = 3;
    static final int IFLA_LINKINFO = 18;
    static final int IFLA_INFO_KIND = 1;
    static final int IFA_ADDRESS = 1;
    static final int IFA_LOCAL = 2;
    static final int IFA_FLAGS = 8;
    /** No duplicate address detection: a service address is ours alone and must work at once. */
    static final int IFA_F_NODAD = 0x02;
    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int IFINFO = 16;
    static final int IFADDR = 8;

    /** A link in a reply. */
    public record Link(int index, String name) {
    }

    /** An address in a reply. */
    public record Address(int index, IpAddress address, int prefixLength) {
    }

    private RtnlCodec() {
    }

    static int af(IpFamily f) {
        return f == IpFamily.IPV4 ? AF_INET : AF_INET6;
    }

    private static byte[] ifinfo(int index) {
        return MessageBuilder.host32Block(0, index, 0, 0);
    }

    /** Creates a dummy link (fails with EEXIST if the name is taken). */
    public static byte[] newDummy(String name, int seq) {
        return new MessageBuilder(96).message(RTM_NEWLINK, MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_ACK
                        | MessageBuilder.NLM_F_CREATE | MessageBuilder.NLM_F_EXCL, seq)
                .raw(ifinfo(0))
                .attrString(IFLA_IFNAME, name)
                .begin(IFLA_LINKINFO).attrString(IFLA_INFO_KIND, "dummy").end()
                .toBytes();
    }

    /** Asks for one link by name (ENODEV if there is none). */
    public static byte[] getLink(String name, int seq) {
        return new MessageBuilder(64).message(RTM_GETLINK, MessageBuilder.NLM_F_REQUEST, seq)
                .raw(ifinfo(0)).attrString(IFLA_IFNAME, name).toBytes();
    }

    public static byte[] deleteLink(int index, int seq) {
        return new MessageBuilder(32).message(RTM_DELLINK, MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_ACK, seq)
                .raw(ifinfo(index)).toBytes();
    }

    /** Binds ({@code add}) or unbinds a host address: /32 or /128, universe scope. */
    public static byte[] address(boolean add, int index, IpAddress a, int seq) {
        int flags = MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_ACK
                | (add ? MessageBuilder.NLM_F_CREATE | MessageBuilder.NLM_F_EXCL : 0);
        IpFamily f = a.family();
        byte[] hdr = new byte[IFADDR];
        hdr[0] = (byte) af(f);
        hdr[1] = (byte) (f == IpFamily.IPV4 ? 32 : 128);
        hdr[2] = (byte) (f == IpFamily.IPV6 ? IFA_F_NODAD : 0);
        System.arraycopy(MessageBuilder.host32(index), 0, hdr, 4, 4);
        MessageBuilder b = new MessageBuilder(64).message(add ? RTM_NEWADDR : RTM_DELADDR, flags, seq).raw(hdr)
                .attr(IFA_LOCAL, a.bytes()).attr(IFA_ADDRESS, a.bytes());
        return b.toBytes();
    }

    /** Dumps every address of a family. */
    public static byte[] dumpAddresses(IpFamily family, int seq) {
        byte[] hdr = new byte[IFADDR];
        hdr[0] = (byte) af(family);
        return new MessageBuilder(32).message(RTM_GETADDR, MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_DUMP, seq)
                .raw(hdr).toBytes();
    }

    /** The link in an {@code RTM_NEWLINK} reply, or null. */
    public static Link parseLink(Replies.Message m) {
        if (m.type() != RTM_NEWLINK || m.payloadLength() < IFINFO) {
            return null;
        }
        int index = m.buf().duplicate().order(java.nio.ByteOrder.nativeOrder()).getInt(m.payloadOffset() + 4);
        Attributes.Attr name = m.attributes(IFINFO).first(IFLA_IFNAME);
        return new Link(index, name == null ? "" : name.string());
    }

    /** The address in an {@code RTM_NEWADDR} reply, or null. */
    public static Address parseAddress(Replies.Message m) {
        if (m.type() != RTM_NEWADDR || m.payloadLength() < IFADDR) {
            return null;
        }
        java.nio.ByteBuffer bb = m.buf().duplicate().order(java.nio.ByteOrder.nativeOrder());
        int prefix = bb.get(m.payloadOffset() + 1) & 0xff;
        int index = bb.getInt(m.payloadOffset() + 4);
        Attributes attrs = m.attributes(IFADDR);
        Attributes.Attr a = attrs.first(IFA_LOCAL);
        if (a == null) {
            a = attrs.first(IFA_ADDRESS);
        }
        if (a == null || (a.length() != 4 && a.length() != 16)) {
            return null;
        }
        return new Address(index, IpAddress.of(a.bytes()), prefix);
    }
}
