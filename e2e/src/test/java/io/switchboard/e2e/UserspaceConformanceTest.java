package io.switchboard.e2e;

import io.switchboard.testkit.TestCluster;

import java.util.List;
import java.util.Set;

/**
 * The conformance suite in userspace mode, with its documented differences (backends/userspace
 * README): endpoints see the node as the client, a restart ends proxied connections, UDP flows are
 * proxy sessions, there is no canary chain, and a connection without a usable endpoint is reset. It runs with {@code --bind-address} set to the
 * node's IP, so pod traffic is DNATed there: REDIRECT needs an IPv4 address on the interface a
 * packet arrives on, and Calico-style pod interfaces have none (as kube-proxy's userspace mode needed).
 */
class UserspaceConformanceTest extends ConformanceSuite {
    @Override
    protected String mode() {
        return "userspace";
    }

    @Override
    protected String entryChain() {
        return "KUBE-PORTALS-CONTAINER";
    }

    @Override
    protected List<String> extraArgs() {
        return List.of("--bind-address", TestCluster.NODE_IP);
    }

    @Override
    protected Set<Difference> differences() {
        return Set.of(Difference.SOURCE_IS_THE_NODE, Difference.RESTART_ENDS_PROXIED_CONNECTIONS,
                Difference.UDP_SESSIONS_IN_THE_PROXY, Difference.NO_CANARY, Difference.NO_LOCAL_ENDPOINT_RESETS,
                Difference.EXPLAIN_ENDS_AT_THE_PROXY);
    }
}
