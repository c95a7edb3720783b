package io.switchboard.netfilter.conntrack;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * conntrack over NETLINK_NETFILTER (ctnetlink) through jnr-ffi: dump the table of one family,
 * delete entries by original tuple. One socket per call; no filtering in the kernel (it works on
 * every kernel that has ctnetlink).
 */
public final class NetlinkConntrack implements Conntrack {
    /** The libc calls used. */
    public interface LibC {
        int socket(int domain, int type, int protocol);

        int bind(int fd, @In byte[] addr, int len);

        long sendto(int fd, @In byte[] buf, long len, int flags, @In byte[] addr, int addrLen);

        long recv(int fd, @Out byte[] buf, long len, int flags);

        int close(int fd);

        int setsockopt(int fd, int level, int name, @In byte[] value, int len);
    }

    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int NETLINK_NETFILTER = 12;
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVTIMEO = 20;
    private static final int NLM_F_REQUEST = 1;
    private static final int NLM_F_ACK = 4;
    private static final int NLM_F_DUMP = 0x300;
    private static final int NLMSG_ERROR = 2;
    private static final int NLMSG_DONE = 3;
    private static final int CT_GET = (1 << 8) | 1;
    private static final int CT_DELETE = (1 << 8) | 2;
    private static final int NLA_F_NESTED = 0x8000;
    private static final int CTA_TUPLE_ORIG = 1;
    private static final int CTA_TUPLE_REPLY = 2;
    private static final int CTA_TUPLE_IP = 1;
    private static final int CTA_TUPLE_PROTO = 2;
    private static final int CTA_PROTO_NUM = 1;
    private static final int CTA_PROTO_SRC_PORT = 2;
    private static final int CTA_PROTO_DST_PORT = 3;
    private static final int ENOENT = 2;

    private final LibC libc;
    private final Runtime runtime;
    private final AtomicInteger seq = new AtomicInteger((int) (System.nanoTime() & 0x7fffffff));

    private NetlinkConntrack(LibC libc) {
        this.libc = libc;
        this.runtime = Runtime.getRuntime(libc);
    }

    /** Loads libc; throws if the native library cannot be loaded. */
    public static NetlinkConntrack load() {
        return new NetlinkConntrack(LibraryLoader.create(LibC.class).load("c"));
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

    private int open() throws IOException {
        int fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (fd < 0) {
            throw new IOException("netlink socket: errno " + runtime.getLastError());
        }
        byte[] timeout = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(5).putLong(0).array();
        libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, timeout.length);
        byte[] addr = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder()).putShort((short) AF_NETLINK).array();
        if (libc.bind(fd, addr, addr.length) < 0) {
            int errno = runtime.getLastError();
            libc.close(fd);
            throw new IOException("netlink bind: errno " + errno);
        }
        return fd;
    }

    private void send(int fd, byte[] msg) throws IOException {
        byte[] kernel = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder()).putShort((short) AF_NETLINK).array();
        if (libc.sendto(fd, msg, msg.length, 0, kernel, kernel.length) < 0) {
            throw new IOException("netlink send: errno " + runtime.getLastError());
        }
    }

    private static int familyCode(IpFamily f) {
        return f == IpFamily.IPV4 ? 2 : 10;
    }

    @Override
    public List<Flow> dump(IpFamily family) throws IOException {
        int fd = open();
        try {
            int s = seq.incrementAndGet();
            send(fd, header(CT_GET, NLM_F_REQUEST | NLM_F_DUMP, s, familyCode(family), new byte[0]));
            List<Flow> out = new ArrayList<>();
            byte[] buf = new byte[1 << 17];
            while (true) {
                long n = libc.recv(fd, buf, buf.length, 0);
                if (n < 0) {
                    throw new IOException("netlink recv: errno " + runtime.getLastError());
                }
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, (int) n).order(ByteOrder.nativeOrder());
                while (bb.remaining() >= 16) {
                    int start = bb.position();
                    int len = bb.getInt();
                    int type = bb.getShort() & 0xffff;
                    bb.getShort();
                    bb.getInt();
                    bb.getInt();
                    if (len < 16 || start + len > bb.limit()) {
                        throw new IOException("truncated netlink message");
                    }
                    if (type == NLMSG_DONE) {
                        return out;
                    }
                    if (type == NLMSG_ERROR) {
                        int err = bb.getInt();
                        if (err != 0) {
                            throw new IOException("conntrack dump: errno " + (-err));
                        }
                    } else if (type == (CT_GET & 0xffff) || type == ((1 << 8))) {
                        Flow f = parseFlow(bb, start + 16 + 4, start + len, family);
                        if (f != null) {
                            out.add(f);
                        }
                    }
                    bb.position(start + align(len));
                }
            }
        } finally {
            libc.close(fd);
        }
    }

    @Override
    public boolean delete(IpFamily family, Flow flow) throws IOException {
        int fd = open();
        try {
            int s = seq.incrementAndGet();
            byte[] ip = nest(CTA_TUPLE_IP, concat(
                    attr(family == IpFamily.IPV4 ? 1 : 3, flow.origSrc().bytes()),
                    attr(family == IpFamily.IPV4 ? 2 : 4, flow.origDst().bytes())));
            byte[] proto = nest(CTA_TUPLE_PROTO, concat(
                    attr(CTA_PROTO_NUM, new byte[]{(byte) flow.protocol()}),
                    attr(CTA_PROTO_SRC_PORT, be16(flow.origSport())),
                    attr(CTA_PROTO_DST_PORT, be16(flow.origDport()))));
            byte[] tuple = nest(CTA_TUPLE_ORIG, concat(ip, proto));
            send(fd, header(CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, s, familyCode(family), tuple));
            byte[] buf = new byte[8192];
            long n = libc.recv(fd, buf, buf.length, 0);
            if (n < 0) {
                throw new IOException("netlink recv: errno " + runtime.getLastError());
            }
            ByteBuffer bb = ByteBuffer.wrap(buf, 0, (int) n).order(ByteOrder.nativeOrder());
            bb.getInt();
            int type = bb.getShort() & 0xffff;
            bb.position(16);
            if (type != NLMSG_ERROR) {
                throw new IOException("unexpected netlink answer type " + type);
            }
            int err = -bb.getInt();
            if (err == 0) {
                return true;
            }
            if (err == ENOENT) {
                return false;
            }
            throw new IOException("conntrack delete of " + flow + ": errno " + err);
        } finally {
            libc.close(fd);
        }
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

    static int align(int n) {
        return (n + 3) & ~3;
    }

    static byte[] header(int type, int flags, int seq, int family, byte[] payload) {
        int len = 16 + 4 + payload.length;
        ByteBuffer bb = ByteBuffer.allocate(len).order(ByteOrder.nativeOrder());
        bb.putInt(len).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
        bb.put((byte) family).put((byte) 0).putShort((short) 0);
        bb.put(payload);
        return bb.array();
    }

    static byte[] attr(int type, byte[] value) {
        int len = 4 + value.length;
        ByteBuffer bb = ByteBuffer.allocate(align(len)).order(ByteOrder.nativeOrder());
        bb.putShort((short) len).putShort((short) type).put(value);
        return bb.array();
    }

    static byte[] nest(int type, byte[] inner) {
        return attr(type | NLA_F_NESTED, inner);
    }

    static byte[] be16(int v) {
        return new byte[]{(byte) (v >> 8), (byte) v};
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int pos = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }
}
