package io.switchboard.e2e;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.testkit.Echo;
import io.switchboard.testkit.Netns;
import io.switchboard.testkit.TestCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real switchboard process in a node namespace, against fabric8's CRUD mock API server (also
 * inside the node namespace), with real traffic from pod, node and external namespaces.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IptablesEndToEndTest {
    private static final String NODE = "node";
    private TestCluster cluster;
    private MockApiServer api;
    private KubernetesClient admin;
    private SwitchboardProcess proxy;
    private final List<Echo.Server> servers = new ArrayList<>();
    private String a;
    private String b;
    private String c;
    private String d;
    private int runs;

    @BeforeAll
    void setUp() throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "real-kernel e2e skipped: " + why);
        cluster = new TestCluster();
        a = cluster.bridgePod("web-a");
        b = cluster.bridgePod("web-b");
        c = cluster.caliPod("web-c");
        d = cluster.node2Pod("web-d");
        cluster.bridgePod("client");
        cluster.caliPod("cclient");
        for (String pod : List.of("web-a", "web-b", "web-c", "web-d")) {
            String ns = cluster.podNs(pod);
            servers.add(Echo.tcp(ns, "0.0.0.0", 8080, pod));
            servers.add(Echo.udp(ns, "0.0.0.0", 5353, pod));
        }
        String node = cluster.node();
        api = Netns.call(node, MockApiServer::new);
        admin = Netns.call(node, api::client);
        // API calls run inside the node namespace: sockets belong to the namespace of the thread
        // that creates them, and the mock API server listens on the node's loopback
        inNode(() -> admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE)
                .withLabels(Map.of("topology.kubernetes.io/zone", "za")).endMetadata()
                .withNewSpec().withPodCIDR("10.244.1.0/24").endSpec()
                .withNewStatus().addNewAddress().withType("InternalIP").withAddress(TestCluster.NODE_IP).endAddress().endStatus()
                .build()).create());
        service("web", "10.96.0.10", 80, "TCP", 8080, 30080, null, false);
        slice("web", "TCP", 8080, Map.of(a, NODE, b, NODE, c, NODE, d, "node2"));
        service("web-local", "10.96.0.11", 80, "TCP", 8080, 30081, "Local", false);
        slice("web-local", "TCP", 8080, Map.of(a, NODE, d, "node2"));
        service("sticky", "10.96.0.12", 80, "TCP", 8080, 0, null, true);
        slice("sticky", "TCP", 8080, Map.of(a, NODE, b, NODE, c, NODE));
        service("empty", "10.96.0.13", 80, "TCP", 8080, 0, null, false);
        service("dns", "10.96.0.53", 53, "UDP", 5353, 0, null, false);
        slice("dns", "UDP", 5353, Map.of(a, NODE, b, NODE));
        startProxy();
    }

    private void startProxy() throws Exception {
        proxy = new SwitchboardProcess(cluster.node(), Path.of("target/e2e-logs/switchboard-" + (++runs) + ".log"),
                "--master", api.url(), "--hostname-override", NODE, "--cluster-cidr", TestCluster.CLUSTER_CIDR,
                "--iptables-min-sync-period", "100ms", "--iptables-sync-period", "3s", "--healthz-bind-address", "127.0.0.1:10256",
                "--metrics-bind-address", "127.0.0.1:10249", "--v", "2");
        await("switchboard healthy with rules", Duration.ofSeconds(60), () -> {
            if (!proxy.alive()) {
                throw new AssertionError("switchboard exited:\n" + proxy.logText());
            }
            return Netns.exec(cluster.node(), "iptables-save", "-t", "nat").contains("ns/web:http cluster IP")
                    && "200".equals(httpGet(cluster.node(), "http://127.0.0.1:10256/healthz").split("\n")[0]);
        });
    }

    @AfterAll
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        servers.forEach(Echo.Server::close);
        if (admin != null) {
            admin.close();
        }
        if (api != null) {
            api.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private void service(String name, String ip, int port, String proto, int target, int nodePort, String etp,
                         boolean affinity) {
        ServiceBuilder sb = new ServiceBuilder().withNewMetadata().withNamespace("ns").withName(name).endMetadata()
                .withNewSpec().withType(nodePort > 0 ? "NodePort" : "ClusterIP").withClusterIP(ip).withClusterIPs(ip)
                .addNewPort().withName(proto.equals("UDP") ? "dns" : "http").withPort(port).withProtocol(proto)
                .withNewTargetPort(target).withNodePort(nodePort > 0 ? nodePort : null).endPort()
                .withExternalTrafficPolicy(etp).withSessionAffinity(affinity ? "ClientIP" : "None")
                .withHealthCheckNodePort("Local".equals(etp) ? 32000 + port % 100 : null).endSpec();
        Service s = sb.build();
        inNode(() -> admin.services().resource(s).createOr(r -> r.update()));
    }

    private void slice(String svc, String proto, int port, Map<String, String> ipToNode) {
        List<Endpoint> eps = new ArrayList<>();
        ipToNode.forEach((ip, node) -> eps.add(new EndpointBuilder().withAddresses(ip).withNewConditions()
                .withReady(true).withServing(true).withTerminating(false).endConditions().withNodeName(node).build()));
        EndpointSlice s = new EndpointSliceBuilder().withNewMetadata().withNamespace("ns").withName(svc + "-abc")
                .withLabels(Map.of("kubernetes.io/service-name", svc)).endMetadata().withAddressType("IPv4")
                .addNewPort().withName(proto.equals("UDP") ? "dns" : "http").withPort(port).withProtocol(proto).endPort()
                .withEndpoints(eps).build();
        inNode(() -> admin.discovery().v1().endpointSlices().resource(s).createOr(r -> r.update()));
    }

    private Set<String> names(String ns, String ip, int port, int tries) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < tries; i++) {
            seen.add(Echo.tcpHello(ns, ip, port, 2000));
        }
        return seen;
    }

    @Test
    @Order(1)
    void clusterIpFromFlannelAndCalicoPodsReachesEveryEndpoint() {
        assertThat(names(cluster.podNs("client"), "10.96.0.10", 80, 120)).containsExactlyInAnyOrder("web-a", "web-b", "web-c", "web-d");
        assertThat(names(cluster.podNs("cclient"), "10.96.0.10", 80, 120)).containsExactlyInAnyOrder("web-a", "web-b", "web-c", "web-d");
    }

    @Test
    @Order(2)
    void nodePortFromOutsideAndFromTheNode() {
        assertThat(names(cluster.ext(), TestCluster.NODE_IP, 30080, 120)).containsExactlyInAnyOrder("web-a", "web-b", "web-c", "web-d");
        assertThat(names(cluster.node(), "10.96.0.10", 80, 120)).containsExactlyInAnyOrder("web-a", "web-b", "web-c", "web-d");
        assertThat(names(cluster.node(), TestCluster.NODE_IP, 30080, 60)).contains("web-a").doesNotContain("REFUSED", "TIMEOUT");
    }

    @Test
    @Order(3)
    void externalTrafficPolicyLocalOnlyReachesLocalEndpoints() {
        assertThat(names(cluster.ext(), TestCluster.NODE_IP, 30081, 40)).containsExactly("web-a");
        // from inside the cluster the cluster IP still reaches every endpoint
        assertThat(names(cluster.podNs("client"), "10.96.0.11", 80, 60)).containsExactlyInAnyOrder("web-a", "web-d");
    }

    @Test
    @Order(3)
    void healthCheckNodePortReportsLocalEndpoints() {
        String r = httpGet(cluster.node(), "http://" + TestCluster.NODE_IP + ":32080/healthz");
        assertThat(r).startsWith("200\n").contains("\"localEndpoints\":1", "\"name\":\"web-local\"",
                "\"serviceProxyHealthy\":true");
        slice("web-local", "TCP", 8080, Map.of(d, "node2"));
        await("503 without local endpoints", Duration.ofSeconds(5),
                () -> httpGet(cluster.node(), "http://" + TestCluster.NODE_IP + ":32080/").startsWith("503\n"));
        assertThat(names(cluster.ext(), TestCluster.NODE_IP, 30081, 2)).containsOnly("TIMEOUT");
        slice("web-local", "TCP", 8080, Map.of(a, NODE, d, "node2"));
        await("200 again", Duration.ofSeconds(5),
                () -> httpGet(cluster.node(), "http://" + TestCluster.NODE_IP + ":32080/").startsWith("200\n"));
    }

    @Test
    @Order(4)
    void clientIpAffinitySticks() {
        assertThat(names(cluster.podNs("client"), "10.96.0.12", 80, 30)).hasSize(1);
        assertThat(names(cluster.podNs("cclient"), "10.96.0.12", 80, 30)).hasSize(1);
    }

    @Test
    @Order(5)
    void serviceWithoutEndpointsRefusesAtOnce() {
        long t0 = System.nanoTime();
        String r = Echo.tcpHello(cluster.podNs("client"), "10.96.0.13", 80, 3000);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r).isEqualTo("REFUSED");
        assertThat(ms).isLessThan(1000);
        assertThat(Echo.tcpHello(cluster.node(), "10.96.0.13", 80, 3000)).isEqualTo("REFUSED");
    }

    @Test
    @Order(6)
    void udpFlowMovesToANewEndpointAfterItsEndpointIsRemoved() {
        DatagramSocket s = Echo.udpSocket(cluster.podNs("client"), 1000);
        String first = Echo.udpAsk(s, "10.96.0.53", 53);
        assertThat(first).isIn("web-a", "web-b");
        for (int i = 0; i < 5; i++) {
            assertThat(Echo.udpAsk(s, "10.96.0.53", 53)).as("the flow is pinned by conntrack").isEqualTo(first);
        }
        String other = first.equals("web-a") ? "web-b" : "web-a";
        slice("dns", "UDP", 5353, Map.of(first.equals("web-a") ? b : a, NODE));
        await("UDP flow moved to " + other, Duration.ofSeconds(5), () -> other.equals(Echo.udpAsk(s, "10.96.0.53", 53)));
        s.close();
        String metrics = httpGet(cluster.node(), "http://127.0.0.1:10249/metrics");
        assertThat(metrics).containsPattern("kubeproxy_conntrack_reconciler_deleted_entries_total\\{ip_family=\"IPv4\"} [1-9]");
    }

    @Test
    @Order(7)
    void removingAnEndpointStopsTrafficToItWithinASecond() {
        String client = cluster.podNs("client");
        slice("web", "TCP", 8080, Map.of(a, NODE, c, NODE, d, "node2"));
        long t0 = System.nanoTime();
        int clean = 0;
        while (clean < 30 && System.nanoTime() - t0 < 5_000_000_000L) {
            clean = "web-b".equals(Echo.tcpHello(client, "10.96.0.10", 80, 2000)) ? 0 : clean + 1;
        }
        assertThat(clean).isEqualTo(30);
        // 30 clean connections in a row, and the first of them began within a second of the change
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(names(client, "10.96.0.10", 80, 60)).doesNotContain("web-b");
        assertThat(ms).as("ms until web-b stopped getting traffic (incl. 30 probes)").isLessThan(1000 + 30 * 200);
        slice("web", "TCP", 8080, Map.of(a, NODE, b, NODE, c, NODE, d, "node2"));
        await("web-b back", Duration.ofSeconds(5), () -> names(client, "10.96.0.10", 80, 20).contains("web-b"));
    }

    @Test
    @Order(9)
    void rulesStayWhileTheApiServerIsAwayAndChangesFlowWhenItIsBack() throws Exception {
        String client = cluster.podNs("client");
        api.stop();
        Thread.sleep(2000);
        assertThat(proxy.alive()).isTrue();
        assertThat(names(client, "10.96.0.10", 80, 40)).containsExactlyInAnyOrder("web-a", "web-b", "web-c", "web-d");
        assertThat(httpGet(cluster.node(), "http://127.0.0.1:10256/healthz")).startsWith("200\n");
        inNode(() -> {
            api.restart();
            return null;
        });
        // the watches come back (fabric8 retries with backoff); then a change flows through
        await("change after the API server is back", Duration.ofSeconds(60), () -> {
            slice("web", "TCP", 8080, Map.of(a, NODE, b, NODE, c, NODE));
            return !names(client, "10.96.0.10", 80, 20).contains("web-d");
        });
        slice("web", "TCP", 8080, Map.of(a, NODE, b, NODE, c, NODE, d, "node2"));
        await("web-d back", Duration.ofSeconds(10), () -> names(client, "10.96.0.10", 80, 20).contains("web-d"));
    }

    @Test
    @Order(10)
    void restartingSwitchboardKeepsAnOpenTcpConnection() throws Exception {
        Socket s = Echo.tcpConnect(cluster.podNs("client"), "10.96.0.10", 80, 3000);
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = s.getOutputStream();
        String server = in.readLine();
        out.write("before\n".getBytes(StandardCharsets.UTF_8));
        assertThat(in.readLine()).isEqualTo(server + " before");
        proxy.close();
        startProxy();
        out.write("after\n".getBytes(StandardCharsets.UTF_8));
        assertThat(in.readLine()).isEqualTo(server + " after");
        s.close();
        assertThat(names(cluster.podNs("client"), "10.96.0.10", 80, 60)).containsExactlyInAnyOrder("web-a", "web-b", "web-c", "web-d");
    }

    @Test
    @Order(8)
    void anExternalFlushIsDetectedByTheCanaryAndRepaired() {
        String node = cluster.node();
        Netns.exec(node, "iptables", "-w", "5", "-t", "nat", "-F", "KUBE-SERVICES");
        Netns.exec(node, "iptables", "-w", "5", "-t", "mangle", "-F", "KUBE-PROXY-CANARY");
        Netns.exec(node, "iptables", "-w", "5", "-t", "mangle", "-X", "KUBE-PROXY-CANARY");
        assertThat(Echo.tcpHello(cluster.podNs("client"), "10.96.0.10", 80, 1000)).isIn("TIMEOUT", "REFUSED");
        // repaired by the next periodic sync (syncPeriod is 3s here)
        await("rules repaired", Duration.ofSeconds(15),
                () -> Netns.exec(node, "iptables-save", "-t", "mangle").contains("KUBE-PROXY-CANARY")
                        && names(cluster.podNs("client"), "10.96.0.10", 80, 10).contains("web-a"));
        assertThat(proxy.logText()).contains("canary chain KUBE-PROXY-CANARY is gone");
    }

    @Test
    @Order(11)
    void cleanupRemovesEverything() throws Exception {
        proxy.close();
        SwitchboardProcess cleanup = new SwitchboardProcess(cluster.node(), Path.of("target/e2e-logs/cleanup.log"),
                "--cleanup", "--hostname-override", NODE);
        await("cleanup done", Duration.ofSeconds(60), () -> !cleanup.alive());
        String all = Netns.exec(cluster.node(), "iptables-save");
        assertThat(all).doesNotContain("KUBE-");
        startProxy();
        assertThat(names(cluster.podNs("client"), "10.96.0.10", 80, 40)).contains("web-a");
    }

    private <T> T inNode(java.util.concurrent.Callable<T> call) {
        return Netns.call(cluster.node(), call);
    }

    static String httpGet(String ns, String url) {
        return Netns.call(ns, () -> {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                return r.statusCode() + "\n" + r.body();
            } catch (Exception e) {
                return "ERROR " + e;
            }
        });
    }

    static void await(String what, Duration timeout, BooleanSupplier cond) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + ": " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
