package io.switchboard.benchmarks;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.testkit.Netns;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Network-programming latency of the real process under a burst of endpoint changes: S services
 * × 10 endpoints through the CRUD mock API server, the proxy started and synced, then {@code
 * changes} slice updates (one endpoint address replaced each, the
 * {@code endpoints.kubernetes.io/last-change-trigger-time} annotation set to the moment of the
 * change, as the EndpointSlice controller sets it) from 4 threads, each owning a quarter of the services. Reads kube-proxy's own
 * instrument, {@code kubeproxy_network_programming_duration_seconds}, from the proxy's /metrics
 * once every change is in: p50/p99 as the bucket bounds they fall in (kube-proxy's buckets: 0.25,
 * 0.5, 1, 2, ... s). Usage: {@code ProgrammingLatencyHarness [services] [changes] [mode] [min-sync-period]}
 * (the last passed as {@code --iptables-min-sync-period}; the mode's default when absent). The
 * process log (with {@code --v 2}: each sync's duration and how long its oldest change had waited
 * before it started) is kept and its path printed.
 */
public final class ProgrammingLatencyHarness {
    private static final String METRIC = "kubeproxy_network_programming_duration_seconds";

    public static void main(String[] args) throws Exception {
        int services = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int changes = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        String mode = args.length > 2 ? args[2] : "iptables";
        String minSync = args.length > 3 ? args[3] : null;
        Path jar = Path.of(System.getProperty("switchboard.jar", "app/target/switchboard.jar"));
        String ns = "sblat";
        Netns.delete(ns);
        Netns.add(ns);
        Netns.exec(ns, "ip", "link", "set", "lo", "up");
        MockApiServer api = Netns.call(ns, MockApiServer::new);
        KubernetesClient admin = Netns.call(ns, api::client);
        Process proxy = null;
        try {
            MemoryHarness.seed(ns, admin, services);
            Path log = Files.createTempFile("sblat", ".log");
            List<String> cmd = MemoryHarness.javaCommand(ns, jar);
            cmd.addAll(List.of("--master", api.url(), "--hostname-override", "node-1",
                    "--proxy-mode", mode, "--healthz-bind-address", "127.0.0.1:10256",
                    "--metrics-bind-address", "127.0.0.1:10249", "--v", "2"));
            if (minSync != null) {
                cmd.addAll(List.of("--iptables-min-sync-period", minSync));
            }
            System.out.println("process log: " + log);
            proxy = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (!Files.readString(log).contains("services=" + services + ",")) {
                if (!proxy.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("switchboard did not sync:\n" + Files.readString(log));
                }
                Thread.sleep(200);
            }
            Map<Double, Double> before = buckets(ns);
            double countBefore = count(ns);
            long t0 = System.nanoTime();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int worker = w;
                done.add(pool.submit(() -> Netns.call(ns, () -> {
                    Random r = new Random(worker);
                    for (int i = worker; i < changes; i += 4) {
                        // each writer owns the services with s % 4 == worker: no two edit one slice at once
                        int s = r.nextInt((services + 3 - worker) / 4) * 4 + worker;
                        int e = r.nextInt(10);
                        String ip = "10.200." + (i / 250) + "." + (i % 250 + 1);
                        String now = Instant.now().truncatedTo(ChronoUnit.MILLIS).toString();
                        admin.discovery().v1().endpointSlices().inNamespace("ns" + (s % 50)).withName("svc" + s + "-abc")
                                .edit(sl -> {
                                    sl.getEndpoints().get(e).setAddresses(List.of(ip));
                                    if (sl.getMetadata().getAnnotations() == null) {
                                        sl.getMetadata().setAnnotations(new java.util.HashMap<>());
                                    }
                                    sl.getMetadata().getAnnotations().put("endpoints.kubernetes.io/last-change-trigger-time", now);
                                    return sl;
                                });
                    }
                    return null;
                })));
            }
            try {
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            long burst = (System.nanoTime() - t0) / 1_000_000;
            // every change is in once the histogram has grown by one observation per changed slice
            // sync (observations are per slice change, coalesced changes count once each)
            Thread.sleep(3000);
            double observed = count(ns) - countBefore;
            Map<Double, Double> after = buckets(ns);
            double p50 = quantile(before, after, 0.50);
            double p99 = quantile(before, after, 0.99);
            System.out.printf("mode %s, %d services x 10 endpoints, %d endpoint changes sent in %d ms (4 writers)%n",
                    mode, services, changes, burst);
            System.out.printf("network programming latency: %.0f observations; p50 <= %.2f s, p99 <= %.2f s (bucket bounds)%n",
                    observed, p50, p99);
            double total = after.getOrDefault(Double.POSITIVE_INFINITY, 0.0) - before.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
            StringBuilder cdf = new StringBuilder("share of the changes within");
            for (double le : new double[]{0.25, 0.5, 1, 2}) {
                double n = after.getOrDefault(le, 0.0) - before.getOrDefault(le, 0.0);
                cdf.append(String.format(" %.2f s: %.1f %%;", le, total > 0 ? 100 * n / total : Double.NaN));
            }
            System.out.println(cdf);
        } finally {
            if (proxy != null) {
                proxy.destroy();
                proxy.waitFor();
            }
            admin.close();
            api.close();
            Netns.delete(ns);
        }
    }

    private static Map<Double, Double> buckets(String ns) {
        return ControlPlaneSuite.buckets(ControlPlaneSuite.metrics(ns));
    }

    private static double count(String ns) {
        return ControlPlaneSuite.sum(ControlPlaneSuite.metrics(ns), METRIC + "_count");
    }

    private static double quantile(Map<Double, Double> before, Map<Double, Double> after, double q) {
        return ControlPlaneSuite.quantile(before, after, q);
    }
}
