package io.switchboard.backend.nftables;

import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The netlink writer against {@code nft -f} on the real kernel: every golden transaction, sent as
 * an nf_tables batch into one namespace and as text through {@code nft -f} into another, lists
 * back as the same table; a statement the kernel refuses fails the whole batch and is named by
 * its line. Skipped with the reason when not root or no nft.
 */
class NetlinkNftKernelTest {
    private static String why;

    @BeforeAll
    static void probe() {
        why = Netns.unavailableReason();
        if (why == null) {
            try {
                CommandRunner.SYSTEM.run(List.of("nft", "--version"), null, java.time.Duration.ofSeconds(5));
                NetlinkNft.probe();
            } catch (IOException | RuntimeException | LinkageError e) {
                why = "nft or libc for netlink unavailable: " + e;
            }
        }
    }

    static String ns(String name) {
        Assumptions.assumeTrue(why == null, "real-kernel nftables test skipped: " + why);
        String ns = "sbnl-" + name + "-" + ProcessHandle.current().pid();
        Netns.delete(ns);
        Netns.add(ns);
        return ns;
    }

    static NetlinkNft netlink(String ns, Path fault) {
        return new NetlinkNft(Netns.runner(ns), fault, Path.of("/run/netns", ns));
    }

    /** {@code nft list table}, each map's and set's elements sorted (the kernel's hash order is not ours). */
    static String listing(String ns, IpFamily family) {
        String text = Netns.exec(ns, "nft", "list", "table", NftNames.family(family), NftNames.TABLE);
        Matcher m = Pattern.compile("elements = \\{([^}]*)\\}", Pattern.DOTALL).matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String[] items = m.group(1).strip().split(",\\s*");
            Arrays.sort(items);
            m.appendReplacement(out, Matcher.quoteReplacement("elements = { " + String.join(", ", items) + " }"));
        }
        m.appendTail(out);
        return out.toString();
    }

    @Test
    void everyGoldenTransactionSentOverNetlinkListsAsNftLoadsIt() throws Exception {
        for (Object[] sc : NftablesGoldenTest.SCENARIOS) {
            @SuppressWarnings("unchecked")
            Fixture f = ((Supplier<Fixture>) sc[1]).get();
            String viaNft = ns("text");
            String viaNetlink = ns("nl");
            try {
                NftModel m = NftablesRenderer.render(f.snapshot(true), f.settings());
                String tx = NftTransaction.full(m, f.settings(), Set.of()).text();
                new Nft(Netns.runner(viaNft)).apply(tx);
                NetlinkNft nl = netlink(viaNetlink, null);
                nl.apply(tx);
                String expected = listing(viaNft, f.family);
                assertThat(expected).as(sc[0] + ": nft loaded it").contains("chain services");
                assertThat(listing(viaNetlink, f.family)).as(sc[0].toString()).isEqualTo(expected);
                // the read-backs over netlink name what nft lists
                Set<String> objects = nl.serviceObjects(f.family);
                assertThat(objects).as(sc[0] + ": service objects").isNotEmpty()
                        .isEqualTo(new Nft(Netns.runner(viaNft)).serviceObjects(f.family));
                assertThat(nl.chainRules(f.family, NftNames.SERVICES)).as(sc[0] + ": services chain").hasSize(2)
                        .satisfies(r -> assertThat(r.get(0)).endsWith("vmap @" + NftNames.SERVICE_IPS))
                        .satisfies(r -> assertThat(r.get(1)).endsWith("vmap @" + NftNames.SERVICE_NODEPORTS));
                assertThat(nl.chainRules(f.family, "no-such-chain")).isNull();
                // a second full sync over the same state agrees too
                nl.apply(NftTransaction.full(m, f.settings(), objects).text());
                assertThat(listing(viaNetlink, f.family)).as(sc[0] + ": after a second full sync").isEqualTo(expected);
            } finally {
                Netns.delete(viaNft);
                Netns.delete(viaNetlink);
            }
        }
    }

    @Test
    void aThousandEndpointMapAndWideSourceRangesListAsNftLoadsThem() throws Exception {
        String viaNft = ns("wide-t");
        String viaNetlink = ns("wide-n");
        try {
            StringBuilder tx = new StringBuilder("add table ip kube-proxy\nadd chain ip kube-proxy c\n");
            StringBuilder vmap = new StringBuilder("add rule ip kube-proxy c numgen random mod 1000 vmap { ");
            for (int i = 0; i < 1000; i++) {
                tx.append("add chain ip kube-proxy endpoint-R7XGHOFK-fuzz/f1/tcp/http__10.250.").append(i / 250).append('.')
                        .append(i % 250).append("/8080\n");
                vmap.append(i == 0 ? "" : ", ").append(i).append(" : goto endpoint-R7XGHOFK-fuzz/f1/tcp/http__10.250.")
                        .append(i / 250).append('.').append(i % 250).append("/8080");
            }
            tx.append(vmap).append(" }\n");
            tx.append("add rule ip kube-proxy c ip saddr != { 0.0.0.0/1, 10.0.0.0/8, 203.0.113.0/25, 203.0.113.128/25, 255.255.255.255 } drop\n");
            tx.append("add rule ip kube-proxy c ip saddr 10.16.0.0/12 iifname != \"veth*\" accept\n");
            new Nft(Netns.runner(viaNft)).apply(tx.toString());
            netlink(viaNetlink, null).apply(tx.toString());
            String expected = listing(viaNft, IpFamily.IPV4);
            assertThat(expected).contains("numgen random mod 1000 vmap", "999 : goto");
            assertThat(listing(viaNetlink, IpFamily.IPV4)).isEqualTo(expected);
        } finally {
            Netns.delete(viaNft);
            Netns.delete(viaNetlink);
        }
    }

    @Test
    void aStatementTheKernelRefusesFailsTheWholeBatchAndIsNamedByItsLine() throws Exception {
        String ns = ns("fail");
        try {
            NetlinkNft nl = netlink(ns, null);
            nl.apply("add table ip kube-proxy\nadd chain ip kube-proxy a\n");
            String tx = "add chain ip kube-proxy b\n"
                    + "add rule ip kube-proxy b ip daddr 10.0.0.1 drop\n"
                    + "add rule ip kube-proxy b goto no-such-chain\n"
                    + "add rule ip kube-proxy a jump b\n";
            assertThatThrownBy(() -> nl.apply(tx)).isInstanceOfSatisfying(Nft.TransactionException.class, e -> {
                assertThat(e.line()).isEqualTo(3);
                assertThat(e.getMessage()).contains("ENOENT", "goto no-such-chain");
            });
            // nothing of it was applied
            assertThat(Netns.exec(ns, "nft", "list", "table", "ip", "kube-proxy")).contains("chain a").doesNotContain("chain b");
            // a line this writer cannot read is refused before anything is sent, with its line
            assertThatThrownBy(() -> nl.apply("add chain ip kube-proxy c\nadd rule ip kube-proxy c tproxy to :1\n"))
                    .isInstanceOfSatisfying(Nft.TransactionException.class, e -> assertThat(e.line()).isEqualTo(2));
            assertThat(Netns.exec(ns, "nft", "list", "table", "ip", "kube-proxy")).doesNotContain("chain c");
        } finally {
            Netns.delete(ns);
        }
    }

    @Test
    void theFaultFileMakesTheKernelRefuseTheElementsItNames(@TempDir Path dir) throws Exception {
        String ns = ns("fault");
        try {
            Path fault = dir.resolve("fault");
            NetlinkNft nl = netlink(ns, fault);
            String setup = "add table ip kube-proxy\nadd chain ip kube-proxy e\n"
                    + "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }\n";
            nl.apply(setup);
            String tx = "add element ip kube-proxy service-ips { 10.0.0.1 . tcp . 80 : goto e }\n"
                    + "add element ip kube-proxy service-ips { 10.0.0.2 . tcp . 80 : goto e }\n";
            Files.writeString(fault, "10\\.0\\.0\\.2 \n");
            assertThatThrownBy(() -> nl.apply(tx)).isInstanceOfSatisfying(Nft.TransactionException.class, e -> {
                assertThat(e.line()).isEqualTo(2);
                assertThat(e.getMessage()).contains("EINVAL");
            });
            Files.delete(fault);
            nl.apply(tx);
            assertThat(listing(ns, IpFamily.IPV4)).contains("10.0.0.1 . tcp . 80 : goto e", "10.0.0.2 . tcp . 80 : goto e");
        } finally {
            Netns.delete(ns);
        }
    }
}
