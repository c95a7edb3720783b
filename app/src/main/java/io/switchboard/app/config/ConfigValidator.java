package io.switchboard.app.config;

import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Applies kube-proxy's defaults to a {@link RawConfig} and validates every field. The first invalid
 * field throws a {@link ConfigException} naming the field and the value.
 */
public final class ConfigValidator {
    public static final Set<String> MODES = Set.of("iptables", "ipvs", "userspace", "nftables");
    public static final Set<String> IPVS_SCHEDULERS = Set.of("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh",
            "sed", "nq", "mh");

    private ConfigValidator() {
    }

    public static ProxyConfig validate(RawConfig raw) {
        String mode = str(raw, "mode", "");
        if (mode.isEmpty()) {
            mode = "iptables";
        }
        if (!MODES.contains(mode) && !providedModes().contains(mode)) {
            throw invalid("mode", mode, "want one of iptables, ipvs, nftables, userspace");
        }
        var client = new ProxyConfig.ClientConnection(
                str(raw, "clientConnection.kubeconfig", ""),
                "",
                str(raw, "clientConnection.contentType", "application/json"),
                (float) num(raw, "clientConnection.qps", 5.0),
                integer(raw, "clientConnection.burst", 10));
        if (client.qps() < 0) {
            throw invalid("clientConnection.qps", client.qps(), "must not be negative");
        }
        if (client.burst() < 0) {
            throw invalid("clientConnection.burst", client.burst(), "must not be negative");
        }
        String bindAddress = str(raw, "bindAddress", "0.0.0.0");
        ip("bindAddress", bindAddress);
        String healthz = str(raw, "healthzBindAddress", "0.0.0.0:10256");
        hostPort("healthzBindAddress", healthz);
        String metrics = str(raw, "metricsBindAddress", "127.0.0.1:10249");
        hostPort("metricsBindAddress", metrics);

        List<Cidr> clusterCidrs = new ArrayList<>();
        String cidrText = str(raw, "clusterCIDR", "");
        if (!cidrText.isEmpty()) {
            for (String c : cidrText.split(",")) {
                clusterCidrs.add(cidr("clusterCIDR", c.trim()));
            }
            if (clusterCidrs.size() > 2 || (clusterCidrs.size() == 2 && clusterCidrs.get(0).family() == clusterCidrs.get(1).family())) {
                throw invalid("clusterCIDR", cidrText, "at most one CIDR per IP family");
            }
        }
        ProxyConfig.DetectLocalMode detect;
        try {
            detect = ProxyConfig.DetectLocalMode.parse(str(raw, "detectLocalMode", ""));
        } catch (IllegalArgumentException e) {
            throw invalid("detectLocalMode", raw.get("detectLocalMode"),
                    "want ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix");
        }
        var detectLocal = new ProxyConfig.DetectLocal(str(raw, "detectLocal.bridgeInterface", ""),
                str(raw, "detectLocal.interfaceNamePrefix", ""));
        if (detect == ProxyConfig.DetectLocalMode.BRIDGE_INTERFACE && detectLocal.bridgeInterface().isEmpty()) {
            throw invalid("detectLocal.bridgeInterface", "", "required when detectLocalMode is BridgeInterface");
        }
        if (detect == ProxyConfig.DetectLocalMode.INTERFACE_NAME_PREFIX && detectLocal.interfaceNamePrefix().isEmpty()) {
            throw invalid("detectLocal.interfaceNamePrefix", "", "required when detectLocalMode is InterfaceNamePrefix");
        }
        List<String> nodePortAddresses = strings(raw, "nodePortAddresses");
        for (String a : nodePortAddresses) {
            if (!a.equals("primary")) {
                cidr("nodePortAddresses", a);
            }
        }
        if (nodePortAddresses.contains("primary") && nodePortAddresses.size() > 1) {
            throw invalid("nodePortAddresses", nodePortAddresses, "\"primary\" cannot be combined with CIDRs");
        }

        var iptables = new ProxyConfig.Iptables(
                integer(raw, "iptables.masqueradeBit", 14),
                bool(raw, "iptables.masqueradeAll", false),
                bool(raw, "iptables.localhostNodePorts", true),
                duration(raw, "iptables.syncPeriod", Duration.ofSeconds(30)),
                duration(raw, "iptables.minSyncPeriod", Duration.ofSeconds(1)));
        bit("iptables.masqueradeBit", iptables.masqueradeBit());
        periods("iptables", iptables.syncPeriod(), iptables.minSyncPeriod());

        List<Cidr> exclude = new ArrayList<>();
        for (String c : strings(raw, "ipvs.excludeCIDRs")) {
            exclude.add(cidr("ipvs.excludeCIDRs", c));
        }
        var ipvs = new ProxyConfig.Ipvs(
                str(raw, "ipvs.scheduler", "rr").isEmpty() ? "rr" : str(raw, "ipvs.scheduler", "rr"),
                exclude,
                bool(raw, "ipvs.strictARP", false),
                duration(raw, "ipvs.tcpTimeout", Duration.ZERO),
                duration(raw, "ipvs.tcpFinTimeout", Duration.ZERO),
                duration(raw, "ipvs.udpTimeout", Duration.ZERO),
                duration(raw, "ipvs.syncPeriod", Duration.ofSeconds(30)),
                duration(raw, "ipvs.minSyncPeriod", Duration.ZERO));
        if (!IPVS_SCHEDULERS.contains(ipvs.scheduler())) {
            throw invalid("ipvs.scheduler", ipvs.scheduler(), "want one of " + String.join(", ", IPVS_SCHEDULERS.stream().sorted().toList()));
        }
        nonNegative("ipvs.tcpTimeout", ipvs.tcpTimeout());
        nonNegative("ipvs.tcpFinTimeout", ipvs.tcpFinTimeout());
        nonNegative("ipvs.udpTimeout", ipvs.udpTimeout());
        periods("ipvs", ipvs.syncPeriod(), ipvs.minSyncPeriod());

        var nft = new ProxyConfig.Nftables(
                integer(raw, "nftables.masqueradeBit", 14),
                bool(raw, "nftables.masqueradeAll", false),
                duration(raw, "nftables.syncPeriod", Duration.ofSeconds(30)),
                duration(raw, "nftables.minSyncPeriod", Duration.ofSeconds(1)));
        bit("nftables.masqueradeBit", nft.masqueradeBit());
        periods("nftables", nft.syncPeriod(), nft.minSyncPeriod());

        var conntrack = new ProxyConfig.Conntrack(
                integer(raw, "conntrack.maxPerCore", 32768),
                integer(raw, "conntrack.min", 131072),
                duration(raw, "conntrack.tcpEstablishedTimeout", Duration.ofHours(24)),
                duration(raw, "conntrack.tcpCloseWaitTimeout", Duration.ofHours(1)),
                duration(raw, "conntrack.udpTimeout", Duration.ZERO),
                duration(raw, "conntrack.udpStreamTimeout", Duration.ZERO));
        if (conntrack.maxPerCore() < 0) {
            throw invalid("conntrack.maxPerCore", conntrack.maxPerCore(), "must not be negative");
        }
        if (conntrack.min() < 0) {
            throw invalid("conntrack.min", conntrack.min(), "must not be negative");
        }
        nonNegative("conntrack.tcpEstablishedTimeout", conntrack.tcpEstablishedTimeout());
        nonNegative("conntrack.tcpCloseWaitTimeout", conntrack.tcpCloseWaitTimeout());
        nonNegative("conntrack.udpTimeout", conntrack.udpTimeout());
        nonNegative("conntrack.udpStreamTimeout", conntrack.udpStreamTimeout());

        Duration configSync = duration(raw, "configSyncPeriod", Duration.ofMinutes(15));
        if (configSync.isNegative() || configSync.isZero()) {
            throw invalid("configSyncPeriod", GoDuration.format(configSync), "must be greater than 0");
        }
        int oom = integer(raw, "oomScoreAdj", -999);
        if (oom < -1000 || oom > 1000) {
            throw invalid("oomScoreAdj", oom, "must be within [-1000, 1000]");
        }
        String format = str(raw, "logging.format", "text");
        if (!format.equals("text") && !format.equals("json")) {
            throw invalid("logging.format", format, "want text or json");
        }
        int verbosity = integer(raw, "logging.verbosity", 0);
        if (verbosity < 0) {
            throw invalid("logging.verbosity", verbosity, "must not be negative");
        }
        @SuppressWarnings("unchecked")
        Map<String, Boolean> gates = raw.has("featureGates") ? (Map<String, Boolean>) raw.get("featureGates") : Map.of();
        ProxyConfig.Userspace userspace = userspace(str(raw, "portRange", ""),
                duration(raw, "udpIdleTimeout", ProxyConfig.Userspace.DEFAULT.udpIdleTimeout()));
        return new ProxyConfig(mode, client, str(raw, "hostnameOverride", "").trim(), bindAddress, healthz, metrics,
                clusterCidrs, detect, detectLocal, nodePortAddresses, iptables, ipvs, nft, conntrack, configSync, oom,
                gates, new ProxyConfig.Logging(verbosity, format), userspace);
    }

    /** {@code portRange}: empty, {@code begin-end} or {@code begin+offset} (kube-proxy's forms). */
    static ProxyConfig.Userspace userspace(String portRange, Duration udpIdle) {
        if (udpIdle.isNegative() || udpIdle.isZero()) {
            throw invalid("udpIdleTimeout", GoDuration.format(udpIdle), "must be greater than 0");
        }
        String r = portRange.strip();
        if (r.isEmpty()) {
            return new ProxyConfig.Userspace(0, 0, udpIdle);
        }
        int sep = Math.max(r.indexOf('-'), r.indexOf('+'));
        try {
            if (sep <= 0) {
                throw new NumberFormatException();
            }
            int begin = Integer.parseInt(r.substring(0, sep).strip());
            int second = Integer.parseInt(r.substring(sep + 1).strip());
            int end = r.charAt(sep) == '+' ? begin + second : second;
            if (begin < 1 || end > 65535 || end < begin) {
                throw invalid("portRange", portRange, "ports must be within [1, 65535] and begin <= end");
            }
            return new ProxyConfig.Userspace(begin, end, udpIdle);
        } catch (NumberFormatException e) {
            throw invalid("portRange", portRange, "want begin-end or begin+offset, e.g. 30000-32767");
        }
    }

    /** The IP families the cluster CIDRs (or the bind address) imply; IPv4 if nothing says otherwise. */
    public static Set<IpFamily> families(ProxyConfig config) {
        if (config.clusterCidrs().size() == 2) {
            return Set.of(IpFamily.IPV4, IpFamily.IPV6);
        }
        if (config.clusterCidrs().size() == 1) {
            return Set.of(config.clusterCidrs().get(0).family());
        }
        return Set.of(IpAddress.parse(config.bindAddress()).family());
    }

    /**
     * The primary family in dual-stack: the family of {@code bindAddress} when one is set (kube-proxy
     * takes its node IP from there), else of the first cluster CIDR, else IPv4 — kube-proxy's
     * default primary when it cannot tell.
     */
    public static IpFamily primaryFamily(ProxyConfig config) {
        IpAddress bind = IpAddress.parse(config.bindAddress());
        if (!bind.isUnspecified()) {
            return bind.family();
        }
        if (!config.clusterCidrs().isEmpty()) {
            return config.clusterCidrs().get(0).family();
        }
        return IpFamily.IPV4;
    }

    /** Modes of the backend providers on the class path (the planned ones plus any extra, e.g. in tests). */
    private static Set<String> providedModes() {
        Set<String> out = new java.util.HashSet<>();
        java.util.ServiceLoader.load(io.switchboard.core.backend.BackendProvider.class).forEach(p -> out.add(p.mode()));
        return out;
    }

    static ConfigException invalid(String field, Object value, String why) {
        return new ConfigException("invalid configuration: " + field + ": \"" + value + "\": " + why);
    }

    private static void periods(String section, Duration sync, Duration min) {
        if (sync.isNegative() || sync.isZero()) {
            throw invalid(section + ".syncPeriod", GoDuration.format(sync), "must be greater than 0");
        }
        if (min.isNegative()) {
            throw invalid(section + ".minSyncPeriod", GoDuration.format(min), "must not be negative");
        }
        if (min.compareTo(sync) > 0) {
            throw invalid(section + ".minSyncPeriod", GoDuration.format(min),
                    "must not be greater than " + section + ".syncPeriod (" + GoDuration.format(sync) + ")");
        }
    }

    private static void nonNegative(String field, Duration d) {
        if (d.isNegative()) {
            throw invalid(field, GoDuration.format(d), "must not be negative");
        }
    }

    private static void bit(String field, int bit) {
        if (bit < 0 || bit > 31) {
            throw invalid(field, bit, "must be within [0, 31]");
        }
    }

    private static void ip(String field, String text) {
        try {
            IpAddress.parse(text);
        } catch (IllegalArgumentException e) {
            throw invalid(field, text, "not an IP address");
        }
    }

    private static Cidr cidr(String field, String text) {
        try {
            return Cidr.parse(text);
        } catch (IllegalArgumentException e) {
            throw invalid(field, text, "not a CIDR");
        }
    }

    /** Validates {@code ip:port} / {@code [v6]:port}; empty disables the server. */
    static void hostPort(String field, String text) {
        if (text.isEmpty()) {
            return;
        }
        try {
            ListenAddress.parse(text);
        } catch (IllegalArgumentException e) {
            throw invalid(field, text, e.getMessage());
        }
    }

    private static String str(RawConfig raw, String path, String def) {
        Object v = raw.get(path);
        return v == null ? def : v.toString();
    }

    private static boolean bool(RawConfig raw, String path, boolean def) {
        Object v = raw.get(path);
        return v == null ? def : (Boolean) v;
    }

    private static int integer(RawConfig raw, String path, int def) {
        Object v = raw.get(path);
        return v == null ? def : ((Number) v).intValue();
    }

    private static double num(RawConfig raw, String path, double def) {
        Object v = raw.get(path);
        return v == null ? def : ((Number) v).doubleValue();
    }

    private static Duration duration(RawConfig raw, String path, Duration def) {
        Object v = raw.get(path);
        return v == null ? def : (Duration) v;
    }

    @SuppressWarnings("unchecked")
    private static List<String> strings(RawConfig raw, String path) {
        Object v = raw.get(path);
        return v == null ? List.of() : (List<String>) v;
    }
}
