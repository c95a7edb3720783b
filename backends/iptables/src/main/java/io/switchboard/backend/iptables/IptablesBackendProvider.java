package io.switchboard.backend.iptables;

import io.switchboard.core.backend.Availability;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.BackendProvider;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.Iptables;
import io.switchboard.netfilter.conntrack.NetlinkConntrack;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

/** {@code --proxy-mode=iptables}. */
public final class IptablesBackendProvider implements BackendProvider {
    private static final Logger LOG = LoggerFactory.getLogger(IptablesBackendProvider.class);

    @Override
    public String mode() {
        return "iptables";
    }

    @Override
    public Availability probe(BackendContext context) {
        Iptables iptables = new Iptables(CommandRunner.SYSTEM, Iptables.detectFlavor(CommandRunner.SYSTEM));
        try {
            iptables.probe(context.families()).forEach(v -> LOG.info("iptables mode: {}", v));
        } catch (IOException e) {
            return Availability.unavailable(e.getMessage());
        }
        return Availability.AVAILABLE;
    }

    @Override
    public ProxyBackend create(BackendContext context) {
        Iptables iptables = new Iptables(CommandRunner.SYSTEM, Iptables.detectFlavor(CommandRunner.SYSTEM));
        return new IptablesBackend(context, iptables, NetlinkConntrack.loadOrNull());
    }
}
