package io.switchboard.backend.nftables;

import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.SyncException;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.testing.FakeClock;
import io.switchboard.netfilter.CommandRunner;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The backend's sync logic against a fake {@code nft}: what it sends, and how it handles failures. */
class NftablesBackendTest {
    private final List<String> transactions = new ArrayList<>();
    private final List<List<String>> commands = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();
    private final List<int[]> rejectedCounts = new ArrayList<>();
    /** Transaction lines holding this text are rejected, as the kernel rejects a bad statement. */
    private String rejectLinesWith;
    private int failTransactions;
    /** What {@code nft list chain … services} prints; null: the table is gone. */
    private String servicesChain = "table ip kube-proxy {\n\tchain services {\n"
            + "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n"
            + "\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports\n\t}\n}\n";
    private final FakeClock clock = new FakeClock();

    private final CommandRunner fake = (cmd, stdin, timeout) -> {
        commands.add(cmd);
        if (cmd.equals(List.of("nft", "-f", "-"))) {
            transactions.add(stdin);
            if (rejectLinesWith != null) {
                String[] lines = stdin.split("\n");
                for (int i = 0; i < lines.length; i++) {
                    if (lines[i].contains(rejectLinesWith)) {
                        return new CommandRunner.Result(1, "", "/dev/stdin:" + (i + 1) + ":1-10: Error: Could not process rule: "
                                + "Invalid argument\n" + lines[i] + "\n");
                    }
                }
            }
            if (failTransactions > 0) {
                failTransactions--;
                return new CommandRunner.Result(1, "", "netlink: Error: Could not process rule: Operation not supported\n");
            }
            return new CommandRunner.Result(0, "", "");
        }
        if (cmd.size() > 2 && cmd.get(1).equals("list") && cmd.get(2).equals("chain")) {
            return servicesChain == null ? new CommandRunner.Result(1, "", "Error: No such file or directory\n")
                    : new CommandRunner.Result(0, servicesChain, "");
        }
        if (cmd.contains("chains")) {
            return new CommandRunner.Result(0, "table ip kube-proxy {\n\tchain services {\n\t}\n"
                    + "\tchain service-OLDOLDOL-ns9/gone/tcp/p80 {\n\t}\n}\ntable ip other {\n\tchain x/y {\n\t}\n}\n", "");
        }
        if (cmd.contains("sets")) {
            return new CommandRunner.Result(0, "table ip kube-proxy {\n\tset affinity-OLDOLDOL-ns9/gone/tcp/p80__10.1.1.1/80 {\n"
                    + "\t\ttype ipv4_addr\n\t}\n}\n", "");
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

    private NftablesBackend backend() {
        ProxyConfig cfg = new ProxyConfig("nftables", new ProxyConfig.ClientConnection("", "", "application/json", 5, 10), "n1",
                "0.0.0.0", "", "", List.of(Cidr.parse("10.0.0.0/8")), ProxyConfig.DetectLocalMode.CLUSTER_CIDR,
                new ProxyConfig.DetectLocal("", ""), List.of(),
                new ProxyConfig.Iptables(14, false, false, Duration.ofSeconds(30), Duration.ofSeconds(1)),
                new ProxyConfig.Ipvs("rr", List.of(), false, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ofSeconds(30), Duration.ZERO),
                new ProxyConfig.Nftables(3, false, Duration.ofSeconds(30), Duration.ofSeconds(1)),
                new ProxyConfig.Conntrack(null, null, null, null, null, null), Duration.ofMinutes(15), -999, Map.of(),
                new ProxyConfig.Logging(0, "text"));
        BackendContext ctx = new BackendContext(cfg, "node-1", Set.of(IpFamily.IPV4), metrics, clock,
                new ProxyHealth(clock, Duration.ofMinutes(1)));
        return new NftablesBackend(ctx, new Nft(fake), null);
    }

    private static Fixture fixture() {
        return new Fixture()
                .svc("ns1/a", "p80", Protocol.TCP, 80, "172.30.0.1", b -> { })
                .eps("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.1")
                .svc("ns1/b", "p80", Protocol.TCP, 80, "172.30.0.2", b -> { })
                .eps("ns1/b", "p80", Protocol.TCP, 80, "10.180.0.2");
    }

    @Test
    void firstSyncIsOneWholeTransactionThatClearsWhatItDoesNotOwn() throws Exception {
        NftablesBackend backend = backend();
        backend.sync(fixture().snapshot(false));
        assertThat(transactions).hasSize(1);
        String tx = transactions.get(0);
        assertThat(tx).startsWith("add table ip kube-proxy").contains("flush map ip kube-proxy service-ips",
                "flush chain ip kube-proxy service-OLDOLDOL-ns9/gone/tcp/p80",
                "delete set ip kube-proxy affinity-OLDOLDOL-ns9/gone/tcp/p80__10.1.1.1/80",
                "mark set mark or 0x00000008", "172.30.0.1 . tcp . 80", "172.30.0.2 . tcp . 80");
        // the stale chain is deleted in a later transaction, once a second has passed
        transactions.clear();
        clock.advance(Duration.ofSeconds(2));
        backend.sync(fixture().snapshot(false));
        assertThat(transactions).containsExactly("delete chain ip kube-proxy service-OLDOLDOL-ns9/gone/tcp/p80\n");
    }

    @Test
    void laterSyncsSendOnlyWhatChanged() throws Exception {
        NftablesBackend backend = backend();
        Fixture f = fixture();
        backend.sync(f.snapshot(true));
        transactions.clear();
        f.eps("ns1/b", "p80", Protocol.TCP, 80, "10.180.0.3");
        backend.sync(f.snapshot(false));
        assertThat(transactions).hasSize(1);
        String tx = transactions.get(0);
        assertThat(tx).contains("10.180.0.3").doesNotContain("172.30.0.1", "10.180.0.1", "flush map", "add table")
                .contains("flush chain ip kube-proxy service-", "flush chain ip kube-proxy endpoint-")
                .doesNotContain("add element");
        assertThat(backend.lastInputBytes()).isLessThan(1024);
        // nothing changed: nothing sent, but the services chain is read back to catch a flush
        transactions.clear();
        commands.clear();
        backend.sync(f.snapshot(false));
        assertThat(transactions).isEmpty();
        assertThat(commands).containsExactly(List.of("nft", "list", "chain", "ip", "kube-proxy", "services"));
    }

    /**
     * An endpoint's chain emptied by one sync and used again by a later one (the endpoint came back)
     * before its deletion was due is not deleted; the chain of the endpoint that went away instead is.
     */
    @Test
    void aStaleChainUsedAgainBeforeItsDeletionIsKept() throws Exception {
        NftablesBackend backend = backend();
        Fixture f = fixture();
        backend.sync(f.snapshot(true));
        f.eps("ns1/b", "p80", Protocol.TCP, 80, "10.180.0.3");
        backend.sync(f.snapshot(false));
        clock.advance(Duration.ofMillis(500));
        f.eps("ns1/b", "p80", Protocol.TCP, 80, "10.180.0.2");
        backend.sync(f.snapshot(false));
        clock.advance(Duration.ofSeconds(2));
        transactions.clear();
        f.eps("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.9");
        backend.sync(f.snapshot(false));
        String sent = String.join("", transactions);
        assertThat(sent).containsPattern("delete chain ip kube-proxy endpoint-\\w+-ns1/b/tcp/p80__10\\.180\\.0\\.3/80\n")
                .doesNotContainPattern("delete chain ip kube-proxy endpoint-\\w+-ns1/b/tcp/p80__10\\.180\\.0\\.2/80\n");
    }

    @Test
    void aFlushedOrDeletedTableMakesTheNextSyncFull() throws Exception {
        NftablesBackend backend = backend();
        Fixture f = fixture();
        backend.sync(f.snapshot(true));
        transactions.clear();
        servicesChain = null;
        backend.sync(f.snapshot(false));
        assertThat(transactions).hasSize(1);
        assertThat(transactions.get(0)).startsWith("add table ip kube-proxy").contains("172.30.0.1 . tcp . 80");
    }

    @Test
    void aRejectedServicePortIsLeftOutAndTheRestApplied() throws Exception {
        NftablesBackend backend = backend();
        Fixture f = fixture();
        rejectLinesWith = "10.180.0.2";
        backend.sync(f.snapshot(true));
        assertThat(transactions).hasSize(2);
        assertThat(transactions.get(1)).contains("172.30.0.1 . tcp . 80").doesNotContain("172.30.0.2");
        assertThat(failures).containsExactly("IPv4 full");
        assertThat(rejectedCounts).last().satisfies(c -> assertThat(c).containsExactly(1, 1));
        // retried with each sync; accepted once the kernel takes it
        rejectLinesWith = null;
        transactions.clear();
        backend.sync(f.snapshot(false));
        assertThat(transactions).hasSize(1);
        assertThat(transactions.get(0)).contains("172.30.0.2 . tcp . 80").doesNotContain("172.30.0.1");
        assertThat(rejectedCounts).last().satisfies(c -> assertThat(c).containsExactly(0, 0));
    }

    @Test
    void aFailedTransactionIsCountedAndTheNextSyncIsFull() throws Exception {
        NftablesBackend backend = backend();
        Fixture f = fixture();
        backend.sync(f.snapshot(true));
        f.eps("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.9");
        failTransactions = 1;
        assertThatThrownBy(() -> backend.sync(f.snapshot(false))).isInstanceOf(SyncException.class)
                .hasMessageContaining("IPv4: nft: netlink: Error: Could not process rule");
        assertThat(failures).containsExactly("IPv4 partial");
        transactions.clear();
        backend.sync(f.snapshot(false));
        assertThat(transactions).hasSize(1);
        assertThat(transactions.get(0)).startsWith("add table ip kube-proxy").contains("10.180.0.9");
    }

    @Test
    void cleanupDeletesBothTablesWhenPresent() throws Exception {
        NftablesBackend backend = backend();
        backend.cleanup();
        assertThat(commands).contains(List.of("nft", "list", "tables", "ip"), List.of("nft", "list", "tables", "ip6"));
        // the fake lists no tables: nothing to delete
        assertThat(transactions).isEmpty();
    }

    @Test
    void parsesOnlyTheKubeProxyTablesServiceObjects() {
        assertThat(Nft.parseObjects("table ip kube-proxy {\n\tchain services {\n\t}\n\tchain service-X-a/b/tcp/p {\n\t}\n}\n"
                + "table ip other {\n\tchain a/b {\n\t}\n}\n")).containsExactly("service-X-a/b/tcp/p");
    }
}
