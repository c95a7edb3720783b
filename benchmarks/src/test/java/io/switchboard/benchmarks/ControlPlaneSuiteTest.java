package io.switchboard.benchmarks;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The control-plane suite's readings of a /metrics page: sums over labels, histogram quantiles as bucket bounds. */
class ControlPlaneSuiteTest {
    private static final String BEFORE = """
            # HELP kubeproxy_network_programming_duration_seconds In Cluster Network Programming Latency in seconds
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0.25"} 2
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0.5"} 2
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="1.0"} 2
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="2.0"} 2
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="+Inf"} 2
            kubeproxy_sync_partial_proxy_rules_duration_seconds_sum{ip_family="IPv4"} 0.5
            kubeproxy_sync_partial_proxy_rules_duration_seconds_sum{ip_family="IPv6"} 0.25
            switchboard_sync_proxy_rules_last_input_bytes{ip_family="IPv4"} 1469.0
            """;
    private static final String AFTER = """
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0.25"} 12
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0.5"} 82
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="1.0"} 100
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="2.0"} 102
            kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="+Inf"} 102
            """;

    @Test
    void sumsAddEveryLabelSetAndNothingElse() {
        assertThat(ControlPlaneSuite.sum(BEFORE, "kubeproxy_sync_partial_proxy_rules_duration_seconds_sum")).isEqualTo(0.75);
        assertThat(ControlPlaneSuite.sum(BEFORE, "switchboard_sync_proxy_rules_last_input_bytes")).isEqualTo(1469);
        assertThat(ControlPlaneSuite.sum(BEFORE, "kubeproxy_sync_partial_proxy_rules_duration_seconds")).isZero();
    }

    @Test
    void quantilesOfTheObservationsMadeInBetweenAreBucketBounds() {
        Map<Double, Double> before = ControlPlaneSuite.buckets(BEFORE);
        Map<Double, Double> after = ControlPlaneSuite.buckets(AFTER);
        assertThat(before).containsEntry(Double.POSITIVE_INFINITY, 2.0).hasSize(5);
        // 100 new observations: 10 ≤ 0.25 s, 80 more ≤ 0.5 s, 8 more ≤ 1 s, 2 more ≤ 2 s
        assertThat(ControlPlaneSuite.quantile(before, after, 0.5)).isEqualTo(0.5);
        assertThat(ControlPlaneSuite.quantile(before, after, 0.8)).isEqualTo(0.5);
        assertThat(ControlPlaneSuite.quantile(before, after, 0.9)).isEqualTo(1.0);
        assertThat(ControlPlaneSuite.quantile(before, after, 0.98)).isEqualTo(1.0);
        assertThat(ControlPlaneSuite.quantile(before, after, 0.99)).isEqualTo(2.0);
        assertThat(ControlPlaneSuite.quantile(after, after, 0.5)).isNaN();
    }
}
