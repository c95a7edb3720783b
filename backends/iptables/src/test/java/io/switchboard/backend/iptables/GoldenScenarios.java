package io.switchboard.backend.iptables;

import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.netfilter.trace.PacketTracer.Packet;

import java.util.List;
import java.util.Set;

/**
 * The iptables mode's golden scenarios (every form: IPv4, IPv6, dual-stack) as other modes' tests
 * see them: objects, node, configuration and the flows to trace. Published in this module's
 * test-jar, so a test that runs several backends (e2e) can hold every mode to the same flows
 * without a backend importing another.
 */
public final class GoldenScenarios {
    private GoldenScenarios() {
    }

    /**
     * One scenario.
     *
     * @param name           the scenario and its form, as the golden test names it
     * @param config         the configuration that renders it (see {@code Scenario.config()})
     * @param families       the families it is rendered for
     * @param snapshot       a full snapshot of its objects
     * @param nodeAddresses  the node's own addresses (a tracer's local addresses)
     * @param flows          the new connections its golden file traces
     */
    public record Case(String name, ProxyConfig config, Set<IpFamily> families, ProxySnapshot snapshot,
                       Set<IpAddress> nodeAddresses, List<Packet> flows) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** Every golden scenario in every form. */
    public static List<Case> all() {
        return GoldenScenarioTest.matrix()
                .map(s -> new Case(s.toString(), s.config(), s.families(), s.fullSnapshot(), Set.copyOf(s.node.addresses()),
                        List.copyOf(s.flows)))
                .toList();
    }

    /** A flow as the golden files write it. */
    public static String describe(Packet p) {
        return GoldenScenarioTest.describe(p);
    }
}
