package io.switchboard.app.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.Cidr;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code /configz}: the running configuration as kube-proxy serves it, under the
 * {@code kubeproxy.config.k8s.io} key with KubeProxyConfiguration's field names and Go durations.
 */
public final class Configz {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Configz() {
    }

    public static String json(ProxyConfig c) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("bindAddress", c.bindAddress());
        k.put("clientConnection", map("kubeconfig", c.clientConnection().kubeconfig(), "contentType",
                c.clientConnection().contentType(), "qps", c.clientConnection().qps(), "burst", c.clientConnection().burst()));
        k.put("clusterCIDR", String.join(",", c.clusterCidrs().stream().map(Cidr::toString).toList()));
        k.put("configSyncPeriod", d(c.configSyncPeriod()));
        k.put("conntrack", map("maxPerCore", c.conntrack().maxPerCore(), "min", c.conntrack().min(),
                "tcpEstablishedTimeout", d(c.conntrack().tcpEstablishedTimeout()), "tcpCloseWaitTimeout",
                d(c.conntrack().tcpCloseWaitTimeout()), "udpTimeout", d(c.conntrack().udpTimeout()), "udpStreamTimeout",
                d(c.conntrack().udpStreamTimeout())));
        k.put("detectLocalMode", c.detectLocalMode().configName());
        k.put("detectLocal", map("bridgeInterface", c.detectLocal().bridgeInterface(), "interfaceNamePrefix",
                c.detectLocal().interfaceNamePrefix()));
        k.put("featureGates", c.featureGates());
        k.put("healthzBindAddress", c.healthzBindAddress());
        k.put("hostnameOverride", c.hostnameOverride());
        k.put("iptables", map("masqueradeAll", c.iptables().masqueradeAll(), "masqueradeBit", c.iptables().masqueradeBit(),
                "localhostNodePorts", c.iptables().localhostNodePorts(), "syncPeriod", d(c.iptables().syncPeriod()),
                "minSyncPeriod", d(c.iptables().minSyncPeriod())));
        k.put("ipvs", map("scheduler", c.ipvs().scheduler(), "excludeCIDRs", c.ipvs().excludeCidrs().stream().map(Cidr::toString).toList(),
                "strictARP", c.ipvs().strictArp(), "tcpTimeout", d(c.ipvs().tcpTimeout()), "tcpFinTimeout", d(c.ipvs().tcpFinTimeout()),
                "udpTimeout", d(c.ipvs().udpTimeout()), "syncPeriod", d(c.ipvs().syncPeriod()), "minSyncPeriod", d(c.ipvs().minSyncPeriod())));
        k.put("logging", map("format", c.logging().format(), "verbosity", c.logging().verbosity()));
        k.put("metricsBindAddress", c.metricsBindAddress());
        k.put("mode", c.mode());
        k.put("nftables", map("masqueradeAll", c.nftables().masqueradeAll(), "masqueradeBit", c.nftables().masqueradeBit(),
                "syncPeriod", d(c.nftables().syncPeriod()), "minSyncPeriod", d(c.nftables().minSyncPeriod())));
        k.put("nodePortAddresses", c.nodePortAddresses());
        k.put("oomScoreAdj", c.oomScoreAdj());
        ProxyConfig.Userspace u = c.userspace();
        k.put("portRange", u.portMin() == 0 ? "" : u.portMin() + "-" + u.portMax());
        k.put("udpIdleTimeout", d(u.udpIdleTimeout()));
        try {
            return JSON.writeValueAsString(Map.of("kubeproxy.config.k8s.io", k)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String d(Duration x) {
        return x == null ? null : GoDuration.format(x);
    }

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }
}
