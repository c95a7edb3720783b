package io.switchboard.netfilter.conntrack;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.track.EndpointChanges;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.TreeMap;

import static io.switchboard.core.testing.Fixtures.spn;
import static org.assertj.core.api.Assertions.assertThat;

class ConntrackPlannerTest {
    private final ServicePortName dns = spn("kube-system/dns", "dns", Protocol.UDP);
    private final ServicePort dnsPort = ServicePort.builder(dns).clusterIp("10.96.0.10").port(53).nodePort(30053).build();

    private static Flow flow(String client, String dst, int dport, String reply, int rport) {
        return new Flow(Flow.UDP, IpAddress.parse(client), IpAddress.parse(dst), 40000, dport, IpAddress.parse(reply), rport);
    }

    private ProxySnapshot snapshot(ProxySnapshot.ConntrackWork work) {
        TreeMap<ServicePortName, ServicePort> services = new TreeMap<>();
        services.put(dns, dnsPort);
        return ProxySnapshot.build(services, new TreeMap<>(), NodeInfo.named("n1"), Set.of(IpFamily.IPV4), Set.of(), false, work);
    }

    @Test
    void staleEndpointFlowsOnly() {
        var work = new ProxySnapshot.ConntrackWork(
                List.of(new EndpointChanges.StaleEndpoint(dns, Endpoint.ready("10.244.1.5", 53, "n2"))), Set.of(), List.of());
        Flow toGone = flow("10.244.2.7", "10.96.0.10", 53, "10.244.1.5", 53);
        Flow toLiving = flow("10.244.2.8", "10.96.0.10", 53, "10.244.1.6", 53);
        Flow viaNodePort = flow("203.0.113.1", "192.168.0.2", 30053, "10.244.1.5", 53);
        Flow unrelated = flow("10.244.2.9", "10.96.0.99", 53, "10.244.1.5", 53);
        Flow tcp = new Flow(Flow.TCP, IpAddress.parse("10.244.2.7"), IpAddress.parse("10.96.0.10"), 1, 53, IpAddress.parse("10.244.1.5"), 53);
        assertThat(ConntrackPlanner.plan(snapshot(work), IpFamily.IPV4, List.of(toGone, toLiving, viaNodePort, unrelated, tcp)))
                .containsExactly(toGone, viaNodePort);
    }

    @Test
    void newlyActiveServiceLosesItsBlackholeEntries() {
        var work = new ProxySnapshot.ConntrackWork(List.of(), Set.of(dns), List.of());
        Flow blackhole = flow("10.244.2.7", "10.96.0.10", 53, "10.96.0.10", 53);
        Flow other = flow("10.244.2.7", "10.96.0.11", 53, "10.96.0.11", 53);
        assertThat(ConntrackPlanner.plan(snapshot(work), IpFamily.IPV4, List.of(blackhole, other))).containsExactly(blackhole);
    }

    @Test
    void aRestartKeepsEntriesToLiveEndpointsAndDropsTheRest() {
        // at start every service is newly active; the flush kube-proxy once did (kubernetes#122740) is not repeated
        TreeMap<ServicePortName, ServicePort> services = new TreeMap<>();
        services.put(dns, dnsPort);
        TreeMap<ServicePortName, List<Endpoint>> endpoints = new TreeMap<>();
        endpoints.put(dns, List.of(Endpoint.ready("10.244.1.6", 53, "n1")));
        var work = new ProxySnapshot.ConntrackWork(List.of(), Set.of(dns), List.of());
        ProxySnapshot snap = ProxySnapshot.build(services, endpoints, NodeInfo.named("n1"), Set.of(IpFamily.IPV4), Set.of(), true, work);
        Flow live = flow("10.244.2.8", "10.96.0.10", 53, "10.244.1.6", 53);
        Flow toGone = flow("10.244.2.7", "10.96.0.10", 53, "10.244.1.5", 53);
        Flow blackhole = flow("10.244.2.9", "10.96.0.10", 53, "10.96.0.10", 53);
        assertThat(ConntrackPlanner.plan(snap, IpFamily.IPV4, List.of(live, toGone, blackhole))).containsExactly(toGone, blackhole);
    }

    @Test
    void removedPortClearsEverythingToIt() {
        ServicePort old = ServicePort.builder(spn("ns/gone", "p", Protocol.UDP)).clusterIp("10.96.0.20").port(5000).build();
        var work = new ProxySnapshot.ConntrackWork(List.of(), Set.of(), List.of(old));
        Flow f = flow("10.244.2.7", "10.96.0.20", 5000, "10.244.3.3", 5000);
        assertThat(ConntrackPlanner.plan(snapshot(work), IpFamily.IPV4, List.of(f))).containsExactly(f);
        assertThat(ConntrackPlanner.plan(snapshot(ProxySnapshot.ConntrackWork.NONE), IpFamily.IPV4, List.of(f))).isEmpty();
    }
}
