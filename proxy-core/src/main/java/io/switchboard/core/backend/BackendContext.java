package io.switchboard.core.backend;

import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.IpFamily;

import java.time.Clock;
import java.util.Set;

/**
 * What a backend gets at creation.
 *
 * @param config   the validated configuration
 * @param nodeName this node's name
 * @param families the IP families to program
 * @param metrics  where to report
 * @param clock    time source
 * @param health   the proxy's health (service health-check servers report it)
 */
public record BackendContext(ProxyConfig config, String nodeName, Set<IpFamily> families, ProxyMetrics metrics,
                             Clock clock, ProxyHealth health) {
    public BackendContext {
        families = Set.copyOf(families);
    }
}
