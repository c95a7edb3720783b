package io.switchboard.core.config;

import io.switchboard.core.model.Cidr;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The validated configuration: kube-proxy's {@code KubeProxyConfiguration}
 * ({@code kubeproxy.config.k8s.io/v1alpha1}) as one immutable record tree. Built by the app's
 * config loader from defaults, the file and flags; every value here has passed validation.
 */
public record ProxyConfig(
        String mode,
        ClientConnection clientConnection,
        String hostnameOverride,
        String bindAddress,
        String healthzBindAddress,
        String metricsBindAddress,
        List<Cidr> clusterCidrs,
        DetectLocalMode detectLocalMode,
        DetectLocal detectLocal,
        List<String> nodePortAddresses,
        Iptables iptables,
        Ipvs ipvs,
        Nftables nftables,
        Conntrack conntrack,
        Duration configSyncPeriod,
        Integer oomScoreAdj,
        Map<String, Boolean> featureGates,
        Logging logging,
        Userspace userspace) {

    public ProxyConfig {
        clusterCidrs = List.copyOf(clusterCidrs);
        nodePortAddresses = List.copyOf(nodePortAddresses);
        featureGates = Map.copyOf(featureGates);
        userspace = userspace == null ? Userspace.DEFAULT : userspace;
    }

    /** Without the userspace mode's settings (their defaults apply). */
    public ProxyConfig(String mode, ClientConnection clientConnection, String hostnameOverride, String bindAddress,
                       String healthzBindAddress, String metricsBindAddress, List<Cidr> clusterCidrs,
                       DetectLocalMode detectLocalMode, DetectLocal detectLocal, List<String> nodePortAddresses,
                       Iptables iptables, Ipvs ipvs, Nftables nftables, Conntrack conntrack, Duration configSyncPeriod,
                       Integer oomScoreAdj, Map<String, Boolean> featureGates, Logging logging) {
        this(mode, clientConnection, hostnameOverride, bindAddress, healthzBindAddress, metricsBindAddress, clusterCidrs,
                detectLocalMode, detectLocal, nodePortAddresses, iptables, ipvs, nftables, conntrack, configSyncPeriod,
                oomScoreAdj, featureGates, logging, Userspace.DEFAULT);
    }

    /** The sync period of the chosen mode (drives the health timeout and the runner). */
    public Duration syncPeriod() {
        return switch (mode) {
            case "ipvs" -> ipvs.syncPeriod();
            case "nftables" -> nftables.syncPeriod();
            default -> iptables.syncPeriod();
        };
    }

    /** The minimum sync period of the chosen mode. */
    public Duration minSyncPeriod() {
        return switch (mode) {
            case "ipvs" -> ipvs.minSyncPeriod();
            case "nftables" -> nftables.minSyncPeriod();
            default -> iptables.minSyncPeriod();
        };
    }

    /** {@code clientConnection}. */
    public record ClientConnection(String kubeconfig, String master, String contentType, float qps, int burst) {
    }

    /** How traffic is recognised as coming from inside the cluster. */
    public enum DetectLocalMode {
        CLUSTER_CIDR("ClusterCIDR"), NODE_CIDR("NodeCIDR"), BRIDGE_INTERFACE("BridgeInterface"),
        INTERFACE_NAME_PREFIX("InterfaceNamePrefix");

        private final String configName;

        DetectLocalMode(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }

        /** Parses the config file's spelling; empty means ClusterCIDR. */
        public static DetectLocalMode parse(String s) {
            if (s == null || s.isEmpty()) {
                return CLUSTER_CIDR;
            }
            for (DetectLocalMode m : values()) {
                if (m.configName.equals(s)) {
                    return m;
                }
            }
            throw new IllegalArgumentException(s);
        }
    }

    /** {@code detectLocal}. */
    public record DetectLocal(String bridgeInterface, String interfaceNamePrefix) {
    }

    /** {@code iptables}. */
    public record Iptables(Integer masqueradeBit, boolean masqueradeAll, boolean localhostNodePorts,
                           Duration syncPeriod, Duration minSyncPeriod) {
    }

    /** {@code ipvs}. */
    public record Ipvs(String scheduler, List<Cidr> excludeCidrs, boolean strictArp, Duration tcpTimeout,
                       Duration tcpFinTimeout, Duration udpTimeout, Duration syncPeriod, Duration minSyncPeriod) {
        public Ipvs {
            excludeCidrs = List.copyOf(excludeCidrs);
        }
    }

    /** {@code nftables}. */
    public record Nftables(Integer masqueradeBit, boolean masqueradeAll, Duration syncPeriod, Duration minSyncPeriod) {
    }

    /** {@code conntrack}: null fields leave the kernel's value alone. */
    public record Conntrack(Integer maxPerCore, Integer min, Duration tcpEstablishedTimeout,
                            Duration tcpCloseWaitTimeout, Duration udpTimeout, Duration udpStreamTimeout) {
    }

    /** {@code logging}: klog verbosity and the output format ({@code text} or {@code json}). */
    public record Logging(int verbosity, String format) {
    }

    /**
     * The userspace mode: {@code portRange} (proxy ports from {@code portMin} to {@code portMax};
     * both 0 = the kernel's choice) and {@code udpIdleTimeout} (a UDP session ends after this long
     * without traffic; kube-proxy's default 250ms).
     */
    public record Userspace(int portMin, int portMax, Duration udpIdleTimeout) {
        public static final Userspace DEFAULT = new Userspace(0, 0, Duration.ofMillis(250));
    }
}
