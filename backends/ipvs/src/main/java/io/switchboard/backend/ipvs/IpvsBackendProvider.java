package io.switchboard.backend.ipvs;

import io.switchboard.core.backend.Availability;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.BackendProvider;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.Iptables;
import io.switchboard.netfilter.link.NetlinkLinks;
import io.switchboard.netfilter.netlink.Errno;
import io.switchboard.netfilter.netlink.NetlinkException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/** {@code --proxy-mode=ipvs}. */
public final class IpvsBackendProvider implements BackendProvider {
    private static final Logger LOG = LoggerFactory.getLogger(IpvsBackendProvider.class);
    /** Said when this kernel has no IPVS: where it can be tried instead. */
    public static final String NO_IPVS_HINT = "this kernel has no IPVS (the ip_vs module is missing or cannot be loaded);"
            + " on a development machine run it in a QEMU guest with IPVS: vm/run -- bin/switchboard demo --proxy-mode ipvs"
            + " (see vm/README.md)";
    private NetlinkIpvs ipvs;

    @Override
    public String mode() {
        return "ipvs";
    }

    @Override
    public Availability probe(BackendContext context) {
        try {
            ipvs = open();
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENOENT) {
                return Availability.unavailable(NO_IPVS_HINT);
            }
            return Availability.unavailable("ipvs mode: the IPVS generic netlink family: " + e.getMessage());
        } catch (IOException | UnsatisfiedLinkError | RuntimeException e) {
            return Availability.unavailable("ipvs mode needs netlink through libc: " + e);
        }
        try {
            CommandRunner.Result r = CommandRunner.SYSTEM.run(List.of("ipset", "version"), null, Duration.ofSeconds(10));
            if (!r.ok()) {
                return Availability.unavailable("ipvs mode needs ipset: " + r.stderr().strip());
            }
            LOG.info("ipvs mode: IPVS {}, {}", ipvs.version(), r.stdout().strip());
        } catch (IOException e) {
            return Availability.unavailable("ipvs mode needs the ipset command (Debian package ipset): " + e.getMessage());
        }
        Iptables iptables = new Iptables(CommandRunner.SYSTEM, Iptables.detectFlavor(CommandRunner.SYSTEM));
        try {
            iptables.probe(context.families()).forEach(v -> LOG.info("ipvs mode: companion rules with {}", v));
        } catch (IOException e) {
            return Availability.unavailable("ipvs mode needs its companion iptables rules: " + e.getMessage());
        }
        return Availability.AVAILABLE;
    }

    /** Resolves the IPVS family, loading the module first when the kernel does not have it yet. */
    static NetlinkIpvs open() throws IOException {
        try {
            return NetlinkIpvs.open(null);
        } catch (NetlinkException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
            try {
                CommandRunner.SYSTEM.run(List.of("modprobe", "-q", "ip_vs"), null, Duration.ofSeconds(10));
            } catch (IOException ignored) {
                throw e;
            }
            return NetlinkIpvs.open(null);
        }
    }

    @Override
    public ProxyBackend create(BackendContext context) {
        NetlinkIpvs client = ipvs;
        if (client == null) {
            try {
                client = open();
            } catch (IOException e) {
                throw new IllegalStateException(NO_IPVS_HINT + ": " + e.getMessage(), e);
            }
        }
        return new IpvsBackend(context, client, new NetlinkLinks(),
                new Iptables(CommandRunner.SYSTEM, Iptables.detectFlavor(CommandRunner.SYSTEM)), CommandRunner.SYSTEM,
                IpvsBackend.Sysctls.PROC, io.switchboard.netfilter.conntrack.NetlinkConntrack.loadOrNull());
    }
}
