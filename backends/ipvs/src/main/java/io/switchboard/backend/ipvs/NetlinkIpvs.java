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
 */
public final class NetlinkIpvs implements Ipvs {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private final Path netns;
    private final IpvsCodec codec;

    private NetlinkIpvs(Path netns, IpvsCodec codec) {
        this.netns = netns;
        this.codec = codec;
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
            return new NetlinkIpvs(netns, new IpvsCodec(f.id()));
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
