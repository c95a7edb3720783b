package io.switchboard.app;

import io.switchboard.app.config.ConfigException;
import io.switchboard.app.config.ConfigValidator;
import io.switchboard.app.config.RawConfig;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.IpFamily;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code switchboard node-setup --config FILE}: applies the kernel settings the configuration
 * needs and then exits, so that the proxy container itself needs no more than NET_ADMIN and NET_RAW
 * (a non-privileged container sees {@code /proc/sys} read-only). The chart runs it as a short
 * privileged init container.
 */
@Command(name = "node-setup", description = "Apply the sysctls the configuration needs (route_localnet, conntrack), then exit.")
public final class NodeSetupCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "KubeProxyConfiguration file")
    Path config;
    @Option(names = "--proc-sys", hidden = true, description = "root of the sysctl tree (tests)")
    Path procSys = Path.of("/proc/sys");

    /** The sysctls a configuration needs, path under /proc/sys → value; pure. */
    static Map<String, String> plan(ProxyConfig c, int cpus) {
        Map<String, String> out = new LinkedHashMap<>();
        boolean v4 = ConfigValidator.families(c).contains(IpFamily.IPV4);
        if (c.mode().equals("iptables") && v4 && c.iptables().localhostNodePorts() && c.nodePortAddresses().isEmpty()) {
            out.put("net/ipv4/conf/all/route_localnet", "1");
        }
        ProxyConfig.Conntrack ct = c.conntrack();
        if (ct.maxPerCore() != null && ct.maxPerCore() > 0) {
            long max = Math.max((long) ct.maxPerCore() * cpus, ct.min() == null ? 0 : ct.min());
            out.put("net/netfilter/nf_conntrack_max", String.valueOf(max));
        }
        seconds(out, "net/netfilter/nf_conntrack_tcp_timeout_established", ct.tcpEstablishedTimeout());
        seconds(out, "net/netfilter/nf_conntrack_tcp_timeout_close_wait", ct.tcpCloseWaitTimeout());
        seconds(out, "net/netfilter/nf_conntrack_udp_timeout", ct.udpTimeout());
        seconds(out, "net/netfilter/nf_conntrack_udp_timeout_stream", ct.udpStreamTimeout());
        return out;
    }

    private static void seconds(Map<String, String> out, String key, Duration d) {
        if (d != null && !d.isZero()) {
            out.put(key, String.valueOf(d.toSeconds()));
        }
    }

    @Override
    public Integer call() {
        ProxyConfig c;
        try {
            c = ConfigValidator.validate(RawConfig.readFile(config));
        } catch (ConfigException e) {
            System.err.println("switchboard node-setup: " + e.getMessage());
            return 1;
        }
        int failed = 0;
        // route_localnet is what localhost NodePorts need: failing to set it fails the setup. The
        // conntrack settings are best effort, as with kube-proxy: outside the host's initial network
        // namespace some are read-only, and the kernel's values then stay.
        for (Map.Entry<String, String> e : plan(c, Runtime.getRuntime().availableProcessors()).entrySet()) {
            Path p = procSys.resolve(e.getKey());
            try {
                String now = Files.readString(p).strip();
                if (!now.equals(e.getValue())) {
                    Files.writeString(p, e.getValue());
                }
                System.out.println("node-setup: " + e.getKey().replace('/', '.') + " = " + e.getValue() + (now.equals(e.getValue()) ? " (already)" : ""));
            } catch (IOException ex) {
                boolean required = e.getKey().startsWith("net/ipv4/conf/");
                failed += required ? 1 : 0;
                System.err.println("node-setup: " + (required ? "cannot set " : "leaving the kernel's value of ")
                        + e.getKey().replace('/', '.') + " (wanted " + e.getValue() + "): " + ex);
            }
        }
        return failed == 0 ? 0 : 1;
    }
}
