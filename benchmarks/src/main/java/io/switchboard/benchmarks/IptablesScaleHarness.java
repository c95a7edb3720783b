package io.switchboard.benchmarks;

import io.switchboard.backend.iptables.IptablesBackend;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.Iptables;
import io.switchboard.testkit.Netns;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The real-kernel scale harness: the iptables backend syncing S services × 10 endpoints into an
 * empty network namespace. Reports full-sync time and input size, and a one-endpoint partial sync,
 * next to a baseline measured in the same run: kube-proxy's approach (one restore with every
 * top-level chain rewritten). Usage: {@code IptablesScaleHarness [services...] [--flavor nft|legacy]}.
 */
public final class IptablesScaleHarness {
    public static void main(String[] args) throws Exception {
        String why = Netns.unavailableReason();
        if (why != null) {
            System.err.println("scale harness needs network namespaces: " + why);
            System.exit(2);
        }
        List<Integer> sizes = new ArrayList<>();
        Iptables.Flavor flavor = Iptables.Flavor.NFT;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--flavor")) {
                flavor = Iptables.Flavor.valueOf(args[++i].toUpperCase());
            } else {
                sizes.add(Integer.parseInt(args[i]));
            }
        }
        if (sizes.isEmpty()) {
            sizes = List.of(1000, 10000);
        }
        System.out.printf("%-8s %-30s %10s %12s%n", "services", "measurement", "ms", "input bytes");
        for (int n : sizes) {
            run(n, flavor);
        }
    }

    static ProxyConfig config() {
        return new ProxyConfig("iptables", new ProxyConfig.ClientConnection("", "", "application/json", 5, 10), "node-1",
                "0.0.0.0", "", "", List.of(Cidr.parse("10.0.0.0/8")), ProxyConfig.DetectLocalMode.CLUSTER_CIDR,
                new ProxyConfig.DetectLocal("", ""), List.of(),
                new ProxyConfig.Iptables(14, false, false, Duration.ofSeconds(30), Duration.ofSeconds(1)),
                new ProxyConfig.Ipvs("rr", List.of(), false, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ofSeconds(30), Duration.ZERO),
                new ProxyConfig.Nftables(14, false, Duration.ofSeconds(30), Duration.ofSeconds(1)),
                new ProxyConfig.Conntrack(null, null, null, null, null, null), Duration.ofMinutes(15), -999, Map.of(),
                new ProxyConfig.Logging(0, "text"));
    }

    private static void run(int services, Iptables.Flavor flavor) throws Exception {
        Scale scale = new Scale(services, 10);
        NodeInfo node = NodeInfo.named("node-1");
        String ns = "sbscale" + services;
        Netns.delete(ns);
        Netns.add(ns);
        try {
            CommandRunner inNs = Netns.runner(ns);
            Clock clock = Clock.systemUTC();
            BackendContext ctx = new BackendContext(config(), "node-1", Set.of(IpFamily.IPV4), ProxyMetrics.NOOP, clock,
                    new ProxyHealth(clock, Duration.ofMinutes(1)));
            IptablesBackend backend = new IptablesBackend(ctx, new Iptables(inNs, flavor), null);
            ProxySnapshot full = ProxySnapshot.build(scale.services, scale.endpoints, node, Set.of(IpFamily.IPV4), Set.of(), true, null);
            long t0 = System.nanoTime();
            backend.sync(full);
            report(services, "full sync (" + flavor.name().toLowerCase() + ")", t0, backend.lastInputBytes());

            Iptables probe = new Iptables(inNs, flavor);
            t0 = System.nanoTime();
            probe.chainExists(IpFamily.IPV4, "mangle", "KUBE-PROXY-CANARY");
            report(services, "probe: canary check", t0, 0);
            t0 = System.nanoTime();
            probe.restore(IpFamily.IPV4, "*mangle\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n");
            report(services, "probe: tiny mangle restore", t0, 0);
            t0 = System.nanoTime();
            probe.restore(IpFamily.IPV4, "*nat\n:KUBE-MARK-MASQ - [0:0]\n-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\nCOMMIT\n");
            report(services, "probe: tiny nat restore", t0, 0);

            // one endpoint of one service changes, five times (the first runs colder)
            TreeMap<ServicePortName, List<Endpoint>> eps = new TreeMap<>(scale.endpoints);
            ProxySnapshot partial = null;
            for (int round = 0; round < 25; round++) {
                ServicePortName svc = new ArrayList<>(eps.keySet()).get(round * 7 % eps.size());
                List<Endpoint> changed = new ArrayList<>(eps.get(svc));
                Endpoint old = changed.remove(0);
                changed.add(new Endpoint(IpAddress.parse("10.255.255." + (200 + round)), old.port(), true, true, false,
                        old.nodeName(), "", Set.of(), Set.of()));
                eps.put(svc, List.copyOf(changed));
                partial = ProxySnapshot.build(scale.services, eps, node, Set.of(IpFamily.IPV4), Set.of(svc.service()), false, null);
                t0 = System.nanoTime();
                backend.sync(partial);
                report(services, "partial sync, 1 endpoint #" + (round + 1), t0, backend.lastInputBytes());
                System.out.printf("%-8s   of which iptables-restore %d ms%n", "", backend.lastRestoreNanos() / 1_000_000);
            }

            // baseline in the same namespace and run: what kube-proxy writes for the same change
            // (every top-level chain plus the changed service, in one restore)
            String kubeProxyStyle = baselinePartial(partial);
            t0 = System.nanoTime();
            CommandRunner.Result r = inNs.run(List.of("iptables" + (flavor == Iptables.Flavor.LEGACY ? "-legacy" : "-nft")
                    + "-restore", "-w", "5", "--noflush", "--counters"), kubeProxyStyle, Duration.ofMinutes(5));
            if (!r.ok()) {
                throw new IllegalStateException(r.stderr());
            }
            report(services, "baseline: kube-proxy-style partial", t0, kubeProxyStyle.length());
        } finally {
            Netns.delete(ns);
        }
    }

    private static String baselinePartial(ProxySnapshot partial) {
        var settings = new io.switchboard.backend.iptables.RenderSettings(IpFamily.IPV4, 14, false,
                new io.switchboard.backend.iptables.LocalDetector(List.of("-s", "10.0.0.0/8"), List.of("!", "-s", "10.0.0.0/8")),
                true, List.of(), false, List.of(), io.switchboard.backend.iptables.RenderSettings.LARGE_CLUSTER_THRESHOLD,
                Set.of(), List.of(), true);
        return io.switchboard.backend.iptables.IptablesRenderer.render(partial, settings).text();
    }

    private static void report(int services, String what, long t0, long bytes) {
        System.out.printf("%-8d %-36s %10d %12d%n", services, what, (System.nanoTime() - t0) / 1_000_000, bytes);
    }

}
