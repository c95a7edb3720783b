package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.netlink.Attributes;
import io.switchboard.netfilter.netlink.Genl;
import io.switchboard.netfilter.netlink.MessageBuilder;
import io.switchboard.netfilter.netlink.Replies;

import java.util.Arrays;

/**
 * Requests and replies of the {@code IPVS} generic netlink family, as the kernel's
 * {@code include/uapi/linux/ip_vs.h} lays them out: commands carry a nested service
 * ({@code IPVS_CMD_ATTR_SERVICE}) and, for destinations, a nested destination. Addresses are
 * {@code union nf_inet_addr} (16 bytes), ports and the persistence netmask big-endian, every other
 * number in host order. Pure.
 */
public final class IpvsCodec {
    public static final String FAMILY = "IPVS";
    static final int VERSION = 1;

    static final int CMD_NEW_SERVICE = 1;
    static final int CMD_SET_SERVICE = 2;
    static final int CMD_DEL_SERVICE = 3;
    static final int CMD_GET_SERVICE = 4;
    static final int CMD_NEW_DEST = 5;
    static final int CMD_SET_DEST = 6;
    static final int CMD_DEL_DEST = 7;
    static final int CMD_GET_DEST = 8;
    static final int CMD_SET_CONFIG = 12;
    static final int CMD_GET_INFO = 15;
    static final int CMD_FLUSH = 17;

    static final int CMD_ATTR_SERVICE = 1;
    static final int CMD_ATTR_DEST = 2;
    static final int CMD_ATTR_TIMEOUT_TCP = 4;
    static final int CMD_ATTR_TIMEOUT_TCP_FIN = 5;
    static final int CMD_ATTR_TIMEOUT_UDP = 6;

    static final int SVC_AF = 1;
    static final int SVC_PROTOCOL = 2;
    static final int SVC_ADDR = 3;
    static final int SVC_PORT = 4;
    static final int SVC_FWMARK = 5;
    static final int SVC_SCHED_NAME = 6;
    static final int SVC_FLAGS = 7;
    static final int SVC_TIMEOUT = 8;
    static final int SVC_NETMASK = 9;

    static final int DEST_ADDR = 1;
    static final int DEST_PORT = 2;
    static final int DEST_FWD_METHOD = 3;
    static final int DEST_WEIGHT = 4;
    static final int DEST_U_THRESH = 5;
    static final int DEST_L_THRESH = 6;
    static final int DEST_ACTIVE_CONNS = 7;
    static final int DEST_INACT_CONNS = 8;
    static final int DEST_ADDR_FAMILY = 11;

    static final int INFO_VERSION = 1;

    /** {@code IP_VS_SVC_F_PERSISTENT}. */
    static final int F_PERSISTENT = 0x1;
    /** {@code IP_VS_CONN_F_MASQ}: NAT forwarding. */
    static final int FWD_MASQ = 0;
    static final int AF_INET = 2;
    static final int AF_INET6 = 10;

    private final int familyId;

    /** @param familyId the id the controller resolved {@code IPVS} to */
    public IpvsCodec(int familyId) {
        this.familyId = familyId;
    }

    private MessageBuilder request(int cmd, int flags, int seq) {
        return new MessageBuilder(128).genlMessage(familyId, MessageBuilder.NLM_F_REQUEST | flags, seq, cmd, VERSION);
    }

    static int af(IpFamily f) {
        return f == IpFamily.IPV4 ? AF_INET : AF_INET6;
    }

    static byte[] inetAddr(IpAddress a) {
        return Arrays.copyOf(a.bytes(), 16);
    }

    private static void serviceKey(MessageBuilder b, VirtualServer.Key k) {
        b.attrHostU16(SVC_AF, af(k.family()))
                .attrHostU16(SVC_PROTOCOL, k.protocol())
                .attr(SVC_ADDR, inetAddr(k.address()))
                .attrU16(SVC_PORT, k.port());
    }

    private static void serviceBody(MessageBuilder b, VirtualServer vs) {
        serviceKey(b, vs.key());
        b.attrString(SVC_SCHED_NAME, vs.scheduler())
                .attr(SVC_FLAGS, MessageBuilder.host32Block(vs.persistent() ? F_PERSISTENT : 0, 0xffffffff))
                .attrHostU32(SVC_TIMEOUT, vs.timeoutSeconds())
                // IPv4: a mask of all ones; IPv6: a prefix length, which the kernel reads from the
                // attribute's bytes without a byte swap, so it goes in host order
                .attrHostU32(SVC_NETMASK, vs.family() == IpFamily.IPV4 ? 0xffffffff : 128);
    }

    /**
     * A copy of an operation's message (every one starts with the service's attributes, its address
     * family first) naming an address family the kernel does not know (65535), which it refuses
     * with EAFNOSUPPORT: fault injection for tests ({@link NetlinkIpvs}).
     *
     * @throws IllegalArgumentException if the message does not start that way
     */
    static byte[] withUnknownFamily(byte[] msg) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(msg.clone()).order(java.nio.ByteOrder.nativeOrder());
        int nest = 16 + 4;
        int af = nest + 4;
        if (msg.length < af + 6 || (b.getShort(nest + 2) & 0x3fff) != CMD_ATTR_SERVICE || (b.getShort(af + 2) & 0x3fff) != SVC_AF) {
            throw new IllegalArgumentException("not an IPVS service or destination operation");
        }
        b.putShort(af + 4, (short) 0xffff);
        return b.array();
    }

    public byte[] newService(VirtualServer vs, int seq) {
        MessageBuilder b = request(CMD_NEW_SERVICE, MessageBuilder.NLM_F_ACK, seq).begin(CMD_ATTR_SERVICE);
        serviceBody(b, vs);
        return b.end().toBytes();
    }

    public byte[] setService(VirtualServer vs, int seq) {
        MessageBuilder b = request(CMD_SET_SERVICE, MessageBuilder.NLM_F_ACK, seq).begin(CMD_ATTR_SERVICE);
        serviceBody(b, vs);
        return b.end().toBytes();
    }

    public byte[] deleteService(VirtualServer.Key k, int seq) {
        MessageBuilder b = request(CMD_DEL_SERVICE, MessageBuilder.NLM_F_ACK, seq).begin(CMD_ATTR_SERVICE);
        serviceKey(b, k);
        return b.end().toBytes();
    }

    public byte[] dumpServices(int seq) {
        return request(CMD_GET_SERVICE, MessageBuilder.NLM_F_DUMP, seq).toBytes();
    }

    private static void destBody(MessageBuilder b, RealServer rs) {
        b.attr(DEST_ADDR, inetAddr(rs.address()))
                .attrU16(DEST_PORT, rs.port())
                .attrHostU32(DEST_FWD_METHOD, FWD_MASQ)
                .attrHostU32(DEST_WEIGHT, rs.weight())
                .attrHostU32(DEST_U_THRESH, 0)
                .attrHostU32(DEST_L_THRESH, 0)
                .attrHostU16(DEST_ADDR_FAMILY, af(rs.address().family()));
    }

    private byte[] dest(int cmd, VirtualServer.Key k, RealServer rs, int seq) {
        MessageBuilder b = request(cmd, MessageBuilder.NLM_F_ACK, seq).begin(CMD_ATTR_SERVICE);
        serviceKey(b, k);
        b.end().begin(CMD_ATTR_DEST);
        destBody(b, rs);
        return b.end().toBytes();
    }

    public byte[] newDestination(VirtualServer.Key k, RealServer rs, int seq) {
        return dest(CMD_NEW_DEST, k, rs, seq);
    }

    public byte[] setDestination(VirtualServer.Key k, RealServer rs, int seq) {
        return dest(CMD_SET_DEST, k, rs, seq);
    }

    public byte[] deleteDestination(VirtualServer.Key k, RealServer.Key rs, int seq) {
        MessageBuilder b = request(CMD_DEL_DEST, MessageBuilder.NLM_F_ACK, seq).begin(CMD_ATTR_SERVICE);
        serviceKey(b, k);
        b.end().begin(CMD_ATTR_DEST)
                .attr(DEST_ADDR, inetAddr(rs.address()))
                .attrU16(DEST_PORT, rs.port())
                .attrHostU16(DEST_ADDR_FAMILY, af(rs.address().family()));
        return b.end().toBytes();
    }

    public byte[] dumpDestinations(VirtualServer.Key k, int seq) {
        MessageBuilder b = request(CMD_GET_DEST, MessageBuilder.NLM_F_DUMP, seq).begin(CMD_ATTR_SERVICE);
        serviceKey(b, k);
        return b.end().toBytes();
    }

    public byte[] setTimeouts(int tcp, int tcpFin, int udp, int seq) {
        return request(CMD_SET_CONFIG, MessageBuilder.NLM_F_ACK, seq)
                .attrHostU32(CMD_ATTR_TIMEOUT_TCP, tcp)
                .attrHostU32(CMD_ATTR_TIMEOUT_TCP_FIN, tcpFin)
                .attrHostU32(CMD_ATTR_TIMEOUT_UDP, udp)
                .toBytes();
    }

    public byte[] getInfo(int seq) {
        return request(CMD_GET_INFO, 0, seq).toBytes();
    }

    static IpAddress address(Attributes.Attr a, int af) {
        byte[] raw = a.bytes();
        return IpAddress.of(Arrays.copyOf(raw, af == AF_INET ? 4 : 16));
    }

    /** The virtual server in a {@code GET_SERVICE} dump message; null for a firewall-mark service or junk. */
    public static VirtualServer parseService(Replies.Message m) {
        Attributes.Attr svc = m.attributes(Genl.HEADER).first(CMD_ATTR_SERVICE);
        if (svc == null) {
            return null;
        }
        Attributes a = svc.children();
        Attributes.Attr af = a.first(SVC_AF);
        Attributes.Attr addr = a.first(SVC_ADDR);
        Attributes.Attr proto = a.first(SVC_PROTOCOL);
        Attributes.Attr port = a.first(SVC_PORT);
        Attributes.Attr sched = a.first(SVC_SCHED_NAME);
        if (af == null || addr == null || proto == null || port == null || sched == null) {
            return null;
        }
        Attributes.Attr flags = a.first(SVC_FLAGS);
        Attributes.Attr timeout = a.first(SVC_TIMEOUT);
        boolean persistent = flags != null && (flags.hostU32() & F_PERSISTENT) != 0;
        return new VirtualServer(address(addr, af.hostU16()), proto.hostU16(), port.u16(), sched.string(), persistent,
                timeout == null ? 0 : timeout.hostU32());
    }

    /** The real server in a {@code GET_DEST} dump message, or null. */
    public static RealServer parseDestination(Replies.Message m, IpFamily serviceFamily) {
        Attributes.Attr dest = m.attributes(Genl.HEADER).first(CMD_ATTR_DEST);
        if (dest == null) {
            return null;
        }
        Attributes a = dest.children();
        Attributes.Attr addr = a.first(DEST_ADDR);
        Attributes.Attr port = a.first(DEST_PORT);
        if (addr == null || port == null) {
            return null;
        }
        Attributes.Attr af = a.first(DEST_ADDR_FAMILY);
        int family = af != null ? af.hostU16() : af(serviceFamily);
        Attributes.Attr weight = a.first(DEST_WEIGHT);
        Attributes.Attr active = a.first(DEST_ACTIVE_CONNS);
        Attributes.Attr inactive = a.first(DEST_INACT_CONNS);
        return new RealServer(address(addr, family), port.u16(), weight == null ? 0 : weight.hostU32(),
                active == null ? 0 : active.hostU32(), inactive == null ? 0 : inactive.hostU32());
    }

    /** The version in a {@code GET_INFO} answer, as "major.minor.patch". */
    public static String parseVersion(Replies.Message m) {
        Attributes.Attr v = m.attributes(Genl.HEADER).first(INFO_VERSION);
        if (v == null) {
            return "unknown";
        }
        int n = v.hostU32();
        return ((n >> 16) & 0xff) + "." + ((n >> 8) & 0xff) + "." + (n & 0xff);
    }
}
