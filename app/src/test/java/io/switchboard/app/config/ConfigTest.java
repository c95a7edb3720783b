package io.switchboard.app.config;

import io.switchboard.app.SwitchboardCommand;
import io.switchboard.core.config.ProxyConfig;
import io.switchboard.core.model.IpFamily;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigTest {

    static Path file(String name) {
        try {
            return Path.of(ConfigTest.class.getResource("/config/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static ProxyConfig fromArgs(String... args) {
        SwitchboardCommand cmd = new SwitchboardCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd.effectiveConfig();
    }

    @Test
    void defaultsMatchKubeProxy() {
        ProxyConfig c = fromArgs();
        assertThat(c.mode()).isEqualTo("iptables");
        assertThat(c.healthzBindAddress()).isEqualTo("0.0.0.0:10256");
        assertThat(c.metricsBindAddress()).isEqualTo("127.0.0.1:10249");
        assertThat(c.iptables().masqueradeBit()).isEqualTo(14);
        assertThat(c.iptables().syncPeriod()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.iptables().minSyncPeriod()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.iptables().localhostNodePorts()).isTrue();
        assertThat(c.ipvs().scheduler()).isEqualTo("rr");
        assertThat(c.configSyncPeriod()).isEqualTo(Duration.ofMinutes(15));
        assertThat(c.conntrack().maxPerCore()).isEqualTo(32768);
        assertThat(c.oomScoreAdj()).isEqualTo(-999);
        assertThat(c.detectLocalMode()).isEqualTo(ProxyConfig.DetectLocalMode.CLUSTER_CIDR);
    }

    @Test
    void fullFileIsRead() {
        ProxyConfig c = fromArgs("--config", file("full.yaml").toString());
        assertThat(c.clientConnection().kubeconfig()).isEqualTo("/var/lib/kube-proxy/kubeconfig.conf");
        assertThat(c.clientConnection().qps()).isEqualTo(50f);
        assertThat(c.hostnameOverride()).isEqualTo("node-a");
        assertThat(c.clusterCidrs()).extracting(Object::toString).containsExactly("10.244.0.0/16", "fd00:10:244::/56");
        assertThat(ConfigValidator.families(c)).containsExactlyInAnyOrder(IpFamily.IPV4, IpFamily.IPV6);
        assertThat(c.nodePortAddresses()).containsExactly("192.168.0.0/16");
        assertThat(c.iptables().masqueradeAll()).isTrue();
        assertThat(c.iptables().masqueradeBit()).isEqualTo(15);
        assertThat(c.iptables().localhostNodePorts()).isFalse();
        assertThat(c.iptables().syncPeriod()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.iptables().minSyncPeriod()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.ipvs().scheduler()).isEqualTo("wrr");
        assertThat(c.ipvs().strictArp()).isTrue();
        assertThat(c.conntrack().tcpEstablishedTimeout()).isEqualTo(Duration.ofHours(12));
        assertThat(c.configSyncPeriod()).isEqualTo(Duration.ofMinutes(10));
        assertThat(c.featureGates()).containsEntry("SomeGate", true);
        assertThat(c.logging().verbosity()).isEqualTo(3);
        assertThat(c.logging().format()).isEqualTo("json");
    }

    @Test
    void fileWinsOverFlagsExceptTheOverrides() {
        ProxyConfig c = fromArgs("--config", file("full.yaml").toString(), "--iptables-masquerade-bit", "3",
                "--proxy-mode", "ipvs", "--hostname-override", "Node-B", "--v", "5");
        assertThat(c.iptables().masqueradeBit()).isEqualTo(15);
        assertThat(c.mode()).isEqualTo("iptables");
        assertThat(c.hostnameOverride()).isEqualTo("Node-B");
        assertThat(c.logging().verbosity()).isEqualTo(5);
    }

    @Test
    void flagsWithoutFile() {
        ProxyConfig c = fromArgs("--proxy-mode=ipvs", "--ipvs-scheduler", "sh", "--masquerade-all",
                "--iptables-sync-period", "2m", "--nodeport-addresses", "10.0.0.0/8,192.168.1.0/24",
                "--cluster-cidr", "10.244.0.0/16", "--feature-gates", "A=true,B=false", "-v", "2");
        assertThat(c.mode()).isEqualTo("ipvs");
        assertThat(c.ipvs().scheduler()).isEqualTo("sh");
        assertThat(c.iptables().masqueradeAll()).isTrue();
        assertThat(c.iptables().syncPeriod()).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.nodePortAddresses()).isEqualTo(List.of("10.0.0.0/8", "192.168.1.0/24"));
        assertThat(c.featureGates()).containsEntry("A", true).containsEntry("B", false);
        assertThat(c.logging().verbosity()).isEqualTo(2);
        assertThat(ConfigValidator.families(c)).containsExactly(IpFamily.IPV4);
    }

    @Test
    void userspaceSettingsComeFromFlagsWithKubeProxysDefaults() {
        assertThat(fromArgs().userspace()).isEqualTo(new ProxyConfig.Userspace(0, 0, Duration.ofMillis(250)));
        ProxyConfig c = fromArgs("--proxy-mode=userspace", "--proxy-port-range", "30000+100", "--udp-timeout", "2s");
        assertThat(c.userspace()).isEqualTo(new ProxyConfig.Userspace(30000, 30100, Duration.ofSeconds(2)));
        assertThat(fromArgs("--proxy-port-range=40000-40010").userspace().portMax()).isEqualTo(40010);
    }

    @Test
    void primaryFamilyInDualStackFollowsBindAddressThenTheFirstClusterCidr() {
        assertThat(ConfigValidator.primaryFamily(fromArgs("--cluster-cidr", "10.244.0.0/16,fd00:10:244::/48")))
                .isEqualTo(IpFamily.IPV4);
        assertThat(ConfigValidator.primaryFamily(fromArgs("--cluster-cidr", "fd00:10:244::/48,10.244.0.0/16")))
                .isEqualTo(IpFamily.IPV6);
        assertThat(ConfigValidator.primaryFamily(fromArgs("--cluster-cidr", "10.244.0.0/16,fd00:10:244::/48",
                "--bind-address", "fd00::2"))).isEqualTo(IpFamily.IPV6);
        assertThat(ConfigValidator.primaryFamily(fromArgs())).isEqualTo(IpFamily.IPV4);
    }

    @Test
    void unknownFieldsWarn() {
        RawConfig raw = RawConfig.readFile(file("unknown-field.yaml"));
        assertThat(raw.warnings()).hasSize(2);
        assertThat(raw.warnings().get(0)).contains("iptables.frobnicate");
        assertThat(raw.warnings().get(1)).contains("someNewTopLevel");
        assertThat(ConfigValidator.validate(raw).iptables().syncPeriod()).isEqualTo(Duration.ofSeconds(30));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "wrong-kind.yaml|field apiVersion: \"kubelet.config.k8s.io/v1beta1\"",
            "bad-duration.yaml|field iptables.syncPeriod: \"thirty seconds\"",
            "bad-type.yaml|field iptables.masqueradeBit: \"fourteen\": want an integer",
            "bad-value.yaml|ipvs.scheduler: \"fastest\"",
            "not-yaml.yaml|cannot read",
    })
    void badFilesNameTheField(String name, String message) {
        assertThatThrownBy(() -> fromArgs("--config", file(name).toString()))
                .isInstanceOf(ConfigException.class).hasMessageContaining(message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--iptables-masquerade-bit=40|iptables.masqueradeBit: \"40\": must be within [0, 31]",
            "--iptables-sync-period=0s|iptables.syncPeriod: \"0s\": must be greater than 0",
            "--iptables-sync-period=nope|--iptables-sync-period: \"nope\"",
            "--iptables-min-sync-period=2m|iptables.minSyncPeriod: \"2m0s\": must not be greater than iptables.syncPeriod",
            "--cluster-cidr=10.0.0.0/40|clusterCIDR: \"10.0.0.0/40\"",
            "--cluster-cidr=10.0.0.0/8,10.1.0.0/16|at most one CIDR per IP family",
            "--healthz-bind-address=localhost:10256|healthzBindAddress: \"localhost:10256\"",
            "--metrics-bind-address=127.0.0.1:99999|metricsBindAddress: \"127.0.0.1:99999\"",
            "--detect-local-mode=Magic|detectLocalMode: \"Magic\"",
            "--detect-local-mode=BridgeInterface|detectLocal.bridgeInterface",
            "--nodeport-addresses=primary,10.0.0.0/8|nodePortAddresses",
            "--proxy-mode=kernelspace|mode: \"kernelspace\"",
            "--oom-score-adj=5000|oomScoreAdj: \"5000\"",
            "--ipvs-scheduler=fastest|ipvs.scheduler: \"fastest\"",
            "--logging-format=xml|logging.format: \"xml\"",
            "--feature-gates=A=maybe|--feature-gates: \"A=maybe\"",
            "--proxy-port-range=9000-8000|portRange: \"9000-8000\"",
            "--proxy-port-range=lots|portRange: \"lots\": want begin-end or begin+offset",
            "--proxy-port-range=65000+1000|portRange: \"65000+1000\": ports must be within [1, 65535]",
            "--udp-timeout=0s|udpIdleTimeout: \"0s\": must be greater than 0",
    })
    void badFlagsNameTheField(String arg, String message) {
        assertThatThrownBy(() -> fromArgs(arg)).isInstanceOf(ConfigException.class).hasMessageContaining(message);
    }

    @ParameterizedTest
    @CsvSource({"30s,PT30S", "1m0s,PT1M", "1h2m3.5s,PT1H2M3.5S", "500ms,PT0.5S", "0,PT0S", "-5s,PT-5S", "1.5h,PT1H30M"})
    void goDurations(String text, String iso) {
        assertThat(GoDuration.parse(text)).isEqualTo(Duration.parse(iso));
    }

    @Test
    void goDurationFormat() {
        assertThat(GoDuration.format(Duration.ofSeconds(30))).isEqualTo("30s");
        assertThat(GoDuration.format(Duration.ofMinutes(1))).isEqualTo("1m0s");
        assertThat(GoDuration.format(Duration.ofHours(24))).isEqualTo("24h0m0s");
        assertThat(GoDuration.format(Duration.ofMillis(500))).isEqualTo("500ms");
        assertThat(GoDuration.format(Duration.ofMillis(1500))).isEqualTo("1.5s");
        assertThatThrownBy(() -> GoDuration.parse("5 s")).hasMessageContaining("invalid duration");
        assertThatThrownBy(() -> GoDuration.parse("5")).hasMessageContaining("invalid duration");
    }
}
