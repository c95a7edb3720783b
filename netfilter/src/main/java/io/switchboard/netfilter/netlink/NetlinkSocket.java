package io.switchboard.netfilter.netlink;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One netlink socket of a protocol (libc through jnr-ffi): send whole buffers, receive into a
 * buffer, parsed by {@link Replies}. Thin on purpose: what is sent and how answers are read lives
 * in the callers, which are tested on bytes. Not thread-safe; close it when done.
 */
public final class NetlinkSocket implements Closeable {
    public static final int NETLINK_ROUTE = 0;
    public static final int NETLINK_NETFILTER = 12;
    public static final int NETLINK_GENERIC = 16;

    /** The libc calls used. */
    public interface LibC {
        int socket(int domain, int type, int protocol);

        int bind(int fd, @In byte[] addr, int len);

        long sendto(int fd, @In byte[] buf, long len, int flags, @In byte[] addr, int addrLen);

        long recv(int fd, @Out byte[] buf, long len, int flags);

        int close(int fd);

        int setsockopt(int fd, int level, int name, @In byte[] value, int len);

        int open(String path, int flags);

        int setns(int fd, int nstype);
    }

    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_SNDBUFFORCE = 32;
    private static final int SO_RCVBUFFORCE = 33;
    private static final int SO_RCVTIMEO = 20;
    private static final int SOL_NETLINK = 270;
    private static final int NETLINK_CAP_ACK = 10;
    private static final int EINTR = 4;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int CLONE_NEWNET = 0x40000000;

    private static volatile LibC shared;
    private static final AtomicInteger SEQ = new AtomicInteger((int) (System.nanoTime() & 0x3fffffff));

    private final LibC libc;
    private final Runtime runtime;
    private final int fd;
    private boolean closed;

    private NetlinkSocket(LibC libc, int fd) {
        this.libc = libc;
        this.runtime = Runtime.getRuntime(libc);
        this.fd = fd;
    }

    /** libc, loaded once; throws if the native library cannot be loaded. */
    public static LibC libc() {
        LibC l = shared;
        if (l == null) {
            synchronized (NetlinkSocket.class) {
                if (shared == null) {
                    shared = LibraryLoader.create(LibC.class).load("c");
                }
                l = shared;
            }
        }
        return l;
    }

    /** A process-wide increasing sequence number (one space for every socket, so logs never repeat one). */
    public static int nextSeq() {
        return SEQ.incrementAndGet() & 0x7fffffff;
    }

    /**
     * Opens and binds a socket; answers to a failed request carry only its header (no echo of a
     * large batch); a receive waits at most {@code timeout}.
     */
    public static NetlinkSocket open(int protocol, Duration timeout) throws IOException {
        return open(protocol, timeout, null);
    }

    /**
     * As {@link #open(int, Duration)}, the socket made in the network namespace of a file such as
     * {@code /run/netns/NAME} (null: the caller's). The calling thread enters the namespace only
     * for the {@code socket} call; a socket keeps the namespace it was made in.
     */
    public static NetlinkSocket open(int protocol, Duration timeout, Path netns) throws IOException {
        LibC libc = libc();
        Runtime rt = Runtime.getRuntime(libc);
        int fd = netns == null ? libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol) : socketIn(libc, rt, protocol, netns);
        if (fd < 0) {
            throw new IOException("netlink socket (protocol " + protocol + "): " + Errno.describe(rt.getLastError()));
        }
        NetlinkSocket s = new NetlinkSocket(libc, fd);
        try {
            long secs = timeout.toSeconds();
            long usec = timeout.toNanosPart() / 1000;
            byte[] tv = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(secs).putLong(usec).array();
            libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, tv.length);
            libc.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, MessageBuilder.host32(1), 4);
            byte[] addr = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder()).putShort((short) AF_NETLINK).array();
            if (libc.bind(fd, addr, addr.length) < 0) {
                throw new IOException("netlink bind: " + Errno.describe(rt.getLastError()));
            }
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private static int socketIn(LibC libc, Runtime rt, int protocol, Path netns) throws IOException {
        int target = libc.open(netns.toString(), O_RDONLY | O_CLOEXEC);
        if (target < 0) {
            throw new IOException("open " + netns + ": " + Errno.describe(rt.getLastError()));
        }
        int home = libc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        try {
            if (home < 0) {
                throw new IOException("open /proc/thread-self/ns/net: " + Errno.describe(rt.getLastError()));
            }
            if (libc.setns(target, CLONE_NEWNET) < 0) {
                throw new IOException("setns " + netns + ": " + Errno.describe(rt.getLastError()));
            }
            try {
                return libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
            } finally {
                if (libc.setns(home, CLONE_NEWNET) < 0) {
                    throw new IllegalStateException("could not return to the thread's own network namespace: "
                            + Errno.describe(rt.getLastError()));
                }
            }
        } finally {
            libc.close(target);
            if (home >= 0) {
                libc.close(home);
            }
        }
    }

    /** Raises the send and receive buffers past the system limits (needs CAP_NET_ADMIN; best effort). */
    public void buffers(int send, int receive) {
        libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, MessageBuilder.host32(send), 4);
        libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, MessageBuilder.host32(receive), 4);
    }

    /** Sends one buffer (one or more messages) to the kernel. */
    public void send(byte[] bytes) throws IOException {
        byte[] kernel = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder()).putShort((short) AF_NETLINK).array();
        while (true) {
            if (libc.sendto(fd, bytes, bytes.length, 0, kernel, kernel.length) >= 0) {
                return;
            }
            int errno = runtime.getLastError();
            if (errno != EINTR) {
                throw new IOException("netlink send of " + bytes.length + " bytes: " + Errno.describe(errno));
            }
        }
    }

    /** Receives what is queued (blocking up to the timeout) and parses it. */
    public List<Replies.Message> receive(byte[] buf) throws IOException {
        while (true) {
            long n = libc.recv(fd, buf, buf.length, 0);
            if (n >= 0) {
                return Replies.parse(buf, (int) n);
            }
            int errno = runtime.getLastError();
            if (errno == 11) {
                throw new IOException("netlink receive: no answer from the kernel in time");
            }
            if (errno != EINTR) {
                throw new NetlinkException("netlink receive", errno, 0);
            }
        }
    }

    /**
     * Sends one request and collects its answer: for a dump every data message up to
     * {@code NLMSG_DONE}, otherwise the data messages (if any) up to the acknowledgement the request
     * asked for with {@code NLM_F_ACK}. Messages with another sequence number are skipped. An errno
     * is thrown as a {@link NetlinkException} naming {@code what}.
     */
    public List<Replies.Message> request(byte[] message, int seq, boolean dump, String what) throws IOException {
        send(message);
        List<Replies.Message> out = new java.util.ArrayList<>();
        while (true) {
            // a fresh buffer per receive: the messages returned point into it
            for (Replies.Message m : receive(new byte[1 << 16])) {
                if (m.seq() != seq && !(m.isError() && m.requestSeq() == seq)) {
                    continue;
                }
                if (m.isDone()) {
                    return out;
                }
                if (m.isError()) {
                    if (m.errno() != 0) {
                        throw new NetlinkException(what, m.errno(), seq);
                    }
                    if (!dump) {
                        return out;
                    }
                } else {
                    out.add(m);
                    if (!dump && (m.flags() & 0x2) == 0 && (message.length < 8 || (readFlags(message) & MessageBuilder.NLM_F_ACK) == 0)) {
                        // a single answer, no acknowledgement asked for
                        return out;
                    }
                }
            }
        }
    }

    /**
     * Sends many requests that each ask for an acknowledgement, back to back (several per send, a
     * bounded number unanswered at a time), and collects every answer: message {@code i} must carry
     * sequence number {@code firstSeq + i}. The kernel handles each on its own and goes on after a
     * failure. Returns the errno of each failed request by its index (empty: all succeeded).
     */
    public java.util.Map<Integer, Integer> pipeline(List<byte[]> messages, int firstSeq) throws IOException {
        java.util.Map<Integer, Integer> failed = new java.util.TreeMap<>();
        int n = messages.size();
        int sent = 0;
        int answered = 0;
        boolean[] done = new boolean[n];
        byte[] buf = new byte[1 << 16];
        while (answered < n) {
            if (sent < n && sent - answered < PIPELINE_WINDOW) {
                java.io.ByteArrayOutputStream chunk = new java.io.ByteArrayOutputStream();
                while (sent < n && sent - answered < PIPELINE_WINDOW && chunk.size() + messages.get(sent).length <= PIPELINE_CHUNK) {
                    chunk.writeBytes(messages.get(sent++));
                }
                if (chunk.size() == 0) {
                    chunk.writeBytes(messages.get(sent++));
                }
                send(chunk.toByteArray());
                continue;
            }
            for (Replies.Message m : receive(buf)) {
                if (!m.isError()) {
                    continue;
                }
                int i = m.requestSeq() - firstSeq;
                if (i < 0 || i >= n || done[i]) {
                    continue;
                }
                done[i] = true;
                answered++;
                if (m.errno() != 0) {
                    failed.put(i, m.errno());
                }
            }
        }
        return failed;
    }

    /** Requests unanswered at a time in {@link #pipeline}, and bytes per send. */
    static final int PIPELINE_WINDOW = 512;
    static final int PIPELINE_CHUNK = 32 * 1024;

    /** {@code n} consecutive sequence numbers; the first. */
    public static int reserveSeqs(int n) {
        return SEQ.getAndAdd(Math.max(1, n)) & 0x3fffffff;
    }

    private static int readFlags(byte[] message) {
        return ByteBuffer.wrap(message, 6, 2).order(ByteOrder.nativeOrder()).getShort() & 0xffff;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            libc.close(fd);
        }
    }
}
