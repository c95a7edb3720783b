package io.switchboard.netfilter;

import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.ServicePortName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.switchboard.core.backend.SyncException;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Per family, the service ports whose rules the kernel rejected at the last sync: a backend leaves
 * them out, applies every other one, and tries them again with each sync. Shared by the modes that
 * restore rule text; it logs ports that are accepted again and feeds the rejected-ports metrics.
 */
public final class RejectedServicePorts {
    private static final Logger LOG = LoggerFactory.getLogger(RejectedServicePorts.class);
    private final Map<IpFamily, Set<ServicePortName>> rejected = new EnumMap<>(IpFamily.class);

    /** The ports left out at the family's last sync. */
    public Set<ServicePortName> last(IpFamily family) {
        return rejected.getOrDefault(family, Set.of());
    }

    /** The snapshot with the services of the family's rejected ports marked as changed: they are tried again with every sync. */
    public ProxySnapshot withRetries(IpFamily family, ProxySnapshot snapshot) {
        Set<io.switchboard.core.model.NamespacedName> retry = new java.util.HashSet<>();
        last(family).forEach(p -> retry.add(p.service()));
        return snapshot.withChanged(retry);
    }

    /**
     * Logs that the kernel rejected a port's rules and it is left out: an error the first time, a
     * debug line while it stays rejected.
     */
    public void logRejected(IpFamily family, ServicePortName port, String error, String context) {
        if (last(family).contains(port)) {
            LOG.debug("{}: the rules of {} are still rejected; leaving it out again", family.kubernetesName(), port);
        } else {
            LOG.error("{}: the kernel rejected the rules of service port {}; leaving it out and applying every"
                    + " other service (retried with each sync): {}{}", family.kubernetesName(), port, error, context);
        }
    }

    /**
     * Runs a sync for each family (in order), each on its own: one family's failure does not stop
     * the other's. Returns the failures' messages, empty when every family synced.
     */
    public static List<String> eachFamily(Set<IpFamily> families, FamilySync sync) {
        List<String> failures = new ArrayList<>();
        for (IpFamily family : new TreeSet<>(families)) {
            try {
                sync.sync(family);
            } catch (SyncException e) {
                failures.add(e.getMessage());
            }
        }
        return failures;
    }

    /** One family's sync. */
    public interface FamilySync {
        void sync(IpFamily family) throws SyncException;
    }

    /** After a family's successful sync that left out {@code excluded}: log, count, remember. */
    public void record(IpFamily family, Set<ServicePortName> excluded, ProxySnapshot snapshot, ProxyMetrics metrics) {
        Set<ServicePortName> before = last(family);
        int newly = 0;
        for (ServicePortName p : excluded) {
            newly += before.contains(p) ? 0 : 1;
        }
        for (ServicePortName p : before) {
            if (!excluded.contains(p) && snapshot.services().containsKey(p)) {
                LOG.info("{}: the rules of {} are accepted now", family.kubernetesName(), p);
            }
        }
        rejected.put(family, Set.copyOf(excluded));
        metrics.rejectedServicePorts(family, excluded.size(), newly);
    }
}
