package io.switchboard.backend.iptables;

import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.SyncException;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.testing.FakeClock;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.Iptables;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The backend's sync logic against a fake iptables: what it runs, and how it handles failures. */
class IptablesBackendTest {
    private final List<List<String>> commands = new ArrayList<>();
    private final List<String> restores = new ArrayList<>();
    private int failRestores;
    private boolean canaryPresent = true;
    private final List<String> failures = new ArrayList<>();
    /** Restore input lines holding this text are rejected, as the kernel rejects a bad rule. */
    private String rejectLinesWith;
    private final List<int[]> rejectedCounts = new ArrayList<>();

    private final CommandRunner fake = (cmd, stdin, timeout) -> {
        commands.add(cmd);
        String tool = cmd.get(0);
        if (tool.endsWith("-restore")) {
            restores.add(stdin);
            if (rejectLinesWith != null) {
                String[] lines = stdin.split("\n");
                for (int i = 0; i < lines.length; i++) {
                    if (lines[i].contains(rejectLinesWith)) {
                        return new CommandRunner.Result(2, "", "iptables-restore v1.8.9 (nf_tables): host/network `"
                                + rejectLinesWith + "' not found\nError occurred at line: " + (i + 1) + "\n");
                    }
                }
            }
            if (failRestores > 0) {
                failRestores--;
                // failures reported at a COMMIT belong to no single service: the whole family fails
                int commit = List.of(stdin.split("\n")).lastIndexOf("COMMIT") + 1;
                return new CommandRunner.Result(2, "", "iptables-restore v1.8.9 (nf_tables): Chain 'X' does not exist\nError occurred at line: "
                        + commit + "\n");
            }
            return new CommandRunner.Result(0, "", "");
        }
        if (tool.endsWith("-save")) {
            return new CommandRunner.Result(0, "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SVC-OLDOLDOLDOLDOLDO - [0:0]\nCOMMIT\n", "");
        }
        if (cmd.contains("-S")) {
            return new CommandRunner.Result(canaryPresent ? 0 : 1, "", "");
        }
        return new CommandRunner.Result(0, "", "");
    };

    private final ProxyMetrics metrics = new ProxyMetrics() {
        @Override
        public void restoreFailure(IpFamily family, boolean partial) {
            failures.add(family.kubernetesName() + (partial ? " partial" : " full"));
        }

        @Override
        public void rejectedServicePorts(IpFamily family, int count, int newlyRejected) {
            rejectedCounts.add(new int[]{count, newlyRejected});
        }
    };

    private IptablesBackend backend() {
        FakeClock clock = new FakeClock();
        ProxyConfig cfg = new ProxyConfig("iptables", new ProxyConfig.ClientConnection("", "", "application/json", 5, 10), "n1",
                "0.0.0.0", "", "", List.of(Cidr.parse("10.0.0.0/8")), ProxyConfig.DetectLocalMode.CLUSTER_CIDR,
                new ProxyConfig.DetectLocal("", ""), List.of("primary"),
                new ProxyConfig.Iptables(14, false, false, Duration.ofSeconds(30), Duration.ofSeconds(1)),
                new ProxyConfig.Ipvs("rr", List.of(), false, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ofSeconds(30), Duration.ZERO),
                new ProxyConfig.Nftables(14, false, Duration.ofSeconds(30), Duration.ofSeconds(1)),
                new ProxyConfig.Conntrack(null, null, null, null, null, null), Duration.ofMinutes(15), -999, Map.of(),
                new ProxyConfig.Logging(0, "text"));
        BackendContext ctx = new BackendContext(cfg, "node-1", Set.of(IpFamily.IPV4), metrics, clock,
                new ProxyHealth(clock, Duration.ofMinutes(1)));
        return new IptablesBackend(ctx, new Iptables(fake, Iptables.Flavor.NFT), null);
    }

    private Scenario scenario() {
        return new Scenario("s")
                .svc("ns1/a", "p80", Protocol.TCP, 80, "172.30.0.1", b -> { })
                .slice("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.1");
    }

    @Test
    void fullSyncReadsBackDeletesStaleChainsAndInsertsJumps() throws Exception {
        IptablesBackend backend = backend();
        Scenario s = scenario();
        backend.sync(s.fullSnapshot());
        assertThat(commands).anyMatch(c -> c.get(0).equals("iptables-nft-save"));
        assertThat(commands).anyMatch(c -> c.equals(List.of("iptables-nft-restore", "-w", "5", "-W", "100000", "--noflush", "--counters")));
        String in = restores.get(0);
        assertThat(in).contains("-X KUBE-SVC-OLDOLDOLDOLDOLDO", "*mangle\n:KUBE-PROXY-CANARY",
                "-I PREROUTING 1 -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
        // nodePortAddresses "primary": NodePorts only on the node's first address of the family
        assertThat(in).contains("-d 192.168.0.2 -j KUBE-NODEPORTS").doesNotContain("--dst-type LOCAL -j KUBE-NODEPORTS");
    }

    @Test
    void partialSyncWritesOnlyTheChangedServiceAndLeavesUnchangedTopChainsAlone() throws Exception {
        IptablesBackend backend = backend();
        Scenario s = scenario().svc("ns1/b", "p80", Protocol.TCP, 80, "172.30.0.2", b -> { })
                .slice("ns1/b", "p80", Protocol.TCP, 80, "10.180.0.2");
        backend.sync(s.fullSnapshot());
        restores.clear();
        commands.clear();
        s.slice("ns1/b", "p80", Protocol.TCP, 80, "10.180.0.3");
        backend.sync(s.partialSnapshot());
        assertThat(commands).noneMatch(c -> c.get(0).endsWith("-save"));
        assertThat(restores).hasSize(1);
        String in = restores.get(0);
        assertThat(in).doesNotContain("*filter", ":KUBE-SERVICES", "KUBE-PROXY-CANARY")
                .contains("10.180.0.3").doesNotContain("10.180.0.1");
        assertThat(backend.lastInputBytes()).isLessThan(4096);
    }

    @Test
    void failedRestoreIsCountedForcesAFullSyncAndNamesTheLine() throws Exception {
        IptablesBackend backend = backend();
        Scenario s = scenario();
        backend.sync(s.fullSnapshot());
        s.slice("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.9");
        failRestores = 1;
        ProxySnapshot partial = s.partialSnapshot();
        assertThatThrownBy(() -> backend.sync(partial)).isInstanceOf(SyncException.class)
                .hasMessageContaining("Chain 'X' does not exist");
        assertThat(failures).containsExactly("IPv4 partial");
        commands.clear();
        restores.clear();
        // the next sync is full even though the snapshot says partial
        s.slice("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.10");
        backend.sync(s.partialSnapshot());
        assertThat(commands).anyMatch(c -> c.get(0).endsWith("-save"));
        assertThat(restores.get(0)).contains("KUBE-PROXY-CANARY", ":KUBE-SERVICES");
        assertThat(io.switchboard.netfilter.InputContext.around("l1\nl2\nl3\nl4\nl5\nl6\nl7", 5)).contains(">> 5: l5", "   3: l3", "   7: l7");
    }

    @Test
    void missingCanaryForcesAFullRewrite() throws Exception {
        IptablesBackend backend = backend();
        Scenario s = scenario();
        backend.sync(s.fullSnapshot());
        restores.clear();
        canaryPresent = false;
        s.slice("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.7");
        backend.sync(s.partialSnapshot());
        assertThat(restores.get(0)).contains("*mangle\n:KUBE-PROXY-CANARY", ":KUBE-SERVICES", "*filter");
    }

    @Test
    void aServiceWhoseRulesTheKernelRejectsIsLeftOutAndEveryOtherServiceIsApplied() throws Exception {
        IptablesBackend backend = backend();
        Scenario s = scenario().svc("ns1/bad", "p80", Protocol.TCP, 80, "172.30.0.66", b -> { })
                .slice("ns1/bad", "p80", Protocol.TCP, 80, "10.180.0.66")
                .svc("ns1/z", "p80", Protocol.TCP, 80, "172.30.0.9", b -> { })
                .slice("ns1/z", "p80", Protocol.TCP, 80, "10.180.0.9");
        rejectLinesWith = "10.180.0.66";
        backend.sync(s.fullSnapshot());
        // first try rejected at a KUBE-SEP line of ns1/bad; the second, without it, applied
        assertThat(restores).hasSize(2);
        String applied = restores.get(1);
        assertThat(applied).contains("-d 172.30.0.1 ", "-d 172.30.0.9 ", "10.180.0.1:80", "10.180.0.9:80")
                .doesNotContain("172.30.0.66", "10.180.0.66");
        assertThat(failures).containsExactly("IPv4 full");
        assertThat(rejectedCounts).last().isEqualTo(new int[]{1, 1});

        // a partial sync for another service retries the rejected one, which is rejected again
        restores.clear();
        s.slice("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.2");
        backend.sync(s.partialSnapshot());
        assertThat(restores).hasSize(2);
        assertThat(restores.get(0)).contains("10.180.0.66");
        assertThat(restores.get(1)).contains("10.180.0.2:80").doesNotContain("10.180.0.66");
        assertThat(rejectedCounts).last().isEqualTo(new int[]{1, 0});

        // once its rules are acceptable it is programmed with the next sync, alone
        restores.clear();
        s.slice("ns1/bad", "p80", Protocol.TCP, 80, "10.180.0.67");
        backend.sync(s.partialSnapshot());
        assertThat(restores).hasSize(1);
        assertThat(restores.get(0)).contains("-d 172.30.0.66 ", "10.180.0.67:80").doesNotContain("10.180.0.2:80");
        assertThat(rejectedCounts).last().isEqualTo(new int[]{0, 0});
    }

    @Test
    void aRejectedLineThatBelongsToNoServiceFailsTheFamilyAsBefore() throws Exception {
        IptablesBackend backend = backend();
        Scenario s = scenario();
        rejectLinesWith = "KUBE-MARK-MASQ -j MARK";
        assertThatThrownBy(() -> backend.sync(s.fullSnapshot())).isInstanceOf(SyncException.class);
        assertThat(restores).hasSize(1);
        assertThat(failures).containsExactly("IPv4 full");
    }

    @Test
    void culpritIsFoundFromServiceChainsAndFromTopLevelRules() {
        Scenario s = scenario().svc("ns1/b", "p80", Protocol.TCP, 80, "172.30.0.2", b -> { })
                .slice("ns1/b", "p80", Protocol.TCP, 80, "10.180.0.2");
        RestoreInput in = IptablesRenderer.render(s.fullSnapshot(), s.settings(Set.of(), List.of()));
        String text = in.text();
        List<String> lines = List.of(text.split("\n"));
        int sep = 1 + lines.indexOf(lines.stream().filter(l -> l.contains("DNAT --to-destination 10.180.0.2:80")).findFirst().orElseThrow());
        int top = 1 + lines.indexOf(lines.stream().filter(l -> l.startsWith("-A KUBE-SERVICES") && l.contains("172.30.0.2 ")).findFirst().orElseThrow());
        int commit = 1 + lines.indexOf("COMMIT");
        assertThat(IptablesBackend.culprit(in, text, sep)).hasToString("ns1/b:p80");
        assertThat(IptablesBackend.culprit(in, text, top)).hasToString("ns1/b:p80");
        assertThat(IptablesBackend.culprit(in, text, commit)).isNull();
        assertThat(IptablesBackend.culprit(in, text, 0)).isNull();
    }
}
