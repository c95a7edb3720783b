package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.link.NetlinkLinks;
import io.switchboard.netfilter.netlink.NetlinkException;
import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The IPVS client and the link client against a real kernel, in a network namespace of their own,
 * cross-checked with {@code ipvsadm} and {@code ip}. Needs a kernel with IPVS: it runs in the
 * QEMU guest ({@code vm/run}, through {@code IpvsGuestIT}); elsewhere it is skipped with the reason.
 */
@Tag("ipvs-kernel")
class IpvsKernelTest {
    private static final String NS = "sbipvs" + ProcessHandle.current().pid();
    private static final Path NS_PATH = Path.of("/run/netns", NS);
    private static NetlinkIpvs ipvs;

    @BeforeAll
    static void setUp() throws Exception {
        String reason = Netns.unavailableReason();
        assumeTrue(reason == null, reason);
        Netns.add(NS);
        try {
            ipvs = NetlinkIpvs.open(NS_PATH);
        } catch (NetlinkException e) {
            Netns.delete(NS);
            assumeTrue(false, "this kernel has no IPVS (" + e.getMessage() + "); run it in the guest: vm/run");
        }
    }

    @AfterAll
    static void tearDown() {
        if (ipvs != null) {
            Netns.delete(NS);
        }
    }

    private static String ipvsadm() {
        return Netns.exec(NS, "ipvsadm", "-Ln");
    }

    @Test
    void servicesAndRealServersAreAddedChangedReadBackAndDeleted() throws Exception {
        assertThat(ipvs.version()).matches("\\d+\\.\\d+\\.\\d+");
        VirtualServer web = new VirtualServer(IpAddress.parse("10.96.0.10"), VirtualServer.TCP, 80, "rr", false, 0);
        VirtualServer dns = new VirtualServer(IpAddress.parse("10.96.0.53"), VirtualServer.UDP, 53, "wrr", true, 10800);
        ipvs.addService(web);
        ipvs.addService(dns);
        assertThat(ipvs.services()).containsExactlyInAnyOrder(web, dns);
        RealServer a = new RealServer(IpAddress.parse("10.244.1.5"), 8080, 1);
        RealServer b = new RealServer(IpAddress.parse("10.244.2.7"), 8080, 1);
        ipvs.addDestination(web.key(), a);
        ipvs.addDestination(web.key(), b);
        assertThat(ipvs.destinations(web.key())).containsExactlyInAnyOrder(a, b);
        assertThat(ipvsadm()).contains("TCP  10.96.0.10:80 rr", "UDP  10.96.0.53:53 wrr persistent 10800")
                .containsPattern("-> 10\\.244\\.1\\.5:8080 +Masq +1 +0 +0");

        // graceful removal first sets the weight to 0
        ipvs.updateDestination(web.key(), new RealServer(a.address(), a.port(), 0));
        assertThat(ipvs.destinations(web.key())).extracting(RealServer::weight).containsExactlyInAnyOrder(0, 1);
        ipvs.deleteDestination(web.key(), a.key());
        assertThat(ipvs.destinations(web.key())).containsExactly(b);

        // scheduler and affinity change in place: the real servers stay
        VirtualServer sticky = new VirtualServer(web.address(), web.protocol(), web.port(), "lc", true, 600);
        ipvs.updateService(sticky);
        assertThat(ipvs.services()).contains(sticky);
        assertThat(ipvs.destinations(web.key())).containsExactly(b);
        assertThat(ipvsadm()).contains("TCP  10.96.0.10:80 lc persistent 600");

        assertThatThrownBy(() -> ipvs.addService(web)).isInstanceOf(NetlinkException.class)
                .satisfies(e -> assertThat(((NetlinkException) e).errno()).isEqualTo(17));
        ipvs.deleteService(web.key());
        ipvs.deleteService(dns.key());
        assertThat(ipvs.services()).isEmpty();
        assertThat(ipvsadm()).doesNotContain("10.96.0.10");
    }

    @Test
    void manyOperationsArePipelinedAndOneFailureStaysItsOwn() throws Exception {
        List<IpvsOp> ops = new java.util.ArrayList<>();
        for (int i = 0; i < 200; i++) {
            VirtualServer vs = new VirtualServer(IpAddress.parse("10.97." + (i / 200) + "." + (i % 200 + 1)), VirtualServer.TCP, 80, "rr", false, 0);
            ops.add(new IpvsOp.AddService(vs));
            for (int d = 0; d < 9; d++) {
                ops.add(new IpvsOp.AddDestination(vs.key(), new RealServer(IpAddress.parse("10.245." + d + "." + (i % 200 + 1)), 8080, 1)));
            }
        }
        // the same service twice: the kernel refuses the second (EEXIST), and only it
        int dup = 500;
        ops.add(dup, new IpvsOp.AddService(((IpvsOp.AddService) ops.get(0)).service()));
        java.util.Map<Integer, java.io.IOException> failed = ipvs.applyAll(ops);
        assertThat(failed).containsOnlyKeys(dup);
        assertThat(((NetlinkException) failed.get(dup)).errno()).isEqualTo(17);
        List<VirtualServer> services = ipvs.services();
        assertThat(services).hasSize(200);
        assertThat(ipvs.destinations(services.get(0).key())).hasSize(9);
        List<IpvsOp> deletes = new java.util.ArrayList<>();
        services.forEach(v -> deletes.add(new IpvsOp.DeleteService(v.key())));
        assertThat(ipvs.applyAll(deletes)).isEmpty();
        assertThat(ipvs.services()).isEmpty();
    }

    /** Every golden ipset and rules file loads into a real kernel: the sets and chains it names exist after. */
    @Test
    void theGoldenSetsAndRulesLoadIntoTheKernel() throws Exception {
        for (String scenario : List.of("overall", "ipv6")) {
            boolean v6 = scenario.equals("ipv6");
            // the golden input swaps the cluster-IP set with a live one (IpvsGoldenTest renders it as existing)
            Netns.exec(NS, "ipset", "create", v6 ? "KUBE-6-CLUSTER-IP" : "KUBE-CLUSTER-IP", "hash:ip,port", "family", v6 ? "inet6" : "inet");
            io.switchboard.netfilter.CommandRunner.Result sets = Netns.runner(NS).run(List.of("ipset", "restore"),
                    resource("golden/" + scenario + ".ipset"), java.time.Duration.ofSeconds(60));
            assertThat(sets.ok()).as(scenario + " ipset restore: " + sets.stderr()).isTrue();
            io.switchboard.netfilter.CommandRunner.Result rules = Netns.runner(NS).run(
                    List.of(v6 ? "ip6tables-restore" : "iptables-restore", "--noflush"), resource("golden/" + scenario + ".iptables"),
                    java.time.Duration.ofSeconds(60));
            assertThat(rules.ok()).as(scenario + " restore: " + rules.stderr()).isTrue();
        }
        assertThat(Netns.exec(NS, "ipset", "list", "KUBE-LOAD-BALANCER-SOURCE-CIDR")).contains("5.6.7.8,tcp:80,203.0.113.0/25");
        assertThat(Netns.exec(NS, "ipset", "list", "KUBE-6-CLUSTER-IP")).contains("fd00:172:30::41,tcp:80");
        assertThat(Netns.exec(NS, "iptables-save", "-t", "filter")).contains("-A INPUT -m comment --comment \"kubernetes ipvs access filter\" -j KUBE-IPVS-FILTER");
        assertThat(Netns.exec(NS, "ip6tables-save", "-t", "nat")).contains("-A KUBE-SERVICES -m set --match-set KUBE-6-CLUSTER-IP dst,dst -j ACCEPT");
        assertThat(Netns.exec(NS, "ipset", "list", "-n")).doesNotContain("KUBE-SWITCHBOARD-SWAP");
    }

    private static String resource(String name) throws java.io.IOException {
        try (var in = IpvsKernelTest.class.getClassLoader().getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    @Test
    void ipv6ServicesRoundTrip() throws Exception {
        VirtualServer v6 = new VirtualServer(IpAddress.parse("fd00:96::a"), VirtualServer.TCP, 443, "rr", false, 0);
        ipvs.addService(v6);
        RealServer r = new RealServer(IpAddress.parse("fd00:244::5"), 8443, 1);
        ipvs.addDestination(v6.key(), r);
        assertThat(ipvs.services()).contains(v6);
        assertThat(ipvs.destinations(v6.key())).containsExactly(r);
        assertThat(ipvsadm()).contains("TCP  [fd00:96::a]:443 rr", "-> [fd00:244::5]:8443");
        ipvs.deleteService(v6.key());
        assertThat(ipvs.services()).doesNotContain(v6);
    }

    @Test
    void aDummyLinkHoldsServiceAddresses() throws Exception {
        NetlinkLinks links = new NetlinkLinks(NS_PATH);
        assertThat(links.index("kube-ipvs0")).isEqualTo(-1);
        int index = links.ensureDummy("kube-ipvs0");
        assertThat(links.ensureDummy("kube-ipvs0")).isEqualTo(index);
        IpAddress v4 = IpAddress.parse("10.96.0.10");
        IpAddress v6 = IpAddress.parse("fd00:96::a");
        assertThat(links.addAddress(index, v4)).isTrue();
        assertThat(links.addAddress(index, v4)).isFalse();
        assertThat(links.addAddress(index, v6)).isTrue();
        assertThat(links.addresses(index, IpFamily.IPV4)).containsExactly(v4);
        assertThat(links.addresses(index, IpFamily.IPV6)).containsExactly(v6);
        assertThat(Netns.exec(NS, "ip", "-o", "addr", "show", "dev", "kube-ipvs0"))
                .contains("inet 10.96.0.10/32", "inet6 fd00:96::a/128");
        assertThat(Netns.exec(NS, "ip", "-d", "link", "show", "kube-ipvs0")).contains("dummy");
        assertThat(links.deleteAddress(index, v4)).isTrue();
        assertThat(links.deleteAddress(index, v4)).isFalse();
        assertThat(links.addresses(index, IpFamily.IPV4)).isEmpty();
        assertThat(links.delete("kube-ipvs0")).isTrue();
        assertThat(links.index("kube-ipvs0")).isEqualTo(-1);
        assertThat(List.of(links.delete("kube-ipvs0"))).containsExactly(false);
    }
}
