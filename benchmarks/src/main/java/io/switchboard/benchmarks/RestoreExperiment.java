package io.switchboard.benchmarks;

import io.switchboard.backend.iptables.IptablesRenderer;
import io.switchboard.backend.iptables.LocalDetector;
import io.switchboard.backend.iptables.RenderSettings;
import io.switchboard.backend.iptables.RestoreInput;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.testkit.Netns;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/** Times variants of one restore into an empty namespace, to find what makes iptables-restore fast. */
public final class RestoreExperiment {
    public static void main(String[] args) throws Exception {
        int services = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        Scale scale = new Scale(services, 10);
        ProxySnapshot snap = ProxySnapshot.build(scale.services, scale.endpoints, NodeInfo.named("node-1"),
                Set.of(IpFamily.IPV4), Set.of(), true, null);
        RenderSettings s = new RenderSettings(IpFamily.IPV4, 14, false,
                new LocalDetector(List.of("-s", "10.0.0.0/8"), List.of("!", "-s", "10.0.0.0/8")), true, List.of(), true,
                List.of(), RenderSettings.LARGE_CLUSTER_THRESHOLD, Set.of(), List.of(), true);
        RestoreInput in = IptablesRenderer.render(snap, s);
        String text = in.text();
        System.out.printf("input: %d bytes, %d lines%n", text.length(), text.split("\n").length);
        String newChains = text.replaceAll("(?m)^:(KUBE-(SVC|SEP|EXT|SVL|FW)-[A-Z0-9]+) - \\[0:0\\]$", "-N $1");
        for (String tool : args.length > 1 ? List.of(args[1]) : List.of("iptables-nft-restore", "iptables-legacy-restore")) {
            run(tool, "noflush+counters", text, List.of("--noflush", "--counters"));
            run(tool, "noflush", text, List.of("--noflush"));
            run(tool, "noflush -N for new chains", newChains, List.of("--noflush"));
            run(tool, "flushing", text, List.of());
        }
    }

    private static void run(String tool, String label, String text, List<String> flags) throws Exception {
        String ns = "sbexp" + System.nanoTime() % 100000;
        Netns.add(ns);
        try {
            List<String> cmd = new java.util.ArrayList<>(List.of("ip", "netns", "exec", ns, tool, "-w", "5"));
            cmd.addAll(flags);
            long t0 = System.nanoTime();
            CommandRunner.Result r = CommandRunner.SYSTEM.run(cmd, text, Duration.ofMinutes(5));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("%-26s %-28s %6d ms %s%n", tool, label, ms, r.ok() ? "ok" : "FAILED " + r.stderr().strip());
        } finally {
            Netns.delete(ns);
        }
    }
}
