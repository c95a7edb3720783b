package io.switchboard.app.metrics;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.ProcessMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.IpFamily;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * kube-proxy's metrics with their exact names, types, labels and buckets, registered as native
 * Prometheus client metrics on the registry Micrometer exports, plus JVM (Micrometer binders) and
 * process (Prometheus client) metrics.
 */
public final class PrometheusProxyMetrics implements ProxyMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    private final Histogram syncDuration;
    private final Histogram fullSyncDuration;
    private final Histogram partialSyncDuration;
    private final Gauge lastSync;
    private final Gauge lastQueued;
    private final Histogram networkProgramming;
    private final Gauge endpointChangesPending;
    private final Counter endpointChangesTotal;
    private final Gauge serviceChangesPending;
    private final Counter serviceChangesTotal;
    private final Counter restoreFailures;
    private final Counter partialRestoreFailures;
    private final Gauge iptablesTotal;
    private final Gauge iptablesLast;
    private final Gauge noLocalEndpoints;
    private final Counter healthz;
    private final Counter livez;
    private final Counter conntrackDeleted;
    private final Counter malformed;
    private final Gauge rejectedPorts;
    private final Gauge inputBytes;
    private final Gauge userspaceOpen;
    private final Counter userspaceBytes;
    /** Called on every proxied read: the two data points are looked up once. */
    private final io.prometheus.metrics.core.datapoints.CounterDataPoint bytesToEndpoint;
    private final io.prometheus.metrics.core.datapoints.CounterDataPoint bytesToClient;
    private final Counter userspaceConnectFailures;
    private final Counter userspaceRetries;
    private final Counter skippedPorts;
    private final Counter restRequests;
    private final Histogram restDuration;
    private final Histogram restRequestSize;
    private final Histogram restResponseSize;
    private final Counter rejectedTotal;
    private final Histogram changeToRules;

    public PrometheusProxyMetrics(Set<IpFamily> families) {
        PrometheusRegistry r = registry.getPrometheusRegistry();
        double[] syncBuckets = exponential(0.001, 2, 15);
        syncDuration = histogram(r, "kubeproxy_sync_proxy_rules_duration_seconds",
                "How long one sync of the proxy rules took", syncBuckets, "ip_family");
        fullSyncDuration = histogram(r, "kubeproxy_sync_full_proxy_rules_duration_seconds",
                "How long one full sync of the proxy rules took", syncBuckets, "ip_family");
        partialSyncDuration = histogram(r, "kubeproxy_sync_partial_proxy_rules_duration_seconds",
                "How long one partial sync of the proxy rules took", syncBuckets, "ip_family");
        lastSync = gauge(r, "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
                "When the proxy rules were last synced (Unix seconds)", "ip_family");
        lastQueued = gauge(r, "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
                "When a change was last queued for sync (Unix seconds)", "ip_family");
        networkProgramming = histogram(r, "kubeproxy_network_programming_duration_seconds",
                "From an endpoint change in the API to the rules in the kernel", networkProgrammingBuckets(),
                "ip_family");
        changeToRules = histogram(r, "switchboard_change_to_rules_duration_seconds",
                "From the oldest change a sync carried reaching the proxy to that sync's end (the proxy's share of"
                        + " network programming, without the API server's)",
                new double[]{0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10, 30, 60}, "ip_family");
        endpointChangesPending = gauge(r, "kubeproxy_sync_proxy_rules_endpoint_changes_pending",
                "Endpoint changes waiting for a sync");
        endpointChangesTotal = counter(r, "kubeproxy_sync_proxy_rules_endpoint_changes_total",
                "Endpoint changes received");
        serviceChangesPending = gauge(r, "kubeproxy_sync_proxy_rules_service_changes_pending",
                "Service changes waiting for a sync");
        serviceChangesTotal = counter(r, "kubeproxy_sync_proxy_rules_service_changes_total",
                "Service changes received");
        restoreFailures = counter(r, "kubeproxy_sync_proxy_rules_iptables_restore_failures_total",
                "iptables-restore runs that failed", "ip_family");
        partialRestoreFailures = counter(r, "kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total",
                "Partial iptables-restore runs that failed (each forces a full sync)", "ip_family");
        iptablesTotal = gauge(r, "kubeproxy_sync_proxy_rules_iptables_total",
                "Rules in the proxy's chains after the last sync", "ip_family", "table");
        iptablesLast = gauge(r, "kubeproxy_sync_proxy_rules_iptables_last",
                "Rules written by the last sync", "ip_family", "table");
        noLocalEndpoints = gauge(r, "kubeproxy_sync_proxy_rules_no_local_endpoints_total",
                "Service ports with a Local traffic policy and no local endpoint", "ip_family", "traffic_policy");
        healthz = counter(r, "kubeproxy_proxy_healthz_total", "/healthz answers by HTTP code", "code");
        livez = counter(r, "kubeproxy_proxy_livez_total", "/livez answers by HTTP code", "code");
        conntrackDeleted = counter(r, "kubeproxy_conntrack_reconciler_deleted_entries_total",
                "Stale conntrack entries deleted", "ip_family");
        malformed = counter(r, "switchboard_malformed_objects_total",
                "API objects skipped because they were malformed", "kind");
        inputBytes = gauge(r, "switchboard_sync_proxy_rules_last_input_bytes",
                "Bytes the last successful sync sent to the kernel (iptables-restore input, nftables transaction)", "ip_family");
        rejectedPorts = gauge(r, "switchboard_rejected_service_ports",
                "Service ports left out of the rules because the kernel rejected them (retried every sync)", "ip_family");
        rejectedTotal = counter(r, "switchboard_service_port_rejections_total",
                "Times a service port's rules were rejected by the kernel and left out", "ip_family");
        userspaceOpen = gauge(r, "switchboard_userspace_open_connections",
                "Userspace mode: open proxied TCP connections and UDP sessions", "protocol");
        userspaceBytes = counter(r, "switchboard_userspace_bytes_total",
                "Userspace mode: bytes proxied", "direction");
        bytesToEndpoint = userspaceBytes.labelValues("to_endpoint");
        bytesToClient = userspaceBytes.labelValues("to_client");
        userspaceConnectFailures = counter(r, "switchboard_userspace_connect_failures_total",
                "Userspace mode: failed connects to endpoints");
        userspaceRetries = counter(r, "switchboard_userspace_connect_retries_total",
                "Userspace mode: connects retried on another endpoint");
        // client-go's REST client metrics (k8s.io/component-base/metrics/prometheus/restclient)
        restRequests = counter(r, "rest_client_requests_total",
                "Number of HTTP requests, partitioned by status code, method, and host.", "code", "host", "method");
        restDuration = histogram(r, "rest_client_request_duration_seconds",
                "Request latency in seconds. Broken down by verb, and host.",
                new double[]{0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0}, "host", "verb");
        double[] sizes = {64, 256, 512, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216};
        restRequestSize = histogram(r, "rest_client_request_size_bytes", "Request size in bytes. Broken down by verb and host.",
                sizes, "host", "verb");
        restResponseSize = histogram(r, "rest_client_response_size_bytes", "Response size in bytes. Broken down by verb and host.",
                sizes, "host", "verb");
        skippedPorts = counter(r, "switchboard_skipped_service_ports_total",
                "Service ports the proxy mode cannot serve (e.g. SCTP in userspace mode)", "protocol");

        for (IpFamily f : families) {
            String fam = f.kubernetesName();
            syncDuration.labelValues(fam);
            fullSyncDuration.labelValues(fam);
            partialSyncDuration.labelValues(fam);
            networkProgramming.labelValues(fam);
            changeToRules.labelValues(fam);
            restoreFailures.labelValues(fam);
            partialRestoreFailures.labelValues(fam);
            conntrackDeleted.labelValues(fam);
            rejectedPorts.labelValues(fam);
            rejectedTotal.labelValues(fam);
        }
        for (String kind : List.of("Service", "EndpointSlice", "Node")) {
            malformed.labelValues(kind);
        }

        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        ProcessMetrics.builder().register(r);
    }

    /** The Prometheus text exposition of everything registered. */
    public String scrape() {
        return registry.scrape();
    }

    static double[] exponential(double start, double factor, int count) {
        double[] out = new double[count];
        double v = start;
        for (int i = 0; i < count; i++) {
            out[i] = v;
            v *= factor;
        }
        return out;
    }

    static double[] networkProgrammingBuckets() {
        List<Double> b = new ArrayList<>(List.of(0.25, 0.5));
        for (int i = 1; i <= 59; i++) {
            b.add((double) i);
        }
        for (int i = 60; i <= 115; i += 5) {
            b.add((double) i);
        }
        for (int i = 120; i <= 300; i += 30) {
            b.add((double) i);
        }
        return b.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static Histogram histogram(PrometheusRegistry r, String name, String help, double[] buckets, String... labels) {
        return Histogram.builder().name(name).help(help).classicUpperBounds(buckets).classicOnly()
                .withoutExemplars().labelNames(labels).register(r);
    }

    private static Gauge gauge(PrometheusRegistry r, String name, String help, String... labels) {
        return Gauge.builder().name(name).help(help).withoutExemplars().labelNames(labels).register(r);
    }

    private static Counter counter(PrometheusRegistry r, String name, String help, String... labels) {
        return Counter.builder().name(name).help(help).withoutExemplars().labelNames(labels).register(r);
    }

    @Override
    public void syncDuration(IpFamily family, boolean full, double seconds) {
        syncDuration.labelValues(family.kubernetesName()).observe(seconds);
        (full ? fullSyncDuration : partialSyncDuration).labelValues(family.kubernetesName()).observe(seconds);
    }

    @Override
    public void lastSyncTimestamp(IpFamily family, double epochSeconds) {
        lastSync.labelValues(family.kubernetesName()).set(epochSeconds);
    }

    @Override
    public void lastQueuedTimestamp(IpFamily family, double epochSeconds) {
        lastQueued.labelValues(family.kubernetesName()).set(epochSeconds);
    }

    @Override
    public void networkProgrammingDuration(IpFamily family, double seconds) {
        networkProgramming.labelValues(family.kubernetesName()).observe(seconds);
    }

    @Override
    public void changeToRulesDuration(IpFamily family, double seconds) {
        changeToRules.labelValues(family.kubernetesName()).observe(seconds);
    }

    @Override
    public void serviceChange(int pending) {
        serviceChangesTotal.inc();
        serviceChangesPending.set(pending);
    }

    @Override
    public void endpointChange(int pending) {
        endpointChangesTotal.inc();
        endpointChangesPending.set(pending);
    }

    @Override
    public void restoreFailure(IpFamily family, boolean partial) {
        restoreFailures.labelValues(family.kubernetesName()).inc();
        if (partial) {
            partialRestoreFailures.labelValues(family.kubernetesName()).inc();
        }
    }

    @Override
    public void iptablesRules(IpFamily family, String table, int total, int last) {
        iptablesTotal.labelValues(family.kubernetesName(), table).set(total);
        iptablesLast.labelValues(family.kubernetesName(), table).set(last);
    }

    @Override
    public void noLocalEndpoints(IpFamily family, String trafficPolicy, int count) {
        noLocalEndpoints.labelValues(family.kubernetesName(), trafficPolicy).set(count);
    }

    @Override
    public void healthz(int code) {
        healthz.labelValues(Integer.toString(code)).inc();
    }

    @Override
    public void livez(int code) {
        livez.labelValues(Integer.toString(code)).inc();
    }

    @Override
    public void conntrackDeleted(IpFamily family, int entries) {
        conntrackDeleted.labelValues(family.kubernetesName()).inc(entries);
    }

    @Override
    public void malformedObject(String kind) {
        malformed.labelValues(kind).inc();
    }

    @Override
    public void syncInputBytes(IpFamily family, long bytes) {
        inputBytes.labelValues(family.kubernetesName()).set(bytes);
    }

    @Override
    public void rejectedServicePorts(IpFamily family, int count, int newlyRejected) {
        rejectedPorts.labelValues(family.kubernetesName()).set(count);
        if (newlyRejected > 0) {
            rejectedTotal.labelValues(family.kubernetesName()).inc(newlyRejected);
        }
    }

    @Override
    public void userspaceConnections(String protocol, int delta) {
        userspaceOpen.labelValues(protocol).inc(delta);
    }

    @Override
    public void userspaceBytes(String direction, long bytes) {
        switch (direction) {
            case "to_endpoint" -> bytesToEndpoint.inc(bytes);
            case "to_client" -> bytesToClient.inc(bytes);
            default -> userspaceBytes.labelValues(direction).inc(bytes);
        }
    }

    @Override
    public void userspaceConnectFailure(boolean retried) {
        userspaceConnectFailures.inc();
        if (retried) {
            userspaceRetries.inc();
        }
    }

    @Override
    public void skippedServicePort(String protocol) {
        skippedPorts.labelValues(protocol).inc();
    }

    @Override
    public void restClientRequest(String host, String method, String code, double seconds, long requestBytes,
                                  long responseBytes) {
        restRequests.labelValues(code, host, method).inc();
        restDuration.labelValues(host, method).observe(seconds);
        restRequestSize.labelValues(host, method).observe(requestBytes);
        if (responseBytes >= 0) {
            restResponseSize.labelValues(host, method).observe(responseBytes);
        }
    }
}
