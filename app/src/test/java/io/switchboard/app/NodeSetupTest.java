package io.switchboard.app;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class NodeSetupTest {
    @Test
    void appliesWhatTheConfigurationNeedsAndNothingElse(@TempDir Path dir) throws Exception {
        Path sys = dir.resolve("sys");
        for (String k : new String[]{"net/ipv4/conf/all/route_localnet", "net/netfilter/nf_conntrack_max",
                "net/netfilter/nf_conntrack_tcp_timeout_established", "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
                "net/netfilter/nf_conntrack_udp_timeout"}) {
            Files.createDirectories(sys.resolve(k).getParent());
            Files.writeString(sys.resolve(k), "0\n");
        }
        Path cfg = dir.resolve("config.conf");
        Files.writeString(cfg, String.join("\n", "apiVersion: kubeproxy.config.k8s.io/v1alpha1", "kind: KubeProxyConfiguration",
                "mode: iptables", "clusterCIDR: 10.244.0.0/16", "conntrack:", "  maxPerCore: 1000", "  min: 5000",
                "  tcpEstablishedTimeout: 2h0m0s", ""));
        int rc = Main.execute("node-setup", "--config", cfg.toString(), "--proc-sys", sys.toString());
        assertThat(rc).isZero();
        assertThat(Files.readString(sys.resolve("net/ipv4/conf/all/route_localnet"))).isEqualTo("1");
        assertThat(Files.readString(sys.resolve("net/netfilter/nf_conntrack_max")))
                .isEqualTo(String.valueOf(Math.max(1000L * Runtime.getRuntime().availableProcessors(), 5000)));
        assertThat(Files.readString(sys.resolve("net/netfilter/nf_conntrack_tcp_timeout_established"))).isEqualTo("7200");
        assertThat(Files.readString(sys.resolve("net/netfilter/nf_conntrack_udp_timeout"))).isEqualTo("0\n");
        assertThat(Files.readString(sys.resolve("net/netfilter/nf_conntrack_tcp_timeout_close_wait"))).isEqualTo("3600");
        // userspace mode: no route_localnet; a conntrack key that cannot be written is left as it is
        Files.writeString(cfg, String.join("\n", "apiVersion: kubeproxy.config.k8s.io/v1alpha1", "kind: KubeProxyConfiguration",
                "mode: userspace", "conntrack:", "  udpTimeout: 30s", ""));
        Files.writeString(sys.resolve("net/ipv4/conf/all/route_localnet"), "0");
        Files.delete(sys.resolve("net/netfilter/nf_conntrack_udp_timeout"));
        assertThat(Main.execute("node-setup", "--config", cfg.toString(), "--proc-sys", sys.toString())).isZero();
        assertThat(Files.readString(sys.resolve("net/ipv4/conf/all/route_localnet"))).isEqualTo("0");
        // iptables mode: route_localnet that cannot be written fails the setup
        Files.writeString(cfg, String.join("\n", "apiVersion: kubeproxy.config.k8s.io/v1alpha1", "kind: KubeProxyConfiguration",
                "mode: iptables", ""));
        Files.delete(sys.resolve("net/ipv4/conf/all/route_localnet"));
        assertThat(Main.execute("node-setup", "--config", cfg.toString(), "--proc-sys", sys.toString())).isEqualTo(1);
    }
}
