package io.switchboard.app;

import io.switchboard.app.config.ConfigException;
import io.switchboard.app.config.ConfigValidator;
import io.switchboard.app.config.GoDuration;
import io.switchboard.app.config.RawConfig;
import io.switchboard.app.logging.LoggingSetup;
import io.switchboard.core.config.ProxyConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code switchboard}: kube-proxy's command line. With {@code --config}, the file is the
 * configuration and the other configuration flags are ignored (as in kube-proxy), except
 * {@code --hostname-override}, {@code --v} and {@code --logging-format}; {@code --master} always
 * applies.
 */
@Command(name = "switchboard", sortOptions = false, usageHelpAutoWidth = true, subcommands = {DemoCommand.class, NodeSetupCommand.class, io.switchboard.app.inspect.InspectCommands.Explain.class, io.switchboard.app.inspect.InspectCommands.Services.class},
        description = "Switchboard makes Kubernetes Service virtual IPs work on this node: a drop-in replacement "
                + "for kube-proxy that takes the same flags and KubeProxyConfiguration file.")
public final class SwitchboardCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(SwitchboardCommand.class);

    @Option(names = "--config", paramLabel = "FILE", description = "KubeProxyConfiguration file (kubeproxy.config.k8s.io/v1alpha1)")
    Path config;
    @Option(names = "--kubeconfig", paramLabel = "FILE", description = "kubeconfig with the API server and credentials")
    String kubeconfig;
    @Option(names = "--master", description = "API server address (overrides the kubeconfig)")
    String master = "";
    @Option(names = "--proxy-mode", description = "iptables (default), ipvs, userspace or nftables")
    String proxyMode;
    @Option(names = "--hostname-override", description = "name of this node, instead of the host name")
    String hostnameOverride;
    @Option(names = "--bind-address", description = "IP address of the node's primary family")
    String bindAddress;
    @Option(names = "--cluster-cidr", description = "pod CIDR(s) of the cluster, comma separated (one per family)")
    String clusterCidr;
    @Option(names = "--masquerade-all", arity = "0..1", fallbackValue = "true", description = "SNAT all traffic sent to service IPs")
    Boolean masqueradeAll;
    @Option(names = "--iptables-masquerade-bit", description = "fwmark bit for masquerading (0-31, default 14)")
    Integer masqueradeBit;
    @Option(names = "--iptables-sync-period", description = "maximum interval between full rule syncs (e.g. 30s)")
    String iptablesSyncPeriod;
    @Option(names = "--iptables-min-sync-period", description = "minimum interval between rule syncs (e.g. 1s)")
    String iptablesMinSyncPeriod;
    @Option(names = "--iptables-localhost-nodeports", arity = "0..1", fallbackValue = "true",
            description = "accept NodePort traffic to localhost (IPv4 only)")
    Boolean localhostNodePorts;
    @Option(names = "--ipvs-scheduler", description = "IPVS scheduler (rr, wrr, lc, wlc, sh, dh, sed, nq, mh)")
    String ipvsScheduler;
    @Option(names = "--ipvs-sync-period", description = "maximum interval between IPVS syncs")
    String ipvsSyncPeriod;
    @Option(names = "--ipvs-min-sync-period", description = "minimum interval between IPVS syncs")
    String ipvsMinSyncPeriod;
    @Option(names = "--ipvs-strict-arp", arity = "0..1", fallbackValue = "true", description = "set arp_ignore=1 and arp_announce=2")
    Boolean ipvsStrictArp;
    @Option(names = "--ipvs-tcp-timeout", description = "IPVS timeout of idle TCP connections (0: leave the kernel's)")
    String ipvsTcpTimeout;
    @Option(names = "--ipvs-tcpfin-timeout", description = "IPVS timeout of TCP connections after a FIN (0: leave the kernel's)")
    String ipvsTcpFinTimeout;
    @Option(names = "--ipvs-udp-timeout", description = "IPVS timeout of UDP flows (0: leave the kernel's)")
    String ipvsUdpTimeout;
    @Option(names = "--ipvs-exclude-cidrs", split = ",", description = "CIDRs IPVS cleanup must not touch")
    List<String> ipvsExcludeCidrs;
    @Option(names = "--nodeport-addresses", split = ",", description = "CIDRs or \"primary\": node addresses that accept NodePorts")
    List<String> nodePortAddresses;
    @Option(names = "--metrics-bind-address", description = "ip:port of the metrics server (default 127.0.0.1:10249)")
    String metricsBindAddress;
    @Option(names = "--healthz-bind-address", description = "ip:port of the health server (default 0.0.0.0:10256)")
    String healthzBindAddress;
    @Option(names = "--detect-local-mode", description = "ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix")
    String detectLocalMode;
    @Option(names = "--pod-bridge-interface", description = "bridge interface for --detect-local-mode=BridgeInterface")
    String podBridgeInterface;
    @Option(names = "--pod-interface-name-prefix", description = "prefix for --detect-local-mode=InterfaceNamePrefix")
    String podInterfaceNamePrefix;
    @Option(names = "--config-sync-period", description = "informer resync period (default 15m0s)")
    String configSyncPeriod;
    @Option(names = "--proxy-port-range", description = "userspace mode: host ports for the proxy, begin-end or begin+offset (default: the kernel's choice)")
    String proxyPortRange;
    @Option(names = "--udp-timeout", description = "userspace mode: idle time after which a UDP session ends (default 250ms)")
    String udpTimeout;
    @Option(names = "--oom-score-adj", description = "OOM score adjustment (-1000..1000)")
    Integer oomScoreAdj;
    @Option(names = "--conntrack-max-per-core", description = "conntrack entries per CPU")
    Integer conntrackMaxPerCore;
    @Option(names = "--conntrack-min", description = "minimum conntrack entries")
    Integer conntrackMin;
    @Option(names = "--conntrack-tcp-timeout-established", description = "TCP established idle timeout")
    String conntrackTcpEstablished;
    @Option(names = "--conntrack-tcp-timeout-close-wait", description = "TCP CLOSE_WAIT timeout")
    String conntrackTcpCloseWait;
    @Option(names = "--kube-api-qps", description = "API requests per second")
    Double kubeApiQps;
    @Option(names = "--kube-api-burst", description = "API request burst")
    Integer kubeApiBurst;
    @Option(names = "--kube-api-content-type", description = "content type of API requests (JSON is always used)")
    String kubeApiContentType;
    @Option(names = "--feature-gates", split = ",", description = "key=true|false pairs")
    Map<String, String> featureGates;
    @Option(names = "--cleanup", description = "remove every rule the proxy wrote, then exit")
    boolean cleanup;
    @Option(names = {"--v", "-v"}, paramLabel = "LEVEL", description = "log verbosity (0: info; 2: debug; 4: trace)")
    Integer verbosity;
    @Option(names = "--logging-format", description = "text (klog style, default) or json")
    String loggingFormat;
    @Option(names = "--version", description = "print the version and exit")
    boolean version;
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
    boolean help;

    /** Set by {@link #call()} once the proxy runs; tests stop it through {@link #stop()}. */
    private final CountDownLatch stopped = new CountDownLatch(1);

    /** Builds the effective configuration: defaults, then the file or the flags, then the overrides. */
    public ProxyConfig effectiveConfig() {
        RawConfig raw;
        if (config != null) {
            raw = RawConfig.readFile(config);
            raw.warnings().forEach(w -> LOG.warn("{}", w));
        } else {
            raw = new RawConfig();
            applyFlags(raw);
        }
        if (hostnameOverride != null) {
            raw.set("hostnameOverride", hostnameOverride);
        }
        if (verbosity != null) {
            raw.set("logging.verbosity", verbosity);
        }
        if (loggingFormat != null) {
            raw.set("logging.format", loggingFormat);
        }
        return ConfigValidator.validate(raw);
    }

    private void applyFlags(RawConfig raw) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("clientConnection.kubeconfig", kubeconfig);
        m.put("mode", proxyMode);
        m.put("bindAddress", bindAddress);
        m.put("clusterCIDR", clusterCidr);
        m.put("iptables.masqueradeAll", masqueradeAll);
        m.put("iptables.masqueradeBit", masqueradeBit);
        m.put("iptables.syncPeriod", duration("--iptables-sync-period", iptablesSyncPeriod));
        m.put("iptables.minSyncPeriod", duration("--iptables-min-sync-period", iptablesMinSyncPeriod));
        m.put("iptables.localhostNodePorts", localhostNodePorts);
        // as with kube-proxy, the iptables flags also configure the nftables mode
        m.put("nftables.masqueradeAll", masqueradeAll);
        m.put("nftables.masqueradeBit", masqueradeBit);
        m.put("nftables.syncPeriod", duration("--iptables-sync-period", iptablesSyncPeriod));
        m.put("nftables.minSyncPeriod", duration("--iptables-min-sync-period", iptablesMinSyncPeriod));
        m.put("ipvs.scheduler", ipvsScheduler);
        m.put("ipvs.syncPeriod", duration("--ipvs-sync-period", ipvsSyncPeriod));
        m.put("ipvs.minSyncPeriod", duration("--ipvs-min-sync-period", ipvsMinSyncPeriod));
        m.put("ipvs.strictARP", ipvsStrictArp);
        m.put("ipvs.tcpTimeout", duration("--ipvs-tcp-timeout", ipvsTcpTimeout));
        m.put("ipvs.tcpFinTimeout", duration("--ipvs-tcpfin-timeout", ipvsTcpFinTimeout));
        m.put("ipvs.udpTimeout", duration("--ipvs-udp-timeout", ipvsUdpTimeout));
        m.put("ipvs.excludeCIDRs", ipvsExcludeCidrs == null ? null : List.copyOf(ipvsExcludeCidrs));
        m.put("nodePortAddresses", nodePortAddresses == null ? null : List.copyOf(nodePortAddresses));
        m.put("metricsBindAddress", metricsBindAddress);
        m.put("healthzBindAddress", healthzBindAddress);
        m.put("detectLocalMode", detectLocalMode);
        m.put("detectLocal.bridgeInterface", podBridgeInterface);
        m.put("detectLocal.interfaceNamePrefix", podInterfaceNamePrefix);
        m.put("configSyncPeriod", duration("--config-sync-period", configSyncPeriod));
        m.put("oomScoreAdj", oomScoreAdj);
        m.put("portRange", proxyPortRange);
        m.put("udpIdleTimeout", duration("--udp-timeout", udpTimeout));
        m.put("conntrack.maxPerCore", conntrackMaxPerCore);
        m.put("conntrack.min", conntrackMin);
        m.put("conntrack.tcpEstablishedTimeout", duration("--conntrack-tcp-timeout-established", conntrackTcpEstablished));
        m.put("conntrack.tcpCloseWaitTimeout", duration("--conntrack-tcp-timeout-close-wait", conntrackTcpCloseWait));
        m.put("clientConnection.qps", kubeApiQps);
        m.put("clientConnection.burst", kubeApiBurst);
        m.put("clientConnection.contentType", kubeApiContentType);
        if (featureGates != null) {
            Map<String, Boolean> gates = new LinkedHashMap<>();
            featureGates.forEach((k, v) -> {
                if (!v.equals("true") && !v.equals("false")) {
                    throw new ConfigException("invalid value for --feature-gates: \"" + k + "=" + v + "\": want true or false");
                }
                gates.put(k, Boolean.parseBoolean(v));
            });
            m.put("featureGates", Map.copyOf(gates));
        }
        m.forEach((k, v) -> {
            if (v != null) {
                raw.set(k, v);
            }
        });
    }

    private static java.time.Duration duration(String flag, String text) {
        if (text == null) {
            return null;
        }
        try {
            return GoDuration.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("invalid value for " + flag + ": \"" + text + "\": " + e.getMessage());
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec == null ? new PrintWriter(System.out, true) : spec.commandLine().getOut();
        PrintWriter err = spec == null ? new PrintWriter(System.err, true) : spec.commandLine().getErr();
        if (version) {
            out.println("switchboard " + Main.version());
            out.flush();
            return 0;
        }
        ProxyConfig cfg;
        try {
            cfg = effectiveConfig();
        } catch (ConfigException e) {
            err.println("switchboard: " + e.getMessage());
            err.flush();
            return 1;
        }
        LoggingSetup.configure(cfg.logging().verbosity(), cfg.logging().format());
        if (cleanup) {
            return ProxyServer.cleanup(cfg);
        }
        ProxyServer server;
        try {
            server = ProxyServer.start(cfg, master, true);
        } catch (ProxyServer.ModeUnavailableException e) {
            err.println("switchboard: " + e.getMessage());
            err.flush();
            LOG.error("{}", e.getMessage());
            return 1;
        }
        Thread hook = new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        stopped.await();
        return 0;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
}
