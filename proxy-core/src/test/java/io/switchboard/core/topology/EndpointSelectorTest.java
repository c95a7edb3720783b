package io.switchboard.core.topology;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.TrafficPolicy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static io.switchboard.core.testing.Fixtures.spn;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The combinations of kube-proxy's endpoint selection: readiness, terminating fallback, internal
 * and external traffic policy, node and zone hints. Endpoints are written as
 * {@code "ip flags [z=zone,zone] [n=node,node]"}; flags: R ready, S serving, T terminating, L on
 * this node (n1; otherwise n2).
 */
class EndpointSelectorTest {
    private static final String NODE = "n1";

    static ServicePort clusterIp() {
        return ServicePort.builder(spn("ns/svc", "p", Protocol.TCP)).clusterIp("172.30.0.1").port(80).build();
    }

    static ServicePort internalLocal() {
        return ServicePort.builder(spn("ns/svc", "p", Protocol.TCP)).clusterIp("172.30.0.1").port(80)
                .internalPolicy(TrafficPolicy.LOCAL).build();
    }

    static ServicePort externalLocal() {
        return ServicePort.builder(spn("ns/svc", "p", Protocol.TCP)).clusterIp("172.30.0.1").port(80)
                .nodePort(30080).externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(31000).build();
    }

    static ServicePort bothLocal() {
        return ServicePort.builder(spn("ns/svc", "p", Protocol.TCP)).clusterIp("172.30.0.1").port(80)
                .nodePort(30080).externalPolicy(TrafficPolicy.LOCAL).internalPolicy(TrafficPolicy.LOCAL).build();
    }

    static Endpoint ep(String spec) {
        String[] parts = spec.split(" ");
        String flags = parts[1];
        Set<String> zones = Set.of();
        Set<String> nodes = Set.of();
        for (int i = 2; i < parts.length; i++) {
            if (parts[i].startsWith("z=")) {
                zones = Set.of(parts[i].substring(2).split(","));
            } else if (parts[i].startsWith("n=")) {
                nodes = Set.of(parts[i].substring(2).split(","));
            }
        }
        return new Endpoint(IpAddress.parse(parts[0]), 80, flags.contains("R"), flags.contains("S"),
                flags.contains("T"), flags.contains("L") ? NODE : "n2", "", zones, nodes);
    }

    static List<String> ips(String csv) {
        return csv.isEmpty() ? List.of() : Arrays.asList(csv.split(","));
    }

    static Arguments row(String name, ServicePort port, String zone, List<String> endpoints,
                         String cluster, String local, String all, boolean hasAny) {
        return Arguments.of(name, port, zone, endpoints, ips(cluster), ips(local), ips(all), hasAny);
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                row("no endpoints", clusterIp(), "", List.of(), "", "", "", false),
                row("cluster: ready endpoints only", clusterIp(), "",
                        List.of("10.0.0.1 RS", "10.0.0.2 RSL", "10.0.0.3 S", "10.0.0.4 ST"),
                        "10.0.0.1,10.0.0.2", "", "10.0.0.1,10.0.0.2", true),
                row("cluster: no ready -> serving terminating fallback", clusterIp(), "",
                        List.of("10.0.0.1 ST", "10.0.0.2 T", "10.0.0.3 STL"),
                        "10.0.0.1,10.0.0.3", "", "10.0.0.1,10.0.0.3", true),
                row("cluster: nothing usable", clusterIp(), "",
                        List.of("10.0.0.1 T", "10.0.0.2 -"), "", "", "", false),
                row("internal Local: local ready only", internalLocal(), "",
                        List.of("10.0.0.1 RS", "10.0.0.2 RSL", "10.0.0.3 STL"), "", "10.0.0.2", "10.0.0.2", true),
                row("internal Local: no local endpoint -> empty but hasAny (DROP)", internalLocal(), "",
                        List.of("10.0.0.1 RS", "10.0.0.2 RS"), "", "", "", true),
                row("internal Local: local terminating fallback", internalLocal(), "",
                        List.of("10.0.0.1 RS", "10.0.0.2 STL", "10.0.0.3 TL"), "", "10.0.0.2", "10.0.0.2", true),
                row("internal Local: only remote terminating -> hasAny", internalLocal(), "",
                        List.of("10.0.0.1 ST"), "", "", "", true),
                row("external Local: cluster set for internal traffic, local set for external", externalLocal(), "",
                        List.of("10.0.0.1 RS", "10.0.0.2 RSL"), "10.0.0.1,10.0.0.2", "10.0.0.2",
                        "10.0.0.1,10.0.0.2", true),
                row("external Local: local terminating + remote ready -> union", externalLocal(), "",
                        List.of("10.0.0.1 RS", "10.0.0.2 STL"), "10.0.0.1", "10.0.0.2", "10.0.0.1,10.0.0.2", true),
                // kube-proxy: pod and node traffic to an external address short-circuits to the
                // Cluster endpoints even with both policies Local (the chain must exist)
                row("both Local with a node port: cluster set for short-circuited traffic", bothLocal(), "",
                        List.of("10.0.0.1 RS", "10.0.0.2 RSL"), "10.0.0.1,10.0.0.2", "10.0.0.2", "10.0.0.1,10.0.0.2", true),
                row("zone hints on every ready endpoint, one for this zone", clusterIp(), "za",
                        List.of("10.0.0.1 RS z=za", "10.0.0.2 RS z=zb", "10.0.0.3 RS z=za,zb"),
                        "10.0.0.1,10.0.0.3", "", "10.0.0.1,10.0.0.3", true),
                row("zone hints missing on one ready endpoint -> ignored", clusterIp(), "za",
                        List.of("10.0.0.1 RS z=za", "10.0.0.2 RS"), "10.0.0.1,10.0.0.2", "", "10.0.0.1,10.0.0.2", true),
                row("zone hints missing only on a not-ready endpoint -> used", clusterIp(), "za",
                        List.of("10.0.0.1 RS z=za", "10.0.0.2 RS z=zb", "10.0.0.3 S"), "10.0.0.1", "", "10.0.0.1", true),
                row("zone hints, none for this zone -> ignored", clusterIp(), "zc",
                        List.of("10.0.0.1 RS z=za", "10.0.0.2 RS z=zb"), "10.0.0.1,10.0.0.2", "", "10.0.0.1,10.0.0.2", true),
                row("zone hints, node has no zone label -> ignored", clusterIp(), "",
                        List.of("10.0.0.1 RS z=za", "10.0.0.2 RS z=zb"), "10.0.0.1,10.0.0.2", "", "10.0.0.1,10.0.0.2", true),
                row("node hints for this node win over zone hints", clusterIp(), "za",
                        List.of("10.0.0.1 RS z=za n=n2", "10.0.0.2 RSL z=za n=n1"), "10.0.0.2", "", "10.0.0.2", true),
                row("node hints, none for this node -> zone hints", clusterIp(), "zb",
                        List.of("10.0.0.1 RS z=za n=n2", "10.0.0.2 RS z=zb n=n3"), "10.0.0.2", "", "10.0.0.2", true),
                row("hints with no ready endpoint -> terminating fallback ignores hints", clusterIp(), "za",
                        List.of("10.0.0.1 ST z=zb", "10.0.0.2 ST z=za"), "10.0.0.1,10.0.0.2", "", "10.0.0.1,10.0.0.2", true),
                row("external Local + zone hints: union of zone set and local set", externalLocal(), "za",
                        List.of("10.0.0.1 RS z=za", "10.0.0.2 RSL z=zb"), "10.0.0.1", "10.0.0.2",
                        "10.0.0.1,10.0.0.2", true),
                row("dual conditions: ready but terminating still counts as ready", clusterIp(), "",
                        List.of("10.0.0.1 RST"), "10.0.0.1", "", "10.0.0.1", true)
        );
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void selects(String name, ServicePort port, String zone, List<String> specs, List<String> cluster,
                 List<String> local, List<String> all, boolean hasAny) {
        List<Endpoint> endpoints = new ArrayList<>();
        specs.forEach(s -> endpoints.add(ep(s)));
        EndpointSelection sel = EndpointSelector.select(port, endpoints, NODE, zone);
        assertThat(sel.clusterEndpoints()).extracting(e -> e.ip().toString()).as("cluster").containsExactlyElementsOf(cluster);
        assertThat(sel.localEndpoints()).extracting(e -> e.ip().toString()).as("local").containsExactlyElementsOf(local);
        assertThat(sel.allReachable()).extracting(e -> e.ip().toString()).as("all reachable").containsExactlyInAnyOrderElementsOf(all);
        assertThat(sel.hasAnyEndpoints()).as("hasAnyEndpoints").isEqualTo(hasAny);
    }
}
