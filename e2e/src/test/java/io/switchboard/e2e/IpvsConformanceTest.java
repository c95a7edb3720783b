package io.switchboard.e2e;

import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.Tag;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The conformance suite in ipvs mode. It needs a kernel with IPVS, so it is tagged
 * {@code ipvs-kernel}: host runs leave it out and {@link IpvsGuestTest} runs it in the QEMU guest,
 * where a JVM is 10-15 times slower. There it runs the core flows (ClusterIP and NodePort from pod,
 * node and outside, external policy Local, affinity, no endpoints, UDP, endpoint and service
 * removal, cleanup) with time bounds scaled ({@link ConformanceSuite#SLOW}); the other flows are
 * reported as skipped with the reason (see {@link #notRun()}).
 * <p>
 * Where it looks: {@code ipvsadm -Ln} (a virtual server per cluster IP and port) instead of the
 * nat table.
 */
@Tag("ipvs-kernel")
class IpvsConformanceTest extends ConformanceSuite {
    @Override
    protected String mode() {
        return "ipvs";
    }

    @Override
    protected String entryChain() {
        return "KUBE-SERVICES";
    }

    @Override
    protected List<String> extraArgs() {
        // the suite's sync periods (it sets the iptables ones) and a short FIN timeout, so a closed
        // connection leaves IPVS's table (and a draining real server can go) within seconds
        return List.of("--ipvs-sync-period", "3s", "--ipvs-min-sync-period", "100ms", "--ipvs-tcpfin-timeout", "2s");
    }

    /**
     * Graceful termination: a removed endpoint with an open connection stays at weight 0 (that
     * connection goes on, new ones go elsewhere), and gets weight 1 back when it returns.
     */
    @org.junit.jupiter.api.Test
    @org.junit.jupiter.api.Order(9)
    void aRemovedEndpointDrainsItsOpenConnectionAtWeightZeroThenGoes() throws Exception {
        io.switchboard.testkit.TestCluster c = testCluster();
        String node = clusterNode();
        java.net.Socket s = io.switchboard.testkit.Echo.tcpConnect(c.podNs("client"), vip(Fam.V4, "web"), 80, 5000);
        java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                java.nio.charset.StandardCharsets.UTF_8));
        String pod = in.readLine();
        assertThat(pod).startsWith("web-");
        Map<String, String> all = Map.of("web-a", "node", "web-b", "node", "web-c", "node", "web-d", "node2");
        Map<String, String> rest = new java.util.HashMap<>(all);
        rest.remove(pod);
        slice("web", "TCP", 8080, rest);
        String rs = java.util.regex.Pattern.quote(c.podIp(pod) + ":8080");
        String block = "TCP  10\\.96\\.0\\.10:80 rr\\n(  -> .*\\n)*";
        await("weight 0 with its connection", scaled(java.time.Duration.ofSeconds(5)),
                () -> java.util.regex.Pattern.compile(block + "  -> " + rs + " +Masq +0 +1 ").matcher(ipvsadm(node)).find());
        // the open connection goes on; new ones avoid the endpoint
        s.getOutputStream().write("ping\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(in.readLine()).isEqualTo(pod + " ping");
        for (int i = 0; i < 10; i++) {
            assertThat(io.switchboard.testkit.Echo.tcpHello(c.podNs("client"), vip(Fam.V4, "web"), 80, 2000)).isNotEqualTo(pod);
        }
        s.close();
        // its deletion waits for IPVS to forget the closed connection (TIME_WAIT: 2 minutes, not
        // configurable) or the 5-minute grace (IpvsPlannerTest); an endpoint that comes back while
        // draining gets its weight back
        slice("web", "TCP", 8080, all);
        await("back to four", scaled(java.time.Duration.ofSeconds(5)), () -> java.util.regex.Pattern.compile(
                "TCP  10\\.96\\.0\\.10:80 rr\\n(  -> .*Masq +1 .*\\n){4}").matcher(ipvsadm(node)).find());
    }

    @Override
    protected Set<Difference> differences() {
        // no usable endpoint (external policy Local, none here): the node port's virtual server has no
        // real server, so the node itself answers the SYN with a reset
        return Set.of(Difference.NO_CANARY, Difference.UDP_FLOWS_ARE_IPVS_CONNECTIONS, Difference.NO_LOCAL_ENDPOINT_RESETS,
                Difference.UNSERVED_CLUSTER_IP_PORTS_REFUSED);
    }

    @Override
    protected Map<String, String> notRun() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("explainPredictsWhereRealTrafficGoes", "switchboard explain traces iptables and nftables rules, not IPVS tables");
        m.put("servicesShowsNoDriftBetweenTheKernelAndTheApi", "switchboard services reads iptables and nftables rules, not IPVS tables");
        // every run of the suite runs in the guest, besides the flows above: one restart, SIGKILL, the
        // API server away, an external deletion repaired, another writer in a tight loop. The long
        // variant (-Dswitchboard.guest.long=true, run for the README's figures) adds ten restarts,
        // the bad input, the restart with over a thousand services and the API server answering
        // errors and the IPv4-only proxy given IPv6 objects (two more proxy starts each): a proxy start takes one to
        // three minutes in the emulated guest, so those alone need about 40 minutes there
        String slow = "long variant only in the QEMU guest (-Dswitchboard.guest.long=true): a proxy start takes 1-3 min "
                + "under emulation, and ten of them, or thousands of API writes, do not fit a CI run";
        if (!Boolean.getBoolean("switchboard.guest.long")) {
            m.put("tenRestartsLoseNoBytesConnectionsOrRequests", slow);
            m.put("malformedAndExtremeObjectsNeverStopTheSync", slow);
            m.put("aRestartWithOverAThousandServicesNeverStopsTraffic", slow);
            m.put("rulesStayWhileTheApiServerAnswersErrorsOrGoneAndChangesFlowWhenItAnswersAgain", slow);
            m.put("anIpv4OnlyProxyGivenIpv6ObjectsProgramsTheRestAndKeepsSyncing", slow);
        }
        m.put("endpointChurnAtTwoThousandChangesASecondKeepsUpAndStaysBounded",
                "2,000 API updates a second cannot be sent under emulation (Java runs 10-15x slower in the guest)");
        return m;
    }

    private static String ipvsadm(String node) {
        try {
            return Netns.exec(node, "ipvsadm", "-Ln");
        } catch (RuntimeException e) {
            return "";
        }
    }

    private static String virtualServer(Fam f, String svc) {
        String ip = vip(f, svc);
        return (f == Fam.V4 ? ip : "[" + ip + "]") + ":80";
    }

    @Override
    protected String rules(String node, Fam f) {
        return ipvsadm(node);
    }

    @Override
    protected boolean programmed(Fam f, String svc) {
        return ipvsadm(clusterNode()).contains("TCP  " + virtualServer(f, svc) + " ");
    }

    /**
     * An external deletion, as another IPVS user or an operator's {@code ipvsadm -D} would do: the
     * IPv4 virtual server of ns/web. The next full sync reads the table back and adds it again.
     */
    @Override
    protected void flushEntry(String node) {
        Netns.exec(node, "ipvsadm", "-D", "-t", virtualServer(Fam.V4, "web"));
    }

    @Override
    protected String flushRepairLog() {
        return null;
    }

    @Override
    protected long serviceRuleCount(String node) {
        return ipvsadm(node).lines().filter(l -> l.startsWith("TCP ") || l.startsWith("UDP "))
                .filter(l -> FOREIGN.stream().noneMatch(l::contains)).count();
    }

    /** Another load balancer's virtual servers: on an address of no service, and on the node's address off the node-port range. */
    static final List<String> FOREIGN = List.of("172.16.9.9:443", io.switchboard.testkit.TestCluster.NODE_IP + ":8443");

    /** What an operator inspects under kube-proxy's ipvs mode reads the same under Switchboard. */
    @org.junit.jupiter.api.Test
    @org.junit.jupiter.api.Order(1)
    void ipvsadmIpsetAndIptablesShowTheServicesAsUnderKubeProxy() throws Exception {
        String node = clusterNode();
        for (String vs : FOREIGN) {
            Netns.exec(node, "ipvsadm", "-A", "-t", vs, "-s", "wlc");
        }
        // full syncs (every 3 s in this suite, --iptables-sync-period) read the whole table back and leave them alone
        Thread.sleep(4000 * SLOW);
        assertThat(ipvsadm(node)).contains("TCP  172.16.9.9:443 wlc", "TCP  " + FOREIGN.get(1) + " wlc");
        String table = ipvsadm(node);
        // ns/web: round robin over its four endpoints (masquerade, weight 1), on both families and the node ports
        assertThat(table).containsPattern("TCP  10\\.96\\.0\\.10:80 rr\\n(  -> 10\\.244\\.\\d+\\.\\d+:8080 +Masq +1 .*\\n){4}")
                .containsPattern("TCP  \\[fd00:10:96::10]:80 rr\\n(  -> \\[fd00:10:244:[0-9a-f:]+]:8080 +Masq +1 .*\\n){4}")
                .containsPattern("TCP  10\\.96\\.0\\.12:80 rr persistent 10800\\n")
                .containsPattern("UDP  10\\.96\\.0\\.53:53 rr\\n")
                .containsPattern("TCP  " + java.util.regex.Pattern.quote(io.switchboard.testkit.TestCluster.NODE_IP) + ":30080 rr\\n");
        assertThat(Netns.exec(node, "ip", "-o", "addr", "show", "dev", "kube-ipvs0"))
                .contains("inet 10.96.0.10/32", "inet6 fd00:10:96::10/128");
        // the node settings kube-proxy applies in this mode, in the node's namespace
        assertThat(Netns.exec(node, "sysctl", "-n", "net.ipv4.vs.conntrack", "net.ipv4.vs.expire_nodest_conn",
                "net.ipv4.vs.expire_quiescent_template", "net.ipv4.ip_forward").lines().toList()).containsExactly("1", "1", "1", "1");
        assertThat(Netns.exec(node, "ipset", "list", "KUBE-CLUSTER-IP")).contains("Type: hash:ip,port", "10.96.0.10,tcp:80", "10.96.0.53,udp:53");
        assertThat(Netns.exec(node, "ipset", "list", "KUBE-6-CLUSTER-IP")).contains("fd00:10:96::10,tcp:80");
        assertThat(Netns.exec(node, "ipset", "list", "KUBE-NODE-PORT-TCP")).contains("30080");
        assertThat(Netns.exec(node, "iptables-save", "-t", "nat")).contains(
                "-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ",
                "-A KUBE-NODE-PORT -p tcp -m comment --comment \"Kubernetes nodeport TCP port for masquerade purpose\" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ",
                "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
    }

    @Override
    protected void assertCleanedUp(String node) {
        super.assertCleanedUp(node);
        assertThat(serviceRuleCount(node)).as("virtual servers left:\n" + ipvsadm(node)).isZero();
        assertThat(ipvsadm(node)).doesNotContain("10.96.0.", "fd00:10:96::");
        assertThat(Netns.exec(node, "ip", "-o", "link", "show")).doesNotContain("kube-ipvs0");
        assertThat(Netns.exec(node, "ipset", "list", "-n")).doesNotContain("KUBE-");
        // another load balancer's virtual servers outlived every sync and the cleanup
        for (String vs : FOREIGN) {
            assertThat(ipvsadm(node)).contains("TCP  " + vs + " wlc");
        }
    }
}
