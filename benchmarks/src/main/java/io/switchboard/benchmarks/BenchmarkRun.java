package io.switchboard.benchmarks;

import io.switchboard.testkit.Netns;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The one benchmark command ({@code benchmarks/run}): the control plane of the real process for
 * every mode at each size, the data plane (connection setup at 10 and 10,000 services; requests/s
 * and bulk throughput through each mode, a direct connection as the baseline), each suite written
 * as CSV, four plots, and a Markdown summary with the machine, kernel, JVM and tools. With
 * {@code --readme FILE} it rewrites the side-by-side table between the benchmark markers of FILE
 * from these results. {@code --quick} runs tiny sizes in about a minute (part of {@code ./mvnw
 * verify}, so the harness cannot rot).
 *
 * <pre>
 * BenchmarkRun [--quick] [--out DIR] [--modes iptables,nftables,userspace] [--sizes 1000,10000,30000]
 *              [--connect-sizes 10,10000] [--readme README.md] [--skip-data-plane] [--skip-control-plane]
 *              [--min-sync-period 1s]
 * </pre>
 */
public final class BenchmarkRun {
    /** What to run; {@link #quick()} and {@link #full()} are the two presets. */
    record Options(Path out, List<String> modes, List<Integer> sizes, List<Integer> connectSizes, int changeRounds, int burst,
                   int connectCount, int seconds, int warmupSeconds, List<Integer> throughputSizes, boolean controlPlane,
                   boolean dataPlane, Path readme, boolean quick, Path jar, String minSyncPeriod) {
    }

    public static void main(String[] args) throws Exception {
        Options o = parse(args);
        String why = Netns.unavailableReason();
        if (why != null) {
            System.err.println("benchmarks need network namespaces (run as root): " + why);
            System.exit(2);
        }
        run(o);
    }

    static Options parse(String[] args) {
        boolean quick = Arrays.asList(args).contains("--quick");
        Path out = Path.of(quick ? "benchmarks/target/quick-results" : "benchmarks/results");
        List<String> modes = List.of("iptables", "nftables", "userspace");
        List<Integer> sizes = quick ? List.of(20) : List.of(1000, 10000, 30000);
        List<Integer> connectSizes = quick ? List.of(10) : List.of(10, 10000);
        boolean cp = true;
        boolean dp = true;
        Path readme = null;
        Path jar = Path.of(System.getProperty("switchboard.jar", "app/target/switchboard.jar"));
        String minSync = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> { }
                case "--out" -> out = Path.of(args[++i]);
                case "--modes" -> modes = List.of(args[++i].split(","));
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--connect-sizes" -> connectSizes = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--readme" -> readme = Path.of(args[++i]);
                case "--skip-data-plane" -> dp = false;
                case "--skip-control-plane" -> cp = false;
                case "--jar" -> jar = Path.of(args[++i]);
                case "--min-sync-period" -> minSync = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (known: --quick --out --modes --sizes --connect-sizes --readme --skip-data-plane --skip-control-plane --jar "
                        + "--min-sync-period)");
            }
        }
        return quick
                ? new Options(out, modes, sizes, connectSizes, 2, 40, 200, 1, 1, List.of(10), cp, dp, readme, true, jar, minSync)
                : new Options(out, modes, sizes, connectSizes, 7, 1000, 3000, 10, 3, List.of(10), cp, dp, readme, false, jar, minSync);
    }

    static void run(Options o) throws Exception {
        Instant start = Instant.now();
        Files.createDirectories(o.out());
        BenchmarkReport report = new BenchmarkReport(o, start);
        if (o.controlPlane()) {
            ControlPlaneSuite cp = new ControlPlaneSuite(o.jar(), o.changeRounds(), o.burst(), o.minSyncPeriod());
            for (int services : o.sizes()) {
                List<String> modes = new ArrayList<>();
                for (String m : o.modes()) {
                    // the userspace mode holds a listening socket per service port: not run past 1,000
                    if (!m.equals("userspace") || services <= 1000) {
                        modes.add(m);
                    } else {
                        report.skipped("control plane, userspace mode at " + services
                                + " services: it holds a listening socket per service port (not run past 1,000)");
                    }
                }
                cp.run(services, modes);
            }
            report.controlPlane(cp.rows, cp.cdf);
        }
        if (o.dataPlane()) {
            List<String> kernelModes = o.modes().stream().filter(m -> !m.equals("userspace")).toList();
            int[] sizes = o.connectSizes().stream().mapToInt(Integer::intValue).toArray();
            report.connect(ConnectLatencyHarness.measure(o.connectCount(), sizes, kernelModes));
            if (o.modes().contains("userspace")) {
                report.skipped("connection setup, userspace mode: measured by the kernel modes' harness only "
                        + "(the userspace mode's connect path is in the requests/s figures)");
            }
            List<String> missing = List.of("wrk", "iperf3").stream().filter(DataPathBenchmark::missing).toList();
            if (!missing.isEmpty()) {
                report.skipped("requests/s and bulk throughput: " + String.join(" and ", missing)
                        + " not installed (apt-get install wrk iperf3)");
            } else {
                for (int services : o.throughputSizes()) {
                    List<String> modes = o.modes().stream().filter(m -> !m.equals("userspace") || services <= 1000).toList();
                    report.throughput(DataPathBenchmark.run(o.jar(), o.seconds(), o.warmupSeconds(), o.quick() ? 4 : 64, modes,
                            services, false), services);
                }
            }
        }
        report.write(Duration.between(start, Instant.now()));
        System.out.printf(Locale.ROOT, "results in %s (%d s)%n", o.out(), Duration.between(start, Instant.now()).toSeconds());
    }
}
