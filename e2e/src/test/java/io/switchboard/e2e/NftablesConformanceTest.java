package io.switchboard.e2e;

import io.switchboard.testkit.Netns;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The conformance suite in nftables mode. The same flows as iptables mode; what differs is only
 * where the suite looks: the tables {@code ip kube-proxy} / {@code ip6 kube-proxy}, service ports
 * named {@code ns/svc/proto/port} in chain names, the {@code services} chain as the entry, and a
 * flush noticed by reading that chain back before each sync: there is no canary chain (documented
 * difference {@link Difference#NO_CANARY}; the repair is asserted by traffic and the log).
 */
class NftablesConformanceTest extends ConformanceSuite {
    @Override
    protected String mode() {
        return "nftables";
    }

    @Override
    protected String entryChain() {
        return "services";
    }

    @Override
    protected Set<Difference> differences() {
        return Set.of(Difference.NO_CANARY, Difference.UNSERVED_CLUSTER_IP_PORTS_REFUSED);
    }

    @Override
    protected String rules(String node, Fam f) {
        try {
            return Netns.exec(node, "nft", "list", "table", f == Fam.V4 ? "ip" : "ip6", "kube-proxy");
        } catch (RuntimeException e) {
            return "";
        }
    }

    @Override
    protected String ruleMark(String svc, String port, String proto) {
        return "ns/" + svc + "/" + proto + "/" + port;
    }

    @Override
    protected void flushEntry(String node) {
        Netns.exec(node, "nft", "flush", "chain", "ip", "kube-proxy", "services");
    }

    @Override
    protected String flushRepairLog() {
        return "the services chain of table ip kube-proxy is gone or changed";
    }

    @Override
    protected long serviceRuleCount(String node) {
        String maps = Netns.exec(node, "nft", "list", "map", "ip", "kube-proxy", "service-ips")
                + Netns.exec(node, "nft", "list", "map", "ip", "kube-proxy", "no-endpoint-services");
        return maps.split(" : ", -1).length - 1;
    }

    @Override
    protected void assertCleanedUp(String node) {
        super.assertCleanedUp(node);
        assertThat(Netns.exec(node, "nft", "list", "tables")).doesNotContain("kube-proxy");
    }
}
