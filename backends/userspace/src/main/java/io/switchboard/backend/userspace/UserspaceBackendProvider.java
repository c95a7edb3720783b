package io.switchboard.backend.userspace;

import io.switchboard.core.backend.Availability;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.BackendProvider;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.Iptables;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

/** {@code --proxy-mode=userspace}. */
public final class UserspaceBackendProvider implements BackendProvider {
    private static final Logger LOG = LoggerFactory.getLogger(UserspaceBackendProvider.class);

    @Override
    public String mode() {
        return "userspace";
    }

    @Override
    public Availability probe(BackendContext context) {
        Iptables iptables = new Iptables(CommandRunner.SYSTEM, Iptables.detectFlavor(CommandRunner.SYSTEM));
        try {
            iptables.probe(context.families()).forEach(v -> LOG.info("userspace mode: portal rules with {}", v));
        } catch (IOException e) {
            return Availability.unavailable("userspace mode needs its portal rules: " + e.getMessage());
        }
        String why = Transport.epollUnavailability();
        if (why != null) {
            LOG.warn("userspace mode: native epoll is unavailable ({}); using NIO", why);
        }
        return Availability.AVAILABLE;
    }

    @Override
    public ProxyBackend create(BackendContext context) {
        return new UserspaceBackend(context, new Iptables(CommandRunner.SYSTEM, Iptables.detectFlavor(CommandRunner.SYSTEM)),
                Transport.best(), io.switchboard.netfilter.conntrack.NetlinkConntrack.loadOrNull());
    }
}
