package io.switchboard.netfilter.conntrack;

import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.sync.ProxySnapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;

/**
 * After a family's rules are in the kernel: deletes the UDP conntrack entries the snapshot's
 * conntrack work makes stale ({@link ConntrackPlanner}), counts them in the kube-proxy metric, and
 * logs rather than fails when the table cannot be read. Shared by the kernel data paths.
 */
public final class ConntrackCleanup {
    private static final Logger LOG = LoggerFactory.getLogger(ConntrackCleanup.class);

    private ConntrackCleanup() {
    }

    /** @param conntrack the table, or null when ctnetlink could not be loaded (nothing to do) */
    public static void run(ProxySnapshot snapshot, IpFamily family, Conntrack conntrack, ProxyMetrics metrics) {
        if (snapshot.conntrack().isEmpty() || conntrack == null) {
            return;
        }
        try {
            List<Flow> stale = ConntrackPlanner.plan(snapshot, family, conntrack.dump(family));
            int deleted = 0;
            for (Flow f : stale) {
                if (conntrack.delete(family, f)) {
                    // counted as it goes: the client's next packet may already take the new path
                    metrics.conntrackDeleted(family, 1);
                    deleted++;
                    LOG.debug("deleted stale conntrack entry {}", f);
                }
            }
            if (deleted > 0) {
                LOG.info("{}: deleted {} stale UDP conntrack entries", family.kubernetesName(), deleted);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: conntrack cleanup failed: {}", family.kubernetesName(), e.getMessage());
        }
    }
}
