package io.switchboard.benchmarks;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.testkit.Netns;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The control plane of the real process, per mode and size: S services × 10 endpoints created
 * through the API (the CRUD mock server in a network namespace) before the process starts, then
 * the process in that namespace programs the kernel there. Measured from the outside, as a user
 * would: process start → first sync done (the log line's own timestamp), the full sync's duration
 * and a one-endpoint change's (kube-proxy's sync-duration histograms) and bytes
 * ({@code switchboard_sync_proxy_rules_last_input_bytes}), network-programming latency under a
 * burst of endpoint changes (kube-proxy's {@code network_programming_duration_seconds}, from each
 * slice's {@code last-change-trigger-time}), and the process's RSS and CPU seconds at the end.
 */
final class ControlPlaneSuite {
    /** One mode at one size. Seconds unless named otherwise; NaN where it was not measured. */
    record Row(String mode, int services, double startToFirstSync, double fullSync, double oneEndpointChange,
               long oneEndpointBytes, double nplP50, double nplP99, long nplObservations, double rssMb, double cpuSeconds) {
    }

    /** The cumulative share of the burst's observations at each bucket bound. */
    record CdfPoint(String mode, int services, double le, double fraction) {
    }

    private static final String NPL = "kubeproxy_network_programming_duration_seconds";
    private final Path jar;
    private final int changeRounds;
    private final int burst;
    final List<Row> rows = new ArrayList<>();
    /** Each process run writes addresses no earlier run wrote, so every change is a change. */
    private int runs;
    final List<CdfPoint> cdf = new ArrayList<>();

    private final String minSyncPeriod;

    /** @param minSyncPeriod passed to the process ({@code --iptables-min-sync-period}), or null: the mode's default */
    ControlPlaneSuite(Path jar, int changeRounds, int burst, String minSyncPeriod) {
        this.jar = jar;
        this.minSyncPeriod = minSyncPeriod;
        this.changeRounds = changeRounds;
        this.burst = burst;
    }

    /** Every mode at one size, against one API server seeded once. */
    void run(int services, List<String> modes) throws Exception {
        String ns = "sbrun" + services;
        Netns.delete(ns);
        Netns.add(ns);
        Netns.exec(ns, "ip", "link", "set", "lo", "up");
        MockApiServer api = Netns.call(ns, MockApiServer::new);
        KubernetesClient admin = Netns.call(ns, api::client);
        try {
            MemoryHarness.seed(ns, admin, services);
            for (String mode : modes) {
                rows.add(measure(ns, api, admin, services, mode));
                Row r = rows.get(rows.size() - 1);
                System.out.printf(java.util.Locale.ROOT, "control plane: %-9s %6d services: start->first sync %.2f s, full sync %.2f s, "
                                + "one endpoint %.3f s (%d B), NPL p50 <= %.2f s p99 <= %.2f s (%d), RSS %.0f MB, CPU %.1f s%n",
                        mode, services, r.startToFirstSync(), r.fullSync(), r.oneEndpointChange(), r.oneEndpointBytes(), r.nplP50(),
                        r.nplP99(), r.nplObservations(), r.rssMb(), r.cpuSeconds());
            }
        } finally {
            admin.close();
            api.close();
            Netns.delete(ns);
        }
    }

    private Row measure(String ns, MockApiServer api, KubernetesClient admin, int services, String mode) throws Exception {
        int run = ++runs;
        Path log = Files.createTempFile("sbrun-" + mode, ".log");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "java"));
        cmd.addAll(jvmOptions());
        cmd.addAll(List.of("-jar", jar.toString()));
        cmd.addAll(List.of("--master", api.url(), "--hostname-override", "node-1", "--proxy-mode", mode,
                "--healthz-bind-address", "127.0.0.1:10256", "--metrics-bind-address", "127.0.0.1:10249", "--v", "2"));
        if (mode.equals("userspace")) {
            cmd.addAll(List.of("--bind-address", "127.0.0.1"));
        }
        if (minSyncPeriod != null) {
            cmd.addAll(List.of("--iptables-min-sync-period", minSyncPeriod));
        }
        LocalTime started = LocalTime.now(ZoneOffset.UTC);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            String needle = "services=" + services + ",";
            long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
            String text;
            while (!(text = Files.readString(log)).contains(needle)) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException(mode + " mode did not sync " + services + " services:\n" + tail(text));
                }
                Thread.sleep(100);
            }
            double startToFirst = text.lines().filter(l -> l.contains(needle)).findFirst()
                    .map(l -> Duration.between(started, LocalTime.parse(l.substring(6, 21))).toNanos() / 1e9).orElse(Double.NaN);
            String m = metrics(ns);
            double fullSync = sum(m, "kubeproxy_sync_full_proxy_rules_duration_seconds_sum")
                    / Math.max(1, sum(m, "kubeproxy_sync_full_proxy_rules_duration_seconds_count"));
            Thread.sleep(1500);
            // one-endpoint changes, one at a time: each the partial sync it causes
            Random r = new Random(services);
            double[] times = new double[changeRounds];
            long bytes = 0;
            for (int i = 0; i < changeRounds; i++) {
                String before = metrics(ns);
                double count = sum(before, "kubeproxy_sync_partial_proxy_rules_duration_seconds_count");
                double total = sum(before, "kubeproxy_sync_partial_proxy_rules_duration_seconds_sum");
                change(ns, admin, r.nextInt(services), r.nextInt(10), "10." + (100 + run) + ".255." + (i % 250 + 1));
                long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                String after;
                while (sum(after = metrics(ns), "kubeproxy_sync_partial_proxy_rules_duration_seconds_count") <= count) {
                    if (System.nanoTime() > until) {
                        throw new IllegalStateException(mode + ": no partial sync after an endpoint change");
                    }
                    Thread.sleep(20);
                }
                times[i] = (sum(after, "kubeproxy_sync_partial_proxy_rules_duration_seconds_sum") - total)
                        / (sum(after, "kubeproxy_sync_partial_proxy_rules_duration_seconds_count") - count);
                bytes = (long) sum(after, "switchboard_sync_proxy_rules_last_input_bytes");
                Thread.sleep(1200);
            }
            Arrays.sort(times);
            double oneEndpoint = times.length == 0 ? Double.NaN : times[times.length / 2];
            // the burst
            Map<Double, Double> before = buckets(metrics(ns));
            burst(ns, admin, services, run);
            Map<Double, Double> after = settle(ns, before);
            double total = after.getOrDefault(Double.POSITIVE_INFINITY, 0.0) - before.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
            for (Map.Entry<Double, Double> e : after.entrySet()) {
                if (total > 0 && !e.getKey().isInfinite()) {
                    cdf.add(new CdfPoint(mode, services, e.getKey(), (e.getValue() - before.getOrDefault(e.getKey(), 0.0)) / total));
                }
            }
            double rss = vmRssKb(p.pid()) / 1024.0;
            double cpu = cpuSeconds(p.pid());
            return new Row(mode, services, startToFirst, fullSync, oneEndpoint, bytes, quantile(before, after, 0.5),
                    quantile(before, after, 0.99), (long) total, rss, cpu);
        } finally {
            p.destroy();
            if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            // everything in this namespace is the benchmark's own: the next mode starts from an empty
            // ruleset (the mode's own --cleanup takes minutes at 30,000 services in the iptables mode)
            try {
                Netns.exec(ns, "nft", "flush", "ruleset");
            } catch (RuntimeException e) {
                System.err.println("could not flush the namespace's ruleset after the " + mode + " run: " + e.getMessage());
            }
        }
    }

    private static void change(String ns, KubernetesClient admin, int s, int e, String ip) {
        String now = Instant.now().truncatedTo(ChronoUnit.MILLIS).toString();
        // each writer owns its slices, so a conflict is the client's own retry of a write the stalled
        // mock had already applied (seen at 30,000 services): read it again and make the change again
        for (int attempt = 1; ; attempt++) {
            try {
                Netns.call(ns, () -> admin.discovery().v1().endpointSlices().inNamespace("ns" + (s % 50)).withName("svc" + s + "-abc")
                        .edit(sl -> {
                            sl.getEndpoints().get(e).setAddresses(List.of(ip));
                            if (sl.getMetadata().getAnnotations() == null) {
                                sl.getMetadata().setAnnotations(new HashMap<>());
                            }
                            sl.getMetadata().getAnnotations().put("endpoints.kubernetes.io/last-change-trigger-time", now);
                            return sl;
                        }));
                return;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException ex) {
                if (ex.getCode() != 409 || attempt == 3) {
                    throw ex;
                }
            }
        }
    }

    /** {@code burst} endpoint changes from 4 writers, each owning a quarter of the services. */
    private void burst(String ns, KubernetesClient admin, int services, int run) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int worker = w;
                done.add(pool.submit(() -> {
                    Random r = new Random(worker);
                    int owned = Math.max(1, (services + 3 - worker) / 4);
                    for (int i = worker; i < burst; i += 4) {
                        int s = Math.min(services - 1, r.nextInt(owned) * 4 + worker);
                        if (s % 4 != worker) {
                            continue;
                        }
                        change(ns, admin, s, r.nextInt(10), "10." + (100 + run) + "." + (i / 250) + "." + (i % 250 + 1));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Waits until the latency histogram stops growing (2 s without a new observation; at most 2 min). */
    private static Map<Double, Double> settle(String ns, Map<Double, Double> before) throws Exception {
        Map<Double, Double> last = before;
        long stableSince = System.nanoTime();
        long until = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < until) {
            Thread.sleep(250);
            Map<Double, Double> now = buckets(metrics(ns));
            if (!now.equals(last)) {
                last = now;
                stableSince = System.nanoTime();
            } else if (System.nanoTime() - stableSince > 2_000_000_000L
                    && now.getOrDefault(Double.POSITIVE_INFINITY, 0.0) > before.getOrDefault(Double.POSITIVE_INFINITY, 0.0)) {
                return now;
            }
        }
        return last;
    }

    /**
     * The JVM options the launcher ships ({@code bin/switchboard}'s defaults line, the same as the
     * image's and the chart's), so RSS and start are what an operator gets; {@code
     * -Dswitchboard.javaOpts} replaces them.
     */
    static List<String> jvmOptions() throws IOException {
        String opts = System.getProperty("switchboard.javaOpts");
        if (opts == null) {
            Path launcher = Path.of("bin/switchboard");
            opts = Files.exists(launcher) ? Files.readAllLines(launcher).stream().filter(l -> l.startsWith("defaults=\""))
                    .map(l -> l.substring("defaults=\"".length(), l.length() - 1)).findFirst().orElse("") : "";
        }
        return opts.isBlank() ? List.of() : List.of(opts.trim().split("\\s+"));
    }

    static String metrics(String ns) {
        return Netns.call(ns, () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:10249/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body());
    }

    /** The sum of a metric's samples over its labels (0 when absent). */
    static double sum(String metrics, String name) {
        return metrics.lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    /** Cumulative bucket counts (le → count) of the network-programming histogram, summed over families. */
    static Map<Double, Double> buckets(String metrics) {
        Map<Double, Double> out = new TreeMap<>();
        for (String l : metrics.lines().toList()) {
            if (l.startsWith(NPL + "_bucket{")) {
                String le = l.replaceAll(".*le=\"([^\"]+)\".*", "$1");
                double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
                out.merge(bound, Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)), Double::sum);
            }
        }
        return out;
    }

    /** The smallest bucket bound under which the quantile of the observations made in between falls. */
    static double quantile(Map<Double, Double> before, Map<Double, Double> after, double q) {
        double total = after.getOrDefault(Double.POSITIVE_INFINITY, 0.0) - before.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
        for (Map.Entry<Double, Double> e : after.entrySet()) {
            double n = e.getValue() - before.getOrDefault(e.getKey(), 0.0);
            if (total > 0 && n >= q * total) {
                return e.getKey();
            }
        }
        return Double.NaN;
    }

    static long vmRssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    /** utime + stime of a process, in seconds (clock ticks of 1/100 s, Linux's USER_HZ). */
    static double cpuSeconds(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
    }

    private static String tail(String text) {
        return text.length() > 4000 ? text.substring(text.length() - 4000) : text;
    }
}
