package io.switchboard.backend.nftables;

import io.switchboard.netfilter.netlink.Attributes;
import io.switchboard.netfilter.netlink.Replies;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The nf_tables compiler on bytes: every statement shape of the layout compiles to the message
 * nft 1.0.6 itself sends for it (recorded with {@code nft -d mnl} into
 * {@code netlink/nft-1.0.6.txt}); the batch is framed and maps sequence numbers back to lines;
 * a line it cannot read is refused with its number.
 */
class NftNetlinkTest {
    record Fixture(List<String> statements, List<Integer> types, List<byte[]> payloads) {
    }

    static Fixture fixture() throws IOException {
        List<String> statements = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        try (InputStream in = NftNetlinkTest.class.getResourceAsStream("/netlink/nft-1.0.6.txt")) {
            List<String> lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith("#")).toList();
            for (int i = 0; i < lines.size(); i += 2) {
                statements.add(lines.get(i));
                String[] w = lines.get(i + 1).split(" ");
                types.add(Integer.parseInt(w[0]));
                payloads.add(HexFormat.of().parseHex(w[1]));
            }
        }
        return new Fixture(statements, types, payloads);
    }

    /**
     * An attribute tree as text, the attributes of each level sorted (the kernel reads them by type,
     * not by position; lists of expressions and elements keep their order, all their items being of
     * one type); {@code skip} drops top-level attributes of those types.
     */
    static String tree(Attributes attrs, Set<Integer> skip) {
        List<String> items = new ArrayList<>();
        Attributes.Attr name = attrs.first(1);
        // an expression's data: lookup and dynset name their set by id too (we name it by name only)
        Set<Integer> inner = name == null || name.nested() ? Set.of()
                : name.string().equals("lookup") ? Set.of(4) : name.string().equals("dynset") ? Set.of(2) : Set.of();
        for (Attributes.Attr a : attrs.all()) {
            if (skip.contains(a.type())) {
                continue;
            }
            Set<Integer> below = a.type() == 2 && a.nested() ? inner : Set.of();
            items.add(a.type() + (a.nested() ? "{" + tree(a.children(), below) + "}" : "=" + HexFormat.of().formatHex(a.bytes())));
        }
        if (items.stream().map(i -> i.split("[{=]", 2)[0]).distinct().count() == items.size()) {
            items.sort(null);
        }
        return String.join(" ", items);
    }

    @Test
    void everyStatementShapeCompilesToTheMessageNftSends() throws Exception {
        Fixture f = fixture();
        NftNetlink.Batch batch = new NftNetlink("t").compile(String.join("\n", f.statements()) + "\n", 100);
        List<Replies.Message> messages = Replies.parse(batch.bytes(), batch.bytes().length);
        assertThat(messages).hasSize(f.statements().size() + 2);
        assertThat(messages.get(0).type()).isEqualTo(NftNetlink.BATCH_BEGIN);
        assertThat(messages.get(messages.size() - 1).type()).isEqualTo(NftNetlink.BATCH_END);
        for (int i = 0; i < f.statements().size(); i++) {
            Replies.Message m = messages.get(i + 1);
            String what = f.statements().get(i);
            assertThat(m.type()).as(what).isEqualTo((NftNetlink.NFNL_SUBSYS_NFTABLES << 8) | f.types().get(i));
            byte[] ours = new byte[m.payloadLength()];
            m.buf().get(m.payloadOffset(), ours);
            byte[] theirs = f.payloads().get(i);
            // the family header, then the attributes; nft names a set made in the same batch by id as well
            assertThat(HexFormat.of().formatHex(ours, 0, 4)).as(what).isEqualTo(HexFormat.of().formatHex(theirs, 0, 4));
            Set<Integer> skip = f.types().get(i) == NftNetlink.NEWSETELEM ? Set.of(4) : Set.of();
            assertThat(tree(Attributes.of(ours, 4, ours.length), skip)).as(what)
                    .isEqualTo(tree(Attributes.of(theirs, 4, theirs.length), skip));
            assertThat(batch.line(m.seq())).as(what).isEqualTo(i + 1);
        }
        assertThat(batch.line(100)).isZero();
    }

    @Test
    void anonymousSetsPrecedeTheirRuleUnderUniqueNames() throws Exception {
        NftNetlink c = new NftNetlink("ab12");
        String tx = "add rule ip kube-proxy c numgen random mod 2 vmap { 0 : goto a, 1 : goto b }\n"
                + "add rule ip kube-proxy c ip saddr != { 10.0.0.0/8, 10.1.0.0/16, 192.168.0.1 } drop\n";
        NftNetlink.Batch batch = c.compile(tx, 1);
        List<Replies.Message> m = Replies.parse(batch.bytes(), batch.bytes().length);
        List<Integer> types = m.stream().map(x -> x.type() & 0xff).toList();
        assertThat(types).containsExactly(NftNetlink.BATCH_BEGIN, NftNetlink.NEWSET, NftNetlink.NEWSETELEM, NftNetlink.NEWRULE,
                NftNetlink.NEWSET, NftNetlink.NEWSETELEM, NftNetlink.NEWRULE, NftNetlink.BATCH_END);
        assertThat(m.get(1).attributes(4).first(2).string()).isEqualTo("__setab12_0");
        assertThat(m.get(4).attributes(4).first(2).string()).isEqualTo("__setab12_1");
        assertThat(batch.line(m.get(5).seq())).isEqualTo(2);
        // 10.1.0.0/16 lies inside 10.0.0.0/8: merged; with the leading interval end at 0, five elements
        Attributes.Attr list = m.get(5).attributes(4).first(3);
        assertThat(list.children().all()).hasSize(5);
        // the next batch names its anonymous sets afresh
        NftNetlink.Batch again = c.compile(tx, 50);
        assertThat(Replies.parse(again.bytes(), again.bytes().length).get(1).attributes(4).first(2).string()).isEqualTo("__setab12_2");
    }

    @Test
    void aLargeAnonymousMapGoesInSeveralElementMessages() throws Exception {
        StringBuilder vmap = new StringBuilder("add rule ip kube-proxy c numgen random mod 1000 vmap { ");
        for (int i = 0; i < 1000; i++) {
            vmap.append(i == 0 ? "" : ", ").append(i).append(" : goto endpoint-R7XGHOFK-fuzz/f1/tcp/http__10.250.3.").append(i % 250)
                    .append("/8080");
        }
        NftNetlink.Batch b = new NftNetlink("x").compile(vmap.append(" }\n").toString(), 1);
        List<Replies.Message> m = Replies.parse(b.bytes(), b.bytes().length);
        List<Replies.Message> lists = m.stream().filter(x -> (x.type() & 0xff) == NftNetlink.NEWSETELEM).toList();
        assertThat(lists).hasSizeGreaterThan(1);
        assertThat(lists.stream().mapToInt(x -> x.attributes(4).first(3).children().all().size()).sum()).isEqualTo(1000);
        assertThat(m.get(m.size() - 2).type() & 0xff).isEqualTo(NftNetlink.NEWRULE);
    }

    @Test
    void everyGoldenTransactionCompiles() throws Exception {
        for (Object[] sc : NftablesGoldenTest.SCENARIOS) {
            @SuppressWarnings("unchecked")
            io.switchboard.backend.nftables.Fixture f = ((Supplier<io.switchboard.backend.nftables.Fixture>) sc[1]).get();
            NftTransaction tx = NftTransaction.full(NftablesRenderer.render(f.snapshot(true), f.settings()), f.settings(), Set.of());
            NftNetlink.Batch b = new NftNetlink("g").compile(tx.text(), 1);
            assertThat(b.messages()).as(sc[0].toString()).isGreaterThanOrEqualTo(tx.lineCount() + 2);
        }
    }

    @Test
    void aLineItCannotReadIsRefusedWithItsNumber() {
        NftNetlink c = new NftNetlink("x");
        assertThatThrownBy(() -> c.compile("add chain ip kube-proxy a\nadd rule ip kube-proxy a tproxy to :1\n", 1))
                .isInstanceOfSatisfying(NftNetlink.CompileException.class, e -> {
                    assertThat(e.line()).isEqualTo(2);
                    assertThat(e.getMessage()).contains("tproxy");
                });
        assertThatThrownBy(() -> c.compile("add element ip kube-proxy service-ips { 10.0.0.1 . tcp . 70000 : drop }\n", 1))
                .isInstanceOfSatisfying(NftNetlink.CompileException.class, e -> assertThat(e.getMessage()).contains("port out of range"));
        assertThatThrownBy(() -> c.compile("add element ip kube-proxy cluster-ips { fd00::1 }\n", 1))
                .isInstanceOfSatisfying(NftNetlink.CompileException.class, e -> assertThat(e.getMessage()).contains("other family"));
        assertThatThrownBy(() -> c.compile("add rule ip kube-proxy a ip saddr 10.0.0.0/33 drop\n", 1))
                .isInstanceOf(NftNetlink.CompileException.class);
    }
}
