package io.switchboard.app.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Configuration values by their {@code KubeProxyConfiguration} field path ({@code iptables.syncPeriod}),
 * before validation. Filled from a config file or from flags; {@link ConfigValidator} turns it into
 * the typed, validated {@link io.switchboard.core.config.ProxyConfig}.
 */
public final class RawConfig {
    public static final String API_VERSION = "kubeproxy.config.k8s.io/v1alpha1";
    public static final String KIND = "KubeProxyConfiguration";

    /** What kind of value a field holds. */
    enum Kind { OBJECT, STRING, BOOL, INT, FLOAT, DURATION, STRING_LIST, BOOL_MAP, ANY }

    static final Map<String, Kind> FIELDS = new LinkedHashMap<>();

    static {
        FIELDS.put("apiVersion", Kind.STRING);
        FIELDS.put("kind", Kind.STRING);
        FIELDS.put("featureGates", Kind.BOOL_MAP);
        FIELDS.put("clientConnection", Kind.OBJECT);
        FIELDS.put("clientConnection.kubeconfig", Kind.STRING);
        FIELDS.put("clientConnection.acceptContentTypes", Kind.STRING);
        FIELDS.put("clientConnection.contentType", Kind.STRING);
        FIELDS.put("clientConnection.qps", Kind.FLOAT);
        FIELDS.put("clientConnection.burst", Kind.INT);
        FIELDS.put("hostnameOverride", Kind.STRING);
        FIELDS.put("bindAddress", Kind.STRING);
        FIELDS.put("healthzBindAddress", Kind.STRING);
        FIELDS.put("metricsBindAddress", Kind.STRING);
        FIELDS.put("bindAddressHardFail", Kind.BOOL);
        FIELDS.put("enableProfiling", Kind.BOOL);
        FIELDS.put("showHiddenMetricsForVersion", Kind.STRING);
        FIELDS.put("mode", Kind.STRING);
        FIELDS.put("iptables", Kind.OBJECT);
        FIELDS.put("iptables.masqueradeAll", Kind.BOOL);
        FIELDS.put("iptables.masqueradeBit", Kind.INT);
        FIELDS.put("iptables.localhostNodePorts", Kind.BOOL);
        FIELDS.put("iptables.syncPeriod", Kind.DURATION);
        FIELDS.put("iptables.minSyncPeriod", Kind.DURATION);
        FIELDS.put("ipvs", Kind.OBJECT);
        FIELDS.put("ipvs.syncPeriod", Kind.DURATION);
        FIELDS.put("ipvs.minSyncPeriod", Kind.DURATION);
        FIELDS.put("ipvs.scheduler", Kind.STRING);
        FIELDS.put("ipvs.excludeCIDRs", Kind.STRING_LIST);
        FIELDS.put("ipvs.strictARP", Kind.BOOL);
        FIELDS.put("ipvs.tcpTimeout", Kind.DURATION);
        FIELDS.put("ipvs.tcpFinTimeout", Kind.DURATION);
        FIELDS.put("ipvs.udpTimeout", Kind.DURATION);
        FIELDS.put("nftables", Kind.OBJECT);
        FIELDS.put("nftables.masqueradeAll", Kind.BOOL);
        FIELDS.put("nftables.masqueradeBit", Kind.INT);
        FIELDS.put("nftables.syncPeriod", Kind.DURATION);
        FIELDS.put("nftables.minSyncPeriod", Kind.DURATION);
        FIELDS.put("winkernel", Kind.ANY);
        FIELDS.put("detectLocalMode", Kind.STRING);
        FIELDS.put("detectLocal", Kind.OBJECT);
        FIELDS.put("detectLocal.bridgeInterface", Kind.STRING);
        FIELDS.put("detectLocal.interfaceNamePrefix", Kind.STRING);
        FIELDS.put("clusterCIDR", Kind.STRING);
        FIELDS.put("nodePortAddresses", Kind.STRING_LIST);
        FIELDS.put("oomScoreAdj", Kind.INT);
        FIELDS.put("conntrack", Kind.OBJECT);
        FIELDS.put("conntrack.maxPerCore", Kind.INT);
        FIELDS.put("conntrack.min", Kind.INT);
        FIELDS.put("conntrack.tcpEstablishedTimeout", Kind.DURATION);
        FIELDS.put("conntrack.tcpCloseWaitTimeout", Kind.DURATION);
        FIELDS.put("conntrack.tcpBeLiberal", Kind.BOOL);
        FIELDS.put("conntrack.udpTimeout", Kind.DURATION);
        FIELDS.put("conntrack.udpStreamTimeout", Kind.DURATION);
        FIELDS.put("configSyncPeriod", Kind.DURATION);
        FIELDS.put("portRange", Kind.STRING);
        FIELDS.put("udpIdleTimeout", Kind.DURATION);
        FIELDS.put("logging", Kind.OBJECT);
        FIELDS.put("logging.format", Kind.STRING);
        FIELDS.put("logging.flushFrequency", Kind.ANY);
        FIELDS.put("logging.verbosity", Kind.INT);
        FIELDS.put("logging.vmodule", Kind.ANY);
        FIELDS.put("logging.options", Kind.ANY);
        FIELDS.put("windowsRunAsService", Kind.BOOL);
    }

    private final Map<String, Object> values = new LinkedHashMap<>();
    private final List<String> warnings = new ArrayList<>();

    /** Sets a value by field path (flags use this). */
    public void set(String path, Object value) {
        if (!FIELDS.containsKey(path)) {
            throw new IllegalArgumentException("unknown field " + path);
        }
        values.put(path, value);
    }

    public boolean has(String path) {
        return values.containsKey(path);
    }

    public Object get(String path) {
        return values.get(path);
    }

    /** Warnings collected while reading (unknown fields). */
    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    /** Reads a {@code KubeProxyConfiguration} file (YAML or JSON). */
    public static RawConfig readFile(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ConfigException("config file " + file + ": cannot read: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ConfigException("config file " + file + ": not a KubeProxyConfiguration object");
        }
        RawConfig raw = new RawConfig();
        raw.readObject(file, "", root);
        Object apiVersion = raw.get("apiVersion");
        Object kind = raw.get("kind");
        if (!API_VERSION.equals(apiVersion)) {
            throw new ConfigException("config file " + file + ": field apiVersion: \"" + (apiVersion == null ? "" : apiVersion)
                    + "\": want " + API_VERSION);
        }
        if (!KIND.equals(kind)) {
            throw new ConfigException("config file " + file + ": field kind: \"" + (kind == null ? "" : kind)
                    + "\": want " + KIND);
        }
        return raw;
    }

    private void readObject(Path file, String prefix, JsonNode node) {
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            Kind kind = FIELDS.get(path);
            JsonNode v = e.getValue();
            if (kind == null) {
                warnings.add("config file " + file + ": unknown field " + path + " ignored");
                continue;
            }
            if (v.isNull()) {
                continue;
            }
            switch (kind) {
                case OBJECT -> {
                    if (!v.isObject()) {
                        throw typeError(file, path, "an object", v);
                    }
                    readObject(file, path, v);
                }
                case STRING, DURATION -> {
                    if (!v.isTextual()) {
                        throw typeError(file, path, kind == Kind.DURATION ? "a duration such as \"30s\"" : "a string", v);
                    }
                    values.put(path, kind == Kind.DURATION ? parseDuration(file, path, v.asText()) : v.asText());
                }
                case BOOL -> {
                    if (!v.isBoolean()) {
                        throw typeError(file, path, "true or false", v);
                    }
                    values.put(path, v.asBoolean());
                }
                case INT -> {
                    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                        throw typeError(file, path, "an integer", v);
                    }
                    values.put(path, v.asInt());
                }
                case FLOAT -> {
                    if (!v.isNumber()) {
                        throw typeError(file, path, "a number", v);
                    }
                    values.put(path, v.asDouble());
                }
                case STRING_LIST -> {
                    if (!v.isArray()) {
                        throw typeError(file, path, "a list of strings", v);
                    }
                    List<String> list = new ArrayList<>();
                    for (JsonNode item : v) {
                        if (!item.isTextual()) {
                            throw typeError(file, path, "a list of strings", v);
                        }
                        list.add(item.asText());
                    }
                    values.put(path, List.copyOf(list));
                }
                case BOOL_MAP -> {
                    if (!v.isObject()) {
                        throw typeError(file, path, "a map of names to true/false", v);
                    }
                    Map<String, Boolean> map = new LinkedHashMap<>();
                    Iterator<Map.Entry<String, JsonNode>> gates = v.fields();
                    while (gates.hasNext()) {
                        Map.Entry<String, JsonNode> g = gates.next();
                        if (!g.getValue().isBoolean()) {
                            throw typeError(file, path + "." + g.getKey(), "true or false", g.getValue());
                        }
                        map.put(g.getKey(), g.getValue().asBoolean());
                    }
                    values.put(path, Map.copyOf(map));
                }
                case ANY -> values.put(path, v.toString());
            }
        }
    }

    private static Object parseDuration(Path file, String path, String text) {
        try {
            return GoDuration.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("config file " + file + ": field " + path + ": \"" + text + "\": " + e.getMessage());
        }
    }

    private static ConfigException typeError(Path file, String path, String want, JsonNode got) {
        return new ConfigException("config file " + file + ": field " + path + ": " + got + ": want " + want);
    }
}
