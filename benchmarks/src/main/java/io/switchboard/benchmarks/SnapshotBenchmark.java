package io.switchboard.benchmarks;

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
import org.openjdk.jmh.infra.Blackhole;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Building the per-sync snapshot (endpoint selection for every service port) at scale, against a
 * baseline that only walks the same endpoint lists: the ratio is the cost of selection itself.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SnapshotBenchmark {
    @Param({"1000", "10000"})
    int services;

    Scale scale;
    NodeInfo node = NodeInfo.named("node-1");

    @Setup
    public void setUp() {
        scale = new Scale(services, 10);
    }

    @Benchmark
    public void baselineWalk(Blackhole bh) {
        for (List<io.switchboard.core.model.Endpoint> eps : scale.endpoints.values()) {
            for (io.switchboard.core.model.Endpoint e : eps) {
                bh.consume(e.ready());
            }
        }
    }

    @Benchmark
    public ProxySnapshot buildSnapshot() {
        return ProxySnapshot.build(scale.services, scale.endpoints, node, Set.of(IpFamily.IPV4), Set.of(), true, null);
    }
}
