package io.switchboard.app.metrics;

import io.switchboard.core.model.IpFamily;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class MetricsExpositionTest {
    private final PrometheusProxyMetrics metrics = new PrometheusProxyMetrics(Set.of(IpFamily.IPV4, IpFamily.IPV6));

    private void exercise() {
        metrics.syncDuration(IpFamily.IPV4, true, 0.0042);
        metrics.syncDuration(IpFamily.IPV4, false, 0.0009);
        metrics.lastSyncTimestamp(IpFamily.IPV4, 1.7e9);
        metrics.lastQueuedTimestamp(IpFamily.IPV4, 1.7e9);
        metrics.networkProgrammingDuration(IpFamily.IPV6, 0.3);
        metrics.changeToRulesDuration(IpFamily.IPV4, 0.12);
        metrics.serviceChange(3);
        metrics.endpointChange(1);
        metrics.restoreFailure(IpFamily.IPV4, true);
        metrics.iptablesRules(IpFamily.IPV4, "nat", 120, 14);
        metrics.iptablesRules(IpFamily.IPV4, "filter", 9, 2);
        metrics.noLocalEndpoints(IpFamily.IPV4, "External", 2);
        metrics.healthz(200);
        metrics.livez(503);
        metrics.conntrackDeleted(IpFamily.IPV4, 4);
        metrics.malformedObject("Service");
        metrics.rejectedServicePorts(IpFamily.IPV6, 2, 2);
        metrics.rejectedServicePorts(IpFamily.IPV6, 1, 0);
        metrics.restClientRequest("10.96.0.1:443", "GET", "200", 0.02, 0, 3000);
        metrics.restClientRequest("10.96.0.1:443", "POST", "201", 0.3, 600, -1);
    }

    @Test
    void exactKubeProxyNamesTypesAndLabels() {
        exercise();
        String text = metrics.scrape();
        assertThat(text)
                .contains("# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram")
                .contains("kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family=\"IPv4\",le=\"0.001\"} 1")
                .contains("kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family=\"IPv4\",le=\"16.384\"} 2")
                .contains("# TYPE kubeproxy_sync_full_proxy_rules_duration_seconds histogram")
                .contains("# TYPE kubeproxy_sync_partial_proxy_rules_duration_seconds histogram")
                .contains("kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family=\"IPv4\"} 1.7E9")
                .contains("# TYPE kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds gauge")
                .contains("kubeproxy_network_programming_duration_seconds_bucket{ip_family=\"IPv6\",le=\"0.5\"} 1")
                .contains("kubeproxy_network_programming_duration_seconds_bucket{ip_family=\"IPv6\",le=\"300.0\"} 1")
                .contains("kubeproxy_sync_proxy_rules_service_changes_pending 3.0")
                .contains("kubeproxy_sync_proxy_rules_service_changes_total 1.0")
                .contains("kubeproxy_sync_proxy_rules_endpoint_changes_pending 1.0")
                .contains("kubeproxy_sync_proxy_rules_endpoint_changes_total 1.0")
                .contains("kubeproxy_sync_proxy_rules_iptables_restore_failures_total{ip_family=\"IPv4\"} 1.0")
                .contains("kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total{ip_family=\"IPv4\"} 1.0")
                .contains("kubeproxy_sync_proxy_rules_iptables_total{ip_family=\"IPv4\",table=\"nat\"} 120.0")
                .contains("kubeproxy_sync_proxy_rules_iptables_last{ip_family=\"IPv4\",table=\"filter\"} 2.0")
                .contains("kubeproxy_sync_proxy_rules_no_local_endpoints_total{ip_family=\"IPv4\",traffic_policy=\"External\"} 2.0")
                .contains("kubeproxy_proxy_healthz_total{code=\"200\"} 1.0")
                .contains("kubeproxy_proxy_livez_total{code=\"503\"} 1.0")
                .contains("kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family=\"IPv4\"} 4.0")
                .contains("switchboard_change_to_rules_duration_seconds_bucket{ip_family=\"IPv4\",le=\"0.1\"} 0")
                .contains("switchboard_change_to_rules_duration_seconds_bucket{ip_family=\"IPv4\",le=\"0.15\"} 1")
                .contains("switchboard_rejected_service_ports{ip_family=\"IPv6\"} 1.0")
                .contains("switchboard_service_port_rejections_total{ip_family=\"IPv6\"} 2.0")
                .contains("# TYPE rest_client_requests_total counter")
                .contains("rest_client_requests_total{code=\"200\",host=\"10.96.0.1:443\",method=\"GET\"} 1.0")
                .contains("# TYPE rest_client_request_duration_seconds histogram")
                .contains("rest_client_request_duration_seconds_bucket{host=\"10.96.0.1:443\",verb=\"GET\",le=\"0.025\"} 1")
                .contains("rest_client_request_duration_seconds_bucket{host=\"10.96.0.1:443\",verb=\"POST\",le=\"0.25\"} 0")
                .contains("rest_client_request_size_bytes_bucket{host=\"10.96.0.1:443\",verb=\"POST\",le=\"1024.0\"} 1")
                .contains("rest_client_response_size_bytes_bucket{host=\"10.96.0.1:443\",verb=\"GET\",le=\"4096.0\"} 1")
                .doesNotContain("rest_client_response_size_bytes_count{host=\"10.96.0.1:443\",verb=\"POST\"}")
                .contains("process_cpu_seconds_total")
                .contains("process_resident_memory_bytes")
                .contains("jvm_memory_used_bytes");
        // 15 exponential buckets plus +Inf
        long buckets = text.lines().filter(l -> l.startsWith("kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family=\"IPv4\"")).count();
        assertThat(buckets).isEqualTo(16);
        long npBuckets = text.lines().filter(l -> l.startsWith("kubeproxy_network_programming_duration_seconds_bucket{ip_family=\"IPv6\"")).count();
        assertThat(npBuckets).isEqualTo(2 + 59 + 12 + 7 + 1);
        // client-go's buckets: 12 for latency, 11 for sizes (64 B to 16 MiB), each plus +Inf
        assertThat(text.lines().filter(l -> l.startsWith("rest_client_request_duration_seconds_bucket{host=\"10.96.0.1:443\",verb=\"GET\"")).count())
                .isEqualTo(13);
        assertThat(text.lines().filter(l -> l.startsWith("rest_client_request_size_bytes_bucket{host=\"10.96.0.1:443\",verb=\"GET\"")).count())
                .isEqualTo(12);
    }

    @Test
    void passesPromtool() throws IOException, InterruptedException {
        Path promtool = Path.of("/usr/bin/promtool");
        Assumptions.assumeTrue(Files.isExecutable(promtool),
                "promtool is not installed (Debian package 'prometheus'; .ci/run installs it)");
        exercise();
        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
        p.getOutputStream().write(metrics.scrape().getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        // Exit 1 would be a parse error. Lint findings exit 3: the only ones allowed are the two
        // gauges kube-proxy itself names with a "_total" suffix (compatibility beats style).
        assertThat(output).as(output).doesNotContain("error while linting");
        List<String> findings = output.lines().filter(l -> !l.isBlank()).toList();
        assertThat(findings).containsExactlyInAnyOrder(
                "kubeproxy_sync_proxy_rules_iptables_total non-counter metrics should not have \"_total\" suffix",
                "kubeproxy_sync_proxy_rules_no_local_endpoints_total non-counter metrics should not have \"_total\" suffix");
        assertThat(p.exitValue()).as(output).isEqualTo(3);
    }
}
