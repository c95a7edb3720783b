package io.switchboard.backend.iptables;

import io.switchboard.core.backend.Availability;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.BackendProvider;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.Iptables;
import io.switchboard.netfilter.conntrack.Conntrack;
import io.switchboard.netfilter.conntrack.NetlinkConntrack;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.TreeSet;

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
        for (IpFamily f : new TreeSet<>(context.families())) {
            try {
                String v = iptables.version(f);
                iptables.save(f, "nat");
                LOG.info("iptables mode: {} ({})", v, f.kubernetesName());
            } catch (IOException e) {
                return Availability.unavailable("cannot use " + (f == IpFamily.IPV4 ? "iptables" : "ip6tables")
                        + " (is it installed, and does the process have CAP_NET_ADMIN?): " + e.getMessage());
            }
        }
        return Availability.AVAILABLE;
    }

    @Override
    public ProxyBackend create(BackendContext context) {
        Iptables iptables = new Iptables(CommandRunner.SYSTEM, Iptables.detectFlavor(CommandRunner.SYSTEM));
        Conntrack conntrack;
        try {
            conntrack = NetlinkConntrack.load();
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("conntrack over netlink is unavailable ({}); stale UDP entries will not be cleaned", e.toString());
            conntrack = null;
        }
        return new IptablesBackend(context, iptables, conntrack);
    }
}
