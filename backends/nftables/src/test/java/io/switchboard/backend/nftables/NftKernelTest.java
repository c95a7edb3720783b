package io.switchboard.backend.nftables;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.SessionAffinity;
import io.switchboard.core.model.TrafficPolicy;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.trace.NftTable;
import io.switchboard.netfilter.trace.NftTracer;
import io.switchboard.netfilter.trace.PacketTracer;
import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real kernel, in a fresh network namespace per case: every golden transaction loads, and
 * reads back with the chains and elements the model holds; and, seeded at random, a first full
 * transaction followed by incremental ones ends in exactly the table a full transaction of the
 * final state writes into an empty namespace. Skipped with the reason when not root or no nft.
 */
class NftKernelTest {
    private static String why;

    @BeforeAll
    static void probe() {
        why = Netns.unavailableReason();
        if (why == null) {
            try {
                CommandRunner.SYSTEM.run(List.of("nft", "--version"), null, java.time.Duration.ofSeconds(5));
            } catch (IOException e) {
                why = "nft is not installed (Debian package nftables)";
            }
        }
    }

    private static String ns(String name) {
        Assumptions.assumeTrue(why == null, "real-kernel nftables test skipped: " + why);
        String ns = "sbnft-" + name + "-" + ProcessHandle.current().pid();
        Netns.delete(ns);
        Netns.add(ns);
        return ns;
    }

    private static void apply(String ns, String text) throws Exception {
        new Nft(Netns.runner(ns)).apply(text);
    }

    @Test
    void everyGoldenTransactionLoadsAndReadsBackAsTheModel() throws Exception {
        for (Object[] sc : NftablesGoldenTest.SCENARIOS) {
            @SuppressWarnings("unchecked")
            Fixture f = ((Supplier<Fixture>) sc[1]).get();
            String ns = ns(sc[0].toString());
            try {
                NftModel m = NftablesRenderer.render(f.snapshot(true), f.settings());
                apply(ns, NftTransaction.full(m, f.settings(), Set.of()).text());
                Table t = Table.read(ns, f.family);
                Set<String> chains = new TreeSet<>();
                Set<String> elements = new TreeSet<>();
                m.services().values().forEach(o -> {
                    o.chains().forEach(c -> chains.add(c.name()));
                    o.elements().forEach(e -> elements.add(e.map() + ": " + e.key()));
                });
                assertThat(t.serviceChains()).as(sc[0] + ": chains").isEqualTo(chains);
                assertThat(t.elementKeys()).as(sc[0] + ": map elements").isEqualTo(elements);
                // loading it again (a second full sync over the same state) changes nothing
                apply(ns, NftTransaction.full(m, f.settings(), t.serviceObjects()).text());
                assertThat(Table.read(ns, f.family)).as(sc[0] + ": after a second full sync").isEqualTo(t);
                // in pieces of two services (as large tables go in), from empty, the same table
                Netns.exec(ns, "nft", "flush", "ruleset");
                List<NftTransaction> chunks = NftTransaction.fullChunks(m, f.settings(), Set.of(), 2);
                int n = m.services().size();
                assertThat(chunks).hasSize(n <= 2 ? 1 : (n + 1) / 2 + 1);
                for (NftTransaction c : chunks) {
                    apply(ns, c.text());
                }
                assertThat(Table.read(ns, f.family)).as(sc[0] + ": loaded in pieces").isEqualTo(t);
            } finally {
                Netns.delete(ns);
            }
        }
    }

    /**
     * kube-proxy's overall scenario in the kernel, read back with {@code nft list table} and traced
     * (the packet flows of kube-proxy's own nftables tests): where each new connection can go.
     */
    @Test
    void theKernelsTableTracesAsKubeProxysFlows() throws Exception {
        Fixture f = NftablesGoldenTest.overall();
        String ns = ns("trace");
        try {
            NftModel m = NftablesRenderer.render(f.snapshot(true), f.settings());
            apply(ns, NftTransaction.full(m, f.settings(), Set.of()).text());
            NftTracer tracer = new NftTracer(NftTable.parse(Netns.exec(ns, "nft", "list", "table", "ip", "kube-proxy")),
                    Set.of(IpAddress.parse("192.168.0.2")));
            Map<String, String> flows = new java.util.LinkedHashMap<>();
            flows.put("pod 10.0.0.2 -> 172.30.0.41:80", "[10.180.0.1:80]");
            flows.put("pod 10.180.0.1 -> 172.30.0.41:80", "[10.180.0.1:80 (masqueraded)]");
            flows.put("node 192.168.0.2 -> 172.30.0.41:80", "[10.180.0.1:80 (masqueraded)]");
            flows.put("ext 203.0.113.9 -> 192.168.0.2:3003", "[10.180.0.3:80 (masqueraded)]");
            flows.put("ext 203.0.113.9 -> 1.2.3.4:80", "[DROP]");
            flows.put("ext 203.0.113.9 -> 192.168.0.2:3001", "[DROP]");
            flows.put("pod 10.0.0.2 -> 1.2.3.4:80", "[10.180.0.2:80]");
            flows.put("node 192.168.0.2 -> 192.168.99.22:80", "[10.180.0.2:80 (masqueraded)]");
            flows.put("ext 203.0.113.9 -> 192.168.99.33:80", "[10.180.0.4:80 (masqueraded), 10.180.0.5:80 (masqueraded)]");
            flows.put("ext 203.0.113.9 -> 5.6.7.8:80", "[10.180.0.3:80 (masqueraded)]");
            flows.put("ext 198.51.100.1 -> 5.6.7.8:80", "[DROP]");
            flows.put("ext 198.51.100.1 -> 192.168.0.2:3002", "[10.180.0.3:80 (masqueraded)]");
            flows.put("pod 10.0.0.2 -> 172.30.0.46:80", "[REJECT]");
            // a cluster IP on a port it does not serve is rejected (kube-proxy's cluster-ips-check)
            flows.put("pod 10.0.0.2 -> 172.30.0.41:443", "[REJECT]");
            for (Map.Entry<String, String> e : flows.entrySet()) {
                String[] w = e.getKey().split(" ");
                String[] dst = w[3].split(":");
                PacketTracer.Packet p = w[0].equals("node") ? PacketTracer.Packet.fromNode(w[1], dst[0], "tcp", Integer.parseInt(dst[1]))
                        : PacketTracer.Packet.arriving(w[1], dst[0], "tcp", Integer.parseInt(dst[1]), w[0].equals("pod") ? "cni0" : "eth0");
                assertThat(tracer.trace(p).toString()).as(e.getKey()).isEqualTo(e.getValue());
            }
            // the affinity set is a condition: with an entry the client goes to its endpoint, without one it is balanced
            var sticky = tracer.explain(PacketTracer.Packet.arriving("10.0.0.2", "172.30.0.45", "tcp", 80, "cni0"));
            assertThat(sticky).hasSize(2);
            assertThat(sticky.get(0).conditions()).containsExactly("the client has an affinity entry in "
                    + NftNames.affinity(Fixture.spn("ns5/svc5", "p80", Protocol.TCP), f.endpoints.get(Fixture.spn("ns5/svc5", "p80",
                    Protocol.TCP)).get(0)));
            assertThat(sticky.get(1).share()).isEqualTo(1.0);
        } finally {
            Netns.delete(ns);
        }
    }

    /** Random services and endpoint changes; incremental transactions must track full ones exactly. */
    @ParameterizedTest(name = "seed {0}, over netlink {1}")
    @CsvSource({"20261201, false", "7, false", "4242, false", "20261201, true", "99, true", "31337, true"})
    void incrementalTransactionsEndInTheTableAFullOneWrites(long seed, boolean overNetlink) throws Exception {
        Random r = new Random(seed);
        String inc = ns("inc");
        String ref = ns("ref");
        Nft writer = overNetlink ? NetlinkNftKernelTest.netlink(inc, null) : new Nft(Netns.runner(inc));
        try {
            Fixture f = new Fixture();
            for (int i = 0; i < 12; i++) {
                mutate(f, r, i);
            }
            NftSettings s = f.settings();
            NftModel model = NftablesRenderer.render(f.snapshot(true), s);
            writer.apply(NftTransaction.full(model, s, Set.of()).text());
            for (int step = 0; step < 25; step++) {
                for (int k = r.nextInt(3) + 1; k > 0; k--) {
                    mutate(f, r, r.nextInt(16));
                }
                ProxySnapshot snap = f.snapshot(false);
                NftModel next = NftablesRenderer.render(snap, s, model);
                NftTransaction tx = NftTransaction.diff(model, next, s);
                String ctx = "seed " + seed + ", step " + step + "\n" + tx.text();
                if (!tx.isEmpty()) {
                    try {
                        writer.apply(tx.text());
                    } catch (Nft.TransactionException e) {
                        throw new AssertionError(e.getMessage() + " (" + ctx + ")", e);
                    }
                }
                if (!tx.flushedStale().isEmpty()) {
                    writer.apply(NftTransaction.deleteChains(s, tx.flushedStale()).text());
                }
                model = next;
                Netns.exec(ref, "nft", "flush", "ruleset");
                NftModel fresh = NftablesRenderer.render(f.snapshot(true), s);
                assertThat(fresh).as("a fresh render equals the incrementally kept model (%s)", ctx).isEqualTo(next);
                apply(ref, NftTransaction.full(fresh, s, Set.of()).text());
                Table expected = Table.read(ref, IpFamily.IPV4);
                assertThat(expected.chains()).as("the reference table has its fixed chains").hasSizeGreaterThan(10);
                assertThat(Table.read(inc, IpFamily.IPV4)).as(ctx).isEqualTo(expected);
            }
        } finally {
            Netns.delete(inc);
            Netns.delete(ref);
        }
    }

    private static void mutate(Fixture f, Random r, int i) {
        String name = "ns" + (i % 3) + "/svc" + i;
        String vip = "172.30.0." + (10 + i);
        switch (r.nextInt(6)) {
            case 0 -> f.remove(name, "p80", Protocol.TCP);
            case 1 -> f.svc(name, "p80", Protocol.TCP, 80, vip, b -> b.nodePort(30000 + i).externalPolicy(TrafficPolicy.LOCAL)
                    .healthCheckNodePort(32000 + i));
            case 2 -> f.svc(name, "p80", Protocol.TCP, 80, vip, b -> b.sessionAffinity(SessionAffinity.clientIp(60 + r.nextInt(100))));
            case 3 -> f.svc(name, "p80", Protocol.TCP, 80, vip, b -> b.externalIps(Fixture.ips("192.168.99." + i))
                    .internalPolicy(r.nextBoolean() ? TrafficPolicy.LOCAL : TrafficPolicy.CLUSTER));
            default -> {
                if (!f.services.containsKey(Fixture.spn(name, "p80", Protocol.TCP))) {
                    f.svc(name, "p80", Protocol.TCP, 80, vip, b -> b.loadBalancerIps(Fixture.ips("5.6.7." + i))
                            .loadBalancerSourceRanges(Fixture.cidrs("203.0.113.0/25")));
                }
                Map<String, String> eps = new TreeMap<>();
                for (int e = r.nextInt(4); e > 0; e--) {
                    String ip = "10.180." + i + "." + (1 + r.nextInt(6));
                    eps.put(ip, ip + (r.nextBoolean() ? "@local" : ""));
                }
                f.eps(name, "p80", Protocol.TCP, 8080, eps.values().toArray(String[]::new));
            }
        }
    }

    /**
     * A table as {@code nft list table} prints it, order-free where the kernel's order is not ours:
     * chains with their rules, and each map's or set's elements as a set.
     */
    record Table(Map<String, List<String>> chains, Map<String, Set<String>> elements) {
        static Table read(String ns, IpFamily family) {
            String text = Netns.exec(ns, "nft", "list", "table", NftNames.family(family), NftNames.TABLE);
            Map<String, List<String>> chains = new TreeMap<>();
            Map<String, Set<String>> elements = new TreeMap<>();
            String current = null;
            StringBuilder el = null;
            for (String raw : text.split("\n")) {
                String l = raw.strip();
                if (el != null) {
                    el.append(' ').append(l);
                    if (l.endsWith("}")) {
                        elements.put(current, split(el.toString()));
                        el = null;
                    }
                } else if (l.startsWith("chain ") || l.startsWith("map ") || l.startsWith("set ")) {
                    current = l.substring(0, l.length() - 2);
                    if (l.startsWith("chain ")) {
                        chains.put(current, new ArrayList<>());
                    } else {
                        elements.put(current, new TreeSet<>());
                    }
                } else if (l.startsWith("elements = {")) {
                    el = new StringBuilder(l.substring("elements = {".length()));
                    if (l.endsWith("}")) {
                        elements.put(current, split(el.toString()));
                        el = null;
                    }
                } else if (current != null && current.startsWith("chain ") && !l.equals("}") && !l.isEmpty()) {
                    chains.get(current).add(l);
                }
            }
            return new Table(chains, elements);
        }

        private static Set<String> split(String body) {
            String b = body.strip();
            b = b.substring(0, b.length() - 1).strip();
            Set<String> out = new TreeSet<>();
            for (String e : b.split(",\\s*")) {
                out.add(e.strip().replaceAll("\\s+", " "));
            }
            return out;
        }

        Set<String> serviceChains() {
            Set<String> out = new TreeSet<>();
            chains.keySet().forEach(c -> {
                String n = c.substring("chain ".length());
                if (NftNames.isServiceObject(n)) {
                    out.add(n);
                }
            });
            return out;
        }

        Set<String> serviceObjects() {
            Set<String> out = new TreeSet<>(serviceChains());
            elements.keySet().forEach(k -> {
                String n = k.substring(k.indexOf(' ') + 1);
                if (NftNames.isServiceObject(n)) {
                    out.add(n);
                }
            });
            return out;
        }

        Set<String> elementKeys() {
            Set<String> out = new TreeSet<>();
            elements.forEach((m, els) -> {
                String map = m.substring(m.indexOf(' ') + 1);
                if (NftNames.isServiceObject(map)) {
                    return;
                }
                for (String e : els) {
                    String key = e.contains(" comment ") ? e.substring(0, e.indexOf(" comment "))
                            : e.contains(" : ") ? e.substring(0, e.indexOf(" : ")) : e;
                    out.add(map + ": " + key);
                }
            });
            return out;
        }
    }
}
