package io.switchboard.backend.ipvs;

import io.switchboard.netfilter.netlink.Genl;
import io.switchboard.netfilter.netlink.NetlinkSocket;
import io.switchboard.netfilter.netlink.Replies;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link Ipvs} over generic netlink. The family is resolved once; one socket is opened per call
 * (in the given network namespace or the caller's), so the client is safe to share.
 *
 * <p>Fault injection for tests, as in the nftables mode: when the environment variable
 * {@value #FAULT_ENV} names a file that exists, every operation of {@link #applyAll} whose
 * {@link #faultText} (the operation and its virtual server, e.g. {@code AddService TCP [fd00::66]:80})
 * matches one of the file's lines (regular expressions) is sent naming an unknown address family,
 * which the kernel refuses (EAFNOSUPPORT).
 */
public final class NetlinkIpvs implements Ipvs {
    static final String FAULT_ENV = "SWITCHBOARD_NETLINK_FAULT";
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private final Path netns;
    private final IpvsCodec codec;
    private final Path faultFile;

    private NetlinkIpvs(Path netns, IpvsCodec codec, Path faultFile) {
        this.netns = netns;
        this.codec = codec;
        this.faultFile = faultFile;
    }

    /**
     * Resolves the {@code IPVS} family.
     *
     * @throws io.switchboard.netfilter.netlink.NetlinkException with ENOENT when the kernel has no IPVS
     *                                                          (module not loaded or not built)
     */
    public static NetlinkIpvs open(Path netns) throws IOException {
        try (NetlinkSocket s = NetlinkSocket.open(NetlinkSocket.NETLINK_GENERIC, TIMEOUT, netns)) {
            Genl.Family f = Genl.resolve(s, IpvsCodec.FAMILY);
            String fault = System.getenv(FAULT_ENV);
            return new NetlinkIpvs(netns, new IpvsCodec(f.id()), fault == null || fault.isBlank() ? null : Path.of(fault));
        }
    }

    private List<Replies.Message> call(byte[] msg, int seq, boolean dump, String what) throws IOException {
        try (NetlinkSocket s = NetlinkSocket.open(NetlinkSocket.NETLINK_GENERIC, TIMEOUT, netns)) {
            if (dump) {
                s.buffers(1 << 20, 1 << 22);
            }
            return s.request(msg, seq, dump, what);
        }
    }

    @Override
    public List<VirtualServer> services() throws IOException {
        int seq = NetlinkSocket.nextSeq();
        List<VirtualServer> out = new ArrayList<>();
        for (Replies.Message m : call(codec.dumpServices(seq), seq, true, "IPVS service dump")) {
            VirtualServer vs = IpvsCodec.parseService(m);
            if (vs != null) {
                out.add(vs);
            }
        }
        return out;
    }

    @Override
    public List<RealServer> destinations(VirtualServer.Key service) throws IOException {
        int seq = NetlinkSocket.nextSeq();
        List<RealServer> out = new ArrayList<>();
        for (Replies.Message m : call(codec.dumpDestinations(service, seq), seq, true, "IPVS destinations of " + service)) {
            RealServer rs = IpvsCodec.parseDestination(m, service.family());
            if (rs != null) {
                out.add(rs);
            }
        }
        return out;
    }

    @Override
    public void addService(VirtualServer vs) throws IOException {
        int seq = NetlinkSocket.nextSeq();
        call(codec.newService(vs, seq), seq, false, "add IPVS service " + vs.key());
    }

    @Override
    public void updateService(VirtualServer vs) throws IOException {
        int seq = NetlinkSocket.nextSeq();
        call(codec.setService(vs, seq), seq, false, "update IPVS service " + vs.key());
    }

    @Override
    public void deleteService(VirtualServer.Key service) throws IOException {
        int seq = NetlinkSocket.nextSeq();
        call(codec.deleteService(service, seq), seq, false, "delete IPVS service " + service);
    }

    @Override
    public void addDestination(VirtualServer.Key service, RealServer rs) throws IOException {
        int seq = NetlinkSocket.nextSeq();
        call(codec.newDestination(service, rs, seq), seq, false, "add real server " + rs.key() + " to " + service);
    }

    @Override
    public void updateDestination(VirtualServer.Key service, RealServer rs) throws IOException {
        int seq = NetlinkSocket.nextSeq();
        call(codec.setDestination(service, rs, seq), seq, false, "update real server " + rs.key() + " of " + service);
    }

    @Override
    public void deleteDestination(VirtualServer.Key service, RealServer.Key rs) throws IOException {
        int seq = NetlinkSocket.nextSeq();
        call(codec.deleteDestination(service, rs, seq), seq, false, "delete real server " + rs + " of " + service);
    }

    /**
     * Pipelined: every IPVS operation goes on one socket, many per send, each acknowledged (IPVS has
     * no batches, but the kernel takes the messages of one send in order) — a sync of 100,000 real
     * servers costs a few hundred system calls instead of a socket per operation.
     */
    @Override
    public java.util.Map<Integer, IOException> applyAll(List<IpvsOp> ops) {
        List<byte[]> messages = new ArrayList<>();
        List<Integer> index = new ArrayList<>();
        int first = NetlinkSocket.reserveSeqs(ops.size());
        List<java.util.regex.Pattern> faults = faults();
        for (int i = 0; i < ops.size(); i++) {
            byte[] m = message(ops.get(i), first + messages.size());
            if (m != null && !faults.isEmpty()) {
                String text = faultText(ops.get(i));
                if (faults.stream().anyMatch(p -> p.matcher(text).find())) {
                    m = IpvsCodec.withUnknownFamily(m);
                }
            }
            if (m != null) {
                messages.add(m);
                index.add(i);
            }
        }
        java.util.Map<Integer, IOException> failed = new java.util.TreeMap<>();
        if (messages.isEmpty()) {
            return failed;
        }
        try (NetlinkSocket s = NetlinkSocket.open(NetlinkSocket.NETLINK_GENERIC, TIMEOUT, netns)) {
            s.buffers(1 << 22, 1 << 22);
            for (java.util.Map.Entry<Integer, Integer> e : s.pipeline(messages, first).entrySet()) {
                int i = index.get(e.getKey());
                failed.put(i, new io.switchboard.netfilter.netlink.NetlinkException(ops.get(i).toString(), e.getValue(), first + e.getKey()));
            }
        } catch (IOException e) {
            // the socket itself failed: every operation is in doubt (the caller re-reads the kernel)
            for (int i : index) {
                failed.putIfAbsent(i, e);
            }
        }
        return failed;
    }

    /** What the fault file's patterns are matched against: the operation's kind and its virtual server. */
    static String faultText(IpvsOp op) {
        return op.getClass().getSimpleName() + " " + IpvsOp.key(op);
    }

    /** The fault file's patterns while it exists (tests), else none. */
    private List<java.util.regex.Pattern> faults() {
        if (faultFile == null || !java.nio.file.Files.exists(faultFile)) {
            return List.of();
        }
        try {
            return java.nio.file.Files.readAllLines(faultFile).stream().filter(l -> !l.isBlank()).map(java.util.regex.Pattern::compile).toList();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    private byte[] message(IpvsOp op, int seq) {
        if (op instanceof IpvsOp.AddService a) {
            return codec.newService(a.service(), seq);
        } else if (op instanceof IpvsOp.UpdateService u) {
            return codec.setService(u.service(), seq);
        } else if (op instanceof IpvsOp.DeleteService d) {
            return codec.deleteService(d.service(), seq);
        } else if (op instanceof IpvsOp.AddDestination a) {
            return codec.newDestination(a.service(), a.destination(), seq);
        } else if (op instanceof IpvsOp.UpdateDestination u) {
            return codec.setDestination(u.service(), u.destination(), seq);
        } else if (op instanceof IpvsOp.DeleteDestination d) {
            return codec.deleteDestination(d.service(), d.destination(), seq);
        }
        return null;
    }

    @Override
    public void setTimeouts(int tcp, int tcpFin, int udp) throws IOException {
        int seq = NetlinkSocket.nextSeq();
        call(codec.setTimeouts(tcp, tcpFin, udp, seq), seq, false, "IPVS timeouts");
    }

    @Override
    public String version() throws IOException {
        int seq = NetlinkSocket.nextSeq();
        for (Replies.Message m : call(codec.getInfo(seq), seq, false, "IPVS info")) {
            return IpvsCodec.parseVersion(m);
        }
        return "unknown";
    }
}
