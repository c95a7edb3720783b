package io.switchboard.netfilter.link;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.netlink.Errno;
import io.switchboard.netfilter.netlink.NetlinkException;
import io.switchboard.netfilter.netlink.NetlinkSocket;
import io.switchboard.netfilter.netlink.Replies;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** {@link Links} over rtnetlink, one short-lived socket per call (in a given network namespace, or ours). */
public final class NetlinkLinks implements Links {
    static final int ENODEV = 19;
    static final int EADDRNOTAVAIL = 99;
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private final Path netns;

    public NetlinkLinks() {
        this(null);
    }

    /** @param netns a network namespace file such as {@code /run/netns/NAME}, or null for the caller's */
    public NetlinkLinks(Path netns) {
        this.netns = netns;
    }

    private NetlinkSocket open() throws IOException {
        return NetlinkSocket.open(NetlinkSocket.NETLINK_ROUTE, TIMEOUT, netns);
    }

    @Override
    public int index(String name) throws IOException {
        try (NetlinkSocket s = open()) {
            int seq = NetlinkSocket.nextSeq();
            for (Replies.Message m : s.request(RtnlCodec.getLink(name, seq), seq, false, "link " + name)) {
                RtnlCodec.Link l = RtnlCodec.parseLink(m);
                if (l != null) {
                    return l.index();
                }
            }
            return -1;
        } catch (NetlinkException e) {
            if (e.errno() == ENODEV) {
                return -1;
            }
            throw e;
        }
    }

    @Override
    public int ensureDummy(String name) throws IOException {
        int index = index(name);
        if (index >= 0) {
            return index;
        }
        try (NetlinkSocket s = open()) {
            int seq = NetlinkSocket.nextSeq();
            s.request(RtnlCodec.newDummy(name, seq), seq, false, "create dummy link " + name);
        } catch (NetlinkException e) {
            if (e.errno() != Errno.EEXIST) {
                throw e;
            }
        }
        index = index(name);
        if (index < 0) {
            throw new IOException("dummy link " + name + " was created but cannot be found");
        }
        return index;
    }

    @Override
    public boolean delete(String name) throws IOException {
        int index = index(name);
        if (index < 0) {
            return false;
        }
        try (NetlinkSocket s = open()) {
            int seq = NetlinkSocket.nextSeq();
            s.request(RtnlCodec.deleteLink(index, seq), seq, false, "delete link " + name);
            return true;
        } catch (NetlinkException e) {
            if (e.errno() == ENODEV) {
                return false;
            }
            throw e;
        }
    }

    @Override
    public List<IpAddress> addresses(int index, IpFamily family) throws IOException {
        List<IpAddress> out = new ArrayList<>();
        try (NetlinkSocket s = open()) {
            int seq = NetlinkSocket.nextSeq();
            for (Replies.Message m : s.request(RtnlCodec.dumpAddresses(family, seq), seq, true, "address dump")) {
                RtnlCodec.Address a = RtnlCodec.parseAddress(m);
                if (a != null && a.index() == index && a.address().family() == family) {
                    out.add(a.address());
                }
            }
        }
        return out;
    }

    @Override
    public boolean addAddress(int index, IpAddress address) throws IOException {
        try (NetlinkSocket s = open()) {
            int seq = NetlinkSocket.nextSeq();
            s.request(RtnlCodec.address(true, index, address, seq), seq, false, "bind " + address.hostCidr());
            return true;
        } catch (NetlinkException e) {
            if (e.errno() == Errno.EEXIST) {
                return false;
            }
            throw e;
        }
    }

    @Override
    public boolean deleteAddress(int index, IpAddress address) throws IOException {
        try (NetlinkSocket s = open()) {
            int seq = NetlinkSocket.nextSeq();
            s.request(RtnlCodec.address(false, index, address, seq), seq, false, "unbind " + address.hostCidr());
            return true;
        } catch (NetlinkException e) {
            if (e.errno() == EADDRNOTAVAIL || e.errno() == Errno.ENOENT) {
                return false;
            }
            throw e;
        }
    }
}
