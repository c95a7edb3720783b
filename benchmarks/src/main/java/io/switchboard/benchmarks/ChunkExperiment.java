package io.switchboard.benchmarks;

import io.switchboard.netfilter.CommandRunner;
import io.switchboard.testkit.Netns;

import java.time.Duration;
import java.util.List;

/** Restores N independent chains of R rules each in K sequential restores into one namespace. */
public final class ChunkExperiment {
    public static void main(String[] args) throws Exception {
        int chains = Integer.parseInt(args[0]);
        int chunks = Integer.parseInt(args[1]);
        String ns = "sbchunk";
        Netns.delete(ns);
        Netns.add(ns);
        try {
            long total = 0;
            int per = chains / chunks;
            for (int k = 0; k < chunks; k++) {
                StringBuilder sb = new StringBuilder("*nat\n");
                for (int i = k * per; i < (k + 1) * per; i++) {
                    sb.append(":KUBE-SEP-X").append(i).append(" - [0:0]\n");
                }
                for (int i = k * per; i < (k + 1) * per; i++) {
                    sb.append("-A KUBE-SEP-X").append(i).append(" -m comment --comment ns/svc:p -s 10.1.").append(i / 250)
                            .append('.').append(i % 250).append(" -j MARK --or-mark 0x4000\n");
                    sb.append("-A KUBE-SEP-X").append(i).append(" -m comment --comment ns/svc:p -m tcp -p tcp -j DNAT --to-destination 10.1.")
                            .append(i / 250).append('.').append(i % 250).append(":80\n");
                }
                sb.append("COMMIT\n");
                long t0 = System.nanoTime();
                CommandRunner.Result r = CommandRunner.SYSTEM.run(List.of("ip", "netns", "exec", ns, "iptables-nft-restore",
                        "-w", "5", "--noflush"), sb.toString(), Duration.ofMinutes(5));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                total += ms;
                System.out.printf("chunk %d: %d ms %s%n", k, ms, r.ok() ? "" : r.stderr());
            }
            System.out.printf("total %d ms for %d chains in %d chunks%n", total, chains, chunks);
        } finally {
            Netns.delete(ns);
        }
    }
}
