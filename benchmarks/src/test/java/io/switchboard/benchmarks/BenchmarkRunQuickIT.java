package io.switchboard.benchmarks;

import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code benchmarks/run --quick} as a user runs it, after the jars are built: every suite for every
 * built mode at tiny sizes, each CSV with a row per mode, the four plots as PNG files, the summary.
 * Skipped with the reason when network namespaces are unavailable (not root).
 */
class BenchmarkRunQuickIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void theQuickRunWritesEveryCsvPlotAndTheSummary() throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "benchmarks/run --quick skipped: " + why);
        Path out = ROOT.resolve("benchmarks/target/quick-results-it");
        Path log = ROOT.resolve("benchmarks/target/quick-run.log");
        Process p = new ProcessBuilder(ROOT.resolve("benchmarks/run").toString(), "--quick", "--out", out.toString())
                .directory(ROOT.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).as("finished in time").isTrue();
        assertThat(p.exitValue()).as("exit status; output:\n" + Files.readString(log)).isZero();

        List<String> control = Files.readAllLines(out.resolve("control-plane.csv"));
        assertThat(control.get(0)).startsWith("mode,services,start_to_first_sync_s,full_sync_s,one_endpoint_change_s");
        assertThat(control.subList(1, control.size())).extracting(l -> l.split(",")[0])
                .containsExactly("iptables", "nftables", "userspace");
        for (String row : control.subList(1, control.size())) {
            String[] f = row.split(",", -1);
            assertThat(Double.parseDouble(f[2])).as("start to first sync: " + row).isPositive();
            assertThat(Double.parseDouble(f[3])).as("full sync: " + row).isPositive();
            assertThat(Double.parseDouble(f[4])).as("one-endpoint change: " + row).isPositive();
            assertThat(Long.parseLong(f[5])).as("bytes of the change: " + row).isPositive();
            assertThat(Long.parseLong(f[8])).as("network-programming observations: " + row).isPositive();
            assertThat(Double.parseDouble(f[9])).as("RSS: " + row).isGreaterThan(20);
        }
        assertThat(Files.readAllLines(out.resolve("npl-cdf.csv"))).hasSizeGreaterThan(3);
        List<String> connect = Files.readAllLines(out.resolve("connect.csv"));
        assertThat(connect.subList(1, connect.size())).extracting(l -> l.split(",")[0]).containsExactly("iptables", "nftables");
        String summary = Files.readString(out.resolve("summary.md"));
        assertThat(summary).contains("| kernel | Linux ", "| JVM | ", "## Control plane", "## Data plane: connection setup");
        List<String> plots = List.of("sync-time.png", "npl-cdf.png", "connect-latency.png");
        if (DataPathBenchmark.missing("wrk") || DataPathBenchmark.missing("iperf3")) {
            assertThat(summary).contains("not installed (apt-get install wrk iperf3)");
        } else {
            List<String> throughput = Files.readAllLines(out.resolve("throughput.csv"));
            assertThat(throughput.subList(1, throughput.size())).extracting(l -> l.split(",")[0])
                    .containsExactly("direct to the pod", "iptables mode", "nftables mode", "userspace mode");
            plots = List.of("sync-time.png", "npl-cdf.png", "connect-latency.png", "throughput.png");
        }
        for (String png : plots) {
            byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(out.resolve(png)), 8);
            assertThat(head).as(png).startsWith(0x89, 'P', 'N', 'G');
            assertThat(summary).contains("![" + png + "](" + png + ")");
        }
    }
}
