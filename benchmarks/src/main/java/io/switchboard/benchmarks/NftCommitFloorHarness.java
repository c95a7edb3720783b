package io.switchboard.benchmarks;

import io.switchboard.backend.nftables.NetlinkNft;
import io.switchboard.testkit.Netns;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * What the kernel itself costs to commit a tiny nf_tables batch into a table of S services in
 * kube-proxy's shape (a verdict map → per-service chains → a {@code numgen} map of 10 endpoint
 * chains each, every endpoint chain jumping to a mark chain and DNATing), sent over netlink: no
 * process, no listing, the same writer the nftables mode uses. Batches that add a jump or goto (a
 * rule, a verdict element) make the kernel validate every chain reachable from the base chains at
 * commit; batches that do not (a plain set element) do not. Prints the median of 15 of each.
 * Usage: {@code NftCommitFloorHarness [services...]} (default 1000 10000).
 */
public final class NftCommitFloorHarness {
    public static void main(String[] args) throws Exception {
        String why = Netns.unavailableReason();
        if (why != null) {
            System.err.println("the harness needs network namespaces: " + why);
            System.exit(2);
        }
        int[] sizes = args.length == 0 ? new int[]{1000, 10000} : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        System.out.printf("%-8s %-44s %10s%n", "services", "batch", "median ms");
        for (int n : sizes) {
            run(n);
        }
    }

    private static void run(int services) throws Exception {
        String ns = "sbfloor" + services;
        Netns.delete(ns);
        Netns.add(ns);
        try {
            NetlinkNft nl = NetlinkNft.inNamespace(Netns.runner(ns), Path.of("/run/netns", ns));
            nl.apply("add table ip kube-proxy\n"
                    + "add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }\n"
                    + "add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }\n"
                    + "add chain ip kube-proxy services\nadd chain ip kube-proxy mark\n"
                    + "add rule ip kube-proxy mark mark set mark or 0x4000\n"
                    + "add rule ip kube-proxy nat-prerouting jump services\nadd rule ip kube-proxy nat-output jump services\n"
                    + "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }\n"
                    + "add set ip kube-proxy cluster-ips { type ipv4_addr ; }\n"
                    + "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips\n");
            for (int chunk = 0; chunk < services; chunk += 500) {
                StringBuilder sb = new StringBuilder();
                for (int i = chunk; i < Math.min(services, chunk + 500); i++) {
                    sb.append("add chain ip kube-proxy svc-").append(i).append('\n');
                    StringBuilder vmap = new StringBuilder("numgen random mod 10 vmap { ");
                    for (int e = 0; e < 10; e++) {
                        String ep = "ep-" + i + "-" + e;
                        String ip = "10.1." + (i % 250) + "." + e;
                        sb.append("add chain ip kube-proxy ").append(ep).append('\n')
                                .append("add rule ip kube-proxy ").append(ep).append(" ip saddr ").append(ip).append(" jump mark\n")
                                .append("add rule ip kube-proxy ").append(ep).append(" meta l4proto tcp dnat to ").append(ip).append(":80\n");
                        vmap.append(e == 0 ? "" : ", ").append(e).append(" : goto ").append(ep);
                    }
                    sb.append("add rule ip kube-proxy svc-").append(i).append(' ').append(vmap).append(" }\n")
                            .append("add element ip kube-proxy service-ips { ").append(vip(i)).append(" . tcp . 80 : goto svc-")
                            .append(i).append(" }\n");
                }
                nl.apply(sb.toString());
            }
            nl.apply("add chain ip kube-proxy probe\n");
            String[][] batches = {
                    {"set element (no jump)", "add element ip kube-proxy cluster-ips { 10.9.%d.%d }\n"},
                    {"verdict element: drop", "add element ip kube-proxy service-ips { 10.8.%d.%d . tcp . 80 : drop }\n"},
                    {"verdict element: goto a service chain", "add element ip kube-proxy service-ips { 10.7.%d.%d . tcp . 80 : goto svc-1 }\n"},
                    {"rule without a jump (ip saddr ... drop)", "add rule ip kube-proxy probe ip saddr 10.6.%d.%d drop\n"},
                    {"one service's endpoint map replaced", "flush chain ip kube-proxy svc-2\n"
                            + "add rule ip kube-proxy svc-2 numgen random mod 2 vmap { 0 : goto ep-2-%d, 1 : goto ep-2-%d }\n"},
            };
            for (String[] b : batches) {
                long[] ms = new long[15];
                for (int r = 0; r < ms.length; r++) {
                    String text = b[1].contains("numgen") ? String.format(b[1], r % 10, (r + 1) % 10) : String.format(b[1], r, r + 1);
                    long t0 = System.nanoTime();
                    nl.apply(text);
                    ms[r] = (System.nanoTime() - t0) / 100_000;
                }
                Arrays.sort(ms);
                System.out.printf("%-8d %-44s %10.1f%n", services, b[0], ms[7] / 10.0);
            }
        } finally {
            Netns.delete(ns);
        }
    }

    private static String vip(int i) {
        return "10." + (100 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256);
    }
}
