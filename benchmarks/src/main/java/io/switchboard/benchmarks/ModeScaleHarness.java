package io.switchboard.benchmarks;

import io.switchboard.backend.iptables.IptablesBackend;
import io.switchboard.backend.nftables.NetlinkNft;
import io.switchboard.backend.nftables.Nft;
import io.switchboard.backend.nftables.NftablesBackend;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
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
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * iptables mode against nftables mode, same run, same machine: each backend syncs S services × 10
 * endpoints into its own empty network namespace; then 25 one-endpoint changes (one sync each)
 * and a burst of 100 endpoint changes in one sync. Prints time (ms) and bytes sent to the kernel.
 * The nftables mode writes through netlink as it runs; {@code nftables-text} is the same backend
 * writing through {@code nft -f} (the earlier writer), for comparison.
 * Usage: {@code ModeScaleHarness [services...] [iptables|nftables|nftables-text]} (default 1000 10000
 * 30000, iptables and nftables).
 */
public final class ModeScaleHarness {
    public static void main(String[] args) throws Exception {
        String why = Netns.unavailableReason();
        if (why != null) {
            System.err.println("scale harness needs network namespaces: " + why);
            System.exit(2);
        }
        List<Integer> sizes = new ArrayList<>();
        List<String> modes = new ArrayList<>();
        for (String a : args) {
            if (a.equals("iptables") || a.equals("nftables") || a.equals("nftables-text") || a.equals("ipvs")) {
                modes.add(a);
            } else {
                sizes.add(Integer.parseInt(a));
            }
        }
        if (modes.isEmpty()) {
            modes = List.of("iptables", "nftables");
        }
        if (sizes.isEmpty()) {
            sizes = List.of(1000, 10000, 30000);
        }
        System.out.printf("%-8s %-13s %-34s %10s %12s%n", "services", "mode", "measurement", "ms", "bytes");
        for (int n : sizes) {
            for (String mode : modes) {
                run(n, mode);
            }
        }
    }

    private static void run(int services, String mode) throws Exception {
        Scale scale = new Scale(services, 10);
        NodeInfo node = NodeInfo.named("node-1");
        String ns = "sbmode" + services + mode.charAt(0) + mode.length();
        Netns.delete(ns);
        Netns.add(ns);
        try {
            CommandRunner inNs = Netns.runner(ns);
            Clock clock = Clock.systemUTC();
            BackendContext ctx = new BackendContext(IptablesScaleHarness.config(), "node-1", Set.of(IpFamily.IPV4), ProxyMetrics.NOOP,
                    clock, new ProxyHealth(clock, Duration.ofMinutes(1)));
            ProxyBackend backend;
            LongSupplier bytes;
            if (mode.equals("iptables")) {
                IptablesBackend b = new IptablesBackend(ctx, new Iptables(inNs, Iptables.Flavor.NFT), null);
                backend = b;
                bytes = b::lastInputBytes;
            } else if (mode.equals("ipvs")) {
                io.switchboard.backend.ipvs.IpvsBackend b = ipvs(ctx, ns);
                backend = b;
                bytes = b::lastInputBytes;
            } else {
                // nftables: the netlink writer, as the mode runs; nftables-text: through nft -f
                Nft nft = mode.equals("nftables-text") ? new Nft(inNs)
                        : NetlinkNft.inNamespace(inNs, java.nio.file.Path.of("/run/netns", ns));
                NftablesBackend b = new NftablesBackend(ctx, nft, null);
                backend = b;
                bytes = b::lastInputBytes;
            }
            long t0 = System.nanoTime();
            backend.sync(ProxySnapshot.build(scale.services, scale.endpoints, node, Set.of(IpFamily.IPV4), Set.of(), true, null));
            report(services, mode, "full sync", t0, bytes.getAsLong());

            TreeMap<ServicePortName, List<Endpoint>> eps = new TreeMap<>(scale.endpoints);
            List<ServicePortName> names = new ArrayList<>(eps.keySet());
            long[] ms = new long[25];
            long lastBytes = 0;
            for (int round = 0; round < ms.length; round++) {
                ServicePortName svc = names.get(round * 7 % names.size());
                replaceOne(eps, svc, "10.255.255." + (100 + round));
                ProxySnapshot partial = ProxySnapshot.build(scale.services, eps, node, Set.of(IpFamily.IPV4), Set.of(svc.service()),
                        false, null);
                t0 = System.nanoTime();
                backend.sync(partial);
                ms[round] = (System.nanoTime() - t0) / 1_000_000;
                lastBytes = bytes.getAsLong();
            }
            long[] sorted = ms.clone();
            Arrays.sort(sorted);
            System.out.printf("%-8d %-13s %-34s %10d %12d   (min %d, max %d, first %d)%n", services, mode,
                    "one-endpoint change, median of 25", sorted[12], lastBytes, sorted[0], sorted[24], ms[0]);

            Set<NamespacedName> changed = new HashSet<>();
            for (int i = 0; i < 100; i++) {
                ServicePortName svc = names.get((i * 97 + 13) % names.size());
                replaceOne(eps, svc, "10.254." + (i / 250) + "." + (i % 250 + 1));
                changed.add(svc.service());
            }
            t0 = System.nanoTime();
            backend.sync(ProxySnapshot.build(scale.services, eps, node, Set.of(IpFamily.IPV4), changed, false, null));
            report(services, mode, "burst of 100 endpoint changes", t0, bytes.getAsLong());
            backend.shutdown(Duration.ZERO);
        } finally {
            Netns.delete(ns);
        }
    }

    /** The ipvs backend in a namespace: IPVS and links over netlink there, rules, ipsets and sysctls through its tools. */
    static io.switchboard.backend.ipvs.IpvsBackend ipvs(BackendContext ctx, String ns) throws java.io.IOException {
        CommandRunner inNs = Netns.runner(ns);
        java.nio.file.Path nsPath = java.nio.file.Path.of("/run/netns", ns);
        return new io.switchboard.backend.ipvs.IpvsBackend(ctx, io.switchboard.backend.ipvs.NetlinkIpvs.open(nsPath),
                new io.switchboard.netfilter.link.NetlinkLinks(nsPath), new Iptables(inNs, Iptables.Flavor.NFT), inNs, (key, value) -> {
                    try {
                        return inNs.run(List.of("sysctl", "-qw", key.replace('/', '.') + "=" + value), null, Duration.ofSeconds(10)).ok();
                    } catch (java.io.IOException e) {
                        return false;
                    }
                }, null);
    }

    private static void replaceOne(TreeMap<ServicePortName, List<Endpoint>> eps, ServicePortName svc, String ip) {
        List<Endpoint> list = new ArrayList<>(eps.get(svc));
        Endpoint old = list.remove(0);
        list.add(new Endpoint(IpAddress.parse(ip), old.port(), true, true, false, old.nodeName(), "", Set.of(), Set.of()));
        eps.put(svc, List.copyOf(list));
    }

    private static void report(int services, String mode, String what, long t0, long bytes) {
        System.out.printf("%-8d %-13s %-34s %10d %12d%n", services, mode, what, (System.nanoTime() - t0) / 1_000_000, bytes);
    }
}
