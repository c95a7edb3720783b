package io.switchboard.benchmarks;

import io.switchboard.backend.iptables.IptablesRenderer;
import io.switchboard.backend.iptables.LocalDetector;
import io.switchboard.backend.iptables.RenderSettings;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.sync.ProxySnapshot;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Rendering the full iptables-restore input for S services × 10 endpoints, against a baseline
 * that only appends the same output text from precomputed lines (the floor for producing that
 * many bytes): the ratio is the renderer's own overhead.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class RenderBenchmark {
    @Param({"1000", "10000"})
    int services;

    ProxySnapshot snapshot;
    RenderSettings settings;
    String[] lines;

    @Setup
    public void setUp() {
        Scale scale = new Scale(services, 10);
        snapshot = ProxySnapshot.build(scale.services, scale.endpoints, NodeInfo.named("node-1"), Set.of(IpFamily.IPV4),
                Set.of(), true, null);
        settings = new RenderSettings(IpFamily.IPV4, 14, false,
                new LocalDetector(List.of("-s", "10.0.0.0/8"), List.of("!", "-s", "10.0.0.0/8")), true, List.of(), false,
                List.of(), RenderSettings.LARGE_CLUSTER_THRESHOLD, Set.of(), List.of(), true);
        lines = IptablesRenderer.render(snapshot, settings).text().split("\n");
    }

    @Benchmark
    public int baselineEmitSameText() {
        StringBuilder sb = new StringBuilder(1 << 16);
        for (String l : lines) {
            sb.append(l).append('\n');
        }
        return sb.length();
    }

    @Benchmark
    public int renderFull() {
        return IptablesRenderer.render(snapshot, settings).text().length();
    }
}
