package io.switchboard.app;

import io.switchboard.app.config.Configz;
import io.switchboard.app.config.ConfigValidator;
import io.switchboard.app.config.RawConfig;
import io.switchboard.core.config.ProxyConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ConfigzAndOomTest {
    @Test
    void configzServesTheRunningConfigurationWithKubeProxysNamesAndReadsBackTheSame(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("c.conf");
        Files.writeString(file, String.join("\n", "apiVersion: kubeproxy.config.k8s.io/v1alpha1", "kind: KubeProxyConfiguration",
                "mode: userspace", "clusterCIDR: 10.244.0.0/16,fd00:10:244::/48", "portRange: 30000-30100", "iptables:",
                "  syncPeriod: 1m30s", ""));
        ProxyConfig c = ConfigValidator.validate(RawConfig.readFile(file));
        String json = Configz.json(c);
        assertThat(json).contains("\"kubeproxy.config.k8s.io\"", "\"mode\" : \"userspace\"",
                "\"clusterCIDR\" : \"10.244.0.0/16,fd00:10:244::/48\"", "\"syncPeriod\" : \"1m30s\"", "\"portRange\" : \"30000-30100\"",
                "\"udpIdleTimeout\" : \"250ms\"", "\"maxPerCore\" : 32768");
        // the body, unwrapped and read as a configuration file, is the same configuration
        Path back = dir.resolve("back.json");
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json).path("kubeproxy.config.k8s.io");
        ((com.fasterxml.jackson.databind.node.ObjectNode) tree).put("apiVersion", "kubeproxy.config.k8s.io/v1alpha1")
                .put("kind", "KubeProxyConfiguration");
        Files.writeString(back, tree.toString());
        assertThat(ConfigValidator.validate(RawConfig.readFile(back))).isEqualTo(c);
    }

    @Test
    void oomScoreIsWrittenAndAFailureIsNotFatal(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("oom_score_adj");
        Files.writeString(f, "0\n");
        assertThat(OomScore.apply(f, -999)).isTrue();
        assertThat(Files.readString(f)).isEqualTo("-999");
        assertThat(OomScore.apply(dir.resolve("missing/oom_score_adj"), -999)).isFalse();
        assertThat(OomScore.apply(f, null)).isFalse();
    }
}
