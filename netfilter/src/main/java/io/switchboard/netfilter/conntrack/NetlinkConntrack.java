package io.switchboard.netfilter.conntrack;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.netlink.Errno;
import io.switchboard.netfilter.netlink.MessageBuilder;
import io.switchboard.netfilter.netlink.NetlinkException;
import io.switchboard.netfilter.netlink.NetlinkSocket;
import io.switchboard.netfilter.netlink.Replies;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * conntrack over NETLINK_NETFILTER (ctnetlink), through the shared netlink layer: dump the table
 * of one family, delete entries by original tuple. One socket per call; no filtering in the kernel
 * (it works on every kernel that has ctnetlink).
 */
public final class NetlinkConntrack implements Conntrack {
    private static final int CT_GET = (1 << 8) | 1;
    private static final int CT_DELETE = (1 << 8) | 2;
    private static final int CTA_TUPLE_ORIG = 1;
    private static final int CTA_TUPLE_REPLY = 2;
    private static final int CTA_TUPLE_IP = 1;
    private static final int CTA_TUPLE_PROTO = 2;
    private static final int CTA_PROTO_NUM = 1;
    private static final int CTA_PROTO_SRC_PORT = 2;
    private static final int CTA_PROTO_DST_PORT = 3;
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private NetlinkConntrack() {
    }

    /** Loads libc; throws if the native library cannot be loaded. */
    public static NetlinkConntrack load() {
        NetlinkSocket.libc();
        return new NetlinkConntrack();
    }

    /** As {@link #load()}, or null with a warning that stale UDP entries will not be cleaned. */
    public static Conntrack loadOrNull() {
        try {
            return load();
        } catch (RuntimeException | LinkageError e) {
            org.slf4j.LoggerFactory.getLogger(NetlinkConntrack.class)
                    .warn("conntrack over netlink is unavailable ({}); stale UDP entries will not be cleaned", e.toString());
            return null;
        }
    }

    private static int familyCode(IpFamily f) {
        return f == IpFamily.IPV4 ? 2 : 10;
    }

    @Override
    public List<Flow> dump(IpFamily family) throws IOException {
        try (NetlinkSocket sock = NetlinkSocket.open(NetlinkSocket.NETLINK_NETFILTER, TIMEOUT)) {
            int s = NetlinkSocket.nextSeq();
            sock.send(new MessageBuilder(64).nfMessage(CT_GET, MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_DUMP, s,
                    familyCode(family), 0).toBytes());
            List<Flow> out = new ArrayList<>();
            byte[] buf = new byte[1 << 17];
            while (true) {
                for (Replies.Message m : sock.receive(buf)) {
                    if (m.isDone()) {
                        return out;
                    }
                    if (m.isError()) {
                        if (m.errno() != 0) {
                            throw new NetlinkException("conntrack dump", m.errno(), m.requestSeq());
                        }
                    } else if ((m.type() & 0xff) == (CT_GET & 0xff) || (m.type() & 0xff) == 0) {
                        Flow f = parseFlow(m.buf(), m.payloadOffset() + 4, m.payloadOffset() + m.payloadLength(), family);
                        if (f != null) {
                            out.add(f);
                        }
                    }
                }
            }
        }
    }

    @Override
    public boolean delete(IpFamily family, Flow flow) throws IOException {
        try (NetlinkSocket sock = NetlinkSocket.open(NetlinkSocket.NETLINK_NETFILTER, TIMEOUT)) {
            int s = NetlinkSocket.nextSeq();
            sock.send(deleteMessage(family, flow, s));
            for (Replies.Message m : sock.receive(new byte[8192])) {
                if (!m.isError()) {
                    continue;
                }
                if (m.errno() == 0) {
                    return true;
                }
                if (m.errno() == Errno.ENOENT) {
                    return false;
                }
                throw new NetlinkException("conntrack delete of " + flow, m.errno(), m.requestSeq());
            }
            throw new IOException("conntrack delete of " + flow + ": no acknowledgement from the kernel");
        }
    }

    /** The delete request for one flow: its original tuple. */
    static byte[] deleteMessage(IpFamily family, Flow flow, int seq) {
        MessageBuilder b = new MessageBuilder(128)
                .nfMessage(CT_DELETE, MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_ACK, seq, familyCode(family), 0);
        b.begin(CTA_TUPLE_ORIG).begin(CTA_TUPLE_IP)
                .attr(family == IpFamily.IPV4 ? 1 : 3, flow.origSrc().bytes())
                .attr(family == IpFamily.IPV4 ? 2 : 4, flow.origDst().bytes())
                .end().begin(CTA_TUPLE_PROTO)
                .attrU8(CTA_PROTO_NUM, flow.protocol())
                .attrU16(CTA_PROTO_SRC_PORT, flow.origSport())
                .attrU16(CTA_PROTO_DST_PORT, flow.origDport())
                .end().end();
        return b.toBytes();
    }

    /** Parses the attributes of one ctnetlink message. */
    static Flow parseFlow(ByteBuffer bb, int from, int to, IpFamily family) {
        Tuple orig = null;
        Tuple reply = null;
        int pos = from;
        while (pos + 4 <= to) {
            int len = bb.getShort(pos) & 0xffff;
            int type = bb.getShort(pos + 2) & 0x7fff;
            if (len < 4) {
                break;
            }
            if (type == CTA_TUPLE_ORIG) {
                orig = parseTuple(bb, pos + 4, pos + len);
            } else if (type == CTA_TUPLE_REPLY) {
                reply = parseTuple(bb, pos + 4, pos + len);
            }
            pos += align(len);
        }
        if (orig == null || reply == null || orig.src == null || orig.dst == null || reply.src == null) {
            return null;
        }
        return new Flow(orig.proto, orig.src, orig.dst, orig.sport, orig.dport, reply.src, reply.sport);
    }

    private static final class Tuple {
        IpAddress src;
        IpAddress dst;
        int proto;
        int sport;
        int dport;
    }

    private static Tuple parseTuple(ByteBuffer bb, int from, int to) {
        Tuple t = new Tuple();
        int pos = from;
        while (pos + 4 <= to) {
            int len = bb.getShort(pos) & 0xffff;
            int type = bb.getShort(pos + 2) & 0x7fff;
            if (len < 4) {
                break;
            }
            int inner = pos + 4;
            int end = pos + len;
            while (inner + 4 <= end) {
                int l = bb.getShort(inner) & 0xffff;
                int ty = bb.getShort(inner + 2) & 0x7fff;
                if (l < 4) {
                    break;
                }
                byte[] v = new byte[l - 4];
                for (int i = 0; i < v.length; i++) {
                    v[i] = bb.get(inner + 4 + i);
                }
                if (type == CTA_TUPLE_IP && (v.length == 4 || v.length == 16)) {
                    if (ty == 1 || ty == 3) {
                        t.src = IpAddress.of(v);
                    } else if (ty == 2 || ty == 4) {
                        t.dst = IpAddress.of(v);
                    }
                } else if (type == CTA_TUPLE_PROTO) {
                    if (ty == CTA_PROTO_NUM && v.length >= 1) {
                        t.proto = v[0] & 0xff;
                    } else if (ty == CTA_PROTO_SRC_PORT && v.length >= 2) {
                        t.sport = ((v[0] & 0xff) << 8) | (v[1] & 0xff);
                    } else if (ty == CTA_PROTO_DST_PORT && v.length >= 2) {
                        t.dport = ((v[0] & 0xff) << 8) | (v[1] & 0xff);
                    }
                }
                inner += align(l);
            }
            pos += align(len);
        }
        return t;
    }

    private static int align(int n) {
        return MessageBuilder.align(n);
    }
}
