package io.switchboard.charts;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.switchboard.app.config.ConfigValidator;
import io.switchboard.app.config.RawConfig;
import io.switchboard.core.config.ProxyConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The chart, linted and rendered offline with helm-java; rendered objects parsed as fabric8 types. */
class ChartTest {
    static final Path CHART = Path.of(System.getProperty("switchboard.repo", "..")).resolve("charts/switchboard");

    static List<HasMetadata> render(String... sets) {
        return ChartRender.render(CHART, sets);
    }

    @SuppressWarnings("unchecked")
    static <T> T one(List<HasMetadata> objs, Class<T> type) {
        return (T) objs.stream().filter(type::isInstance).findFirst().orElseThrow();
    }

    /**
     * One set of JVM defaults, in three places: the launcher, the image (JAVA_TOOL_OPTIONS) and the
     * chart, which renders it into the container's environment.
     */
    @Test
    void jvmDefaultsAreTheSameInLauncherImageAndChart() throws Exception {
        Path repo = CHART.getParent().getParent();
        String launcher = Files.readString(repo.resolve("bin/switchboard")).lines()
                .filter(l -> l.startsWith("defaults=")).findFirst().orElseThrow()
                .replaceFirst("^defaults=\"", "").replaceFirst("\"$", "");
        String pom = Files.readString(repo.resolve("image/pom.xml"));
        String image = pom.substring(pom.indexOf("<switchboard.jvmDefaults>") + "<switchboard.jvmDefaults>".length(),
                pom.indexOf("</switchboard.jvmDefaults>"));
        DaemonSet ds = one(render(), DaemonSet.class);
        var env = ds.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
        String chart = env.stream().filter(e -> e.getName().equals("JAVA_TOOL_OPTIONS")).findFirst().orElseThrow().getValue();
        assertThat(launcher).contains("-XX:+UseSerialGC", "-XX:MaxRAMPercentage=");
        assertThat(image).isEqualTo(launcher);
        assertThat(chart).isEqualTo(launcher);
        assertThat(env).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("MALLOC_ARENA_MAX");
            assertThat(e.getValue()).isEqualTo("2");
        });
        assertThat(pom).contains("<MALLOC_ARENA_MAX>2</MALLOC_ARENA_MAX>");
    }

    @Test
    void lintStrictPasses() {
        LintResult r = new Helm(CHART).lint().strict().call();
        assertThat(r.isFailed()).as(String.join("\n", r.getMessages())).isFalse();
    }

    @Test
    void lintFailsOnBadValues() throws Exception {
        Path copy = Files.createTempDirectory("chart").resolve("switchboard");
        try (var files = Files.walk(CHART)) {
            for (Path p : files.toList()) {
                Path target = copy.resolve(CHART.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        Path values = copy.resolve("values.yaml");
        Files.writeString(values, Files.readString(values).replace("masqueradeBit: 14", "masqueradeBit: 40"));
        LintResult r = new Helm(copy).lint().strict().call();
        assertThat(r.isFailed()).isTrue();
        assertThat(String.join("\n", r.getMessages())).contains("masqueradeBit");
    }

    @Test
    void defaultsRenderAKubeProxyReplacement() throws Exception {
        List<HasMetadata> objs = render();
        Set<String> kinds = objs.stream().map(HasMetadata::getKind).collect(Collectors.toSet());
        assertThat(kinds).contains("DaemonSet", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Service")
                .doesNotContain("ServiceMonitor", "PodMonitor");
        DaemonSet ds = one(objs, DaemonSet.class);
        var pod = ds.getSpec().getTemplate().getSpec();
        assertThat(pod.getHostNetwork()).isTrue();
        assertThat(pod.getPriorityClassName()).isEqualTo("system-node-critical");
        assertThat(pod.getTolerations()).anyMatch(t -> "Exists".equals(t.getOperator()) && t.getKey() == null);
        assertThat(ds.getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable().getIntVal()).isEqualTo(1);
        var c = pod.getContainers().get(0);
        // the default image is the one image/ builds: switchboard:<project version>
        assertThat(c.getImage()).isEqualTo("switchboard:" + System.getProperty("project.version", "0.1.0-SNAPSHOT"));
        assertThat(c.getSecurityContext().getPrivileged()).isFalse();
        assertThat(c.getSecurityContext().getCapabilities().getAdd()).containsExactlyInAnyOrder("NET_ADMIN", "NET_RAW");
        assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/livez");
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        assertThat(c.getReadinessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(10256);
        assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
        assertThat(c.getVolumeMounts()).anyMatch(m -> m.getMountPath().equals("/run/xtables.lock"))
                .anyMatch(m -> m.getMountPath().equals("/lib/modules") && Boolean.TRUE.equals(m.getReadOnly()));
        assertThat(c.getArgs()).contains("--config=/var/lib/switchboard/config.conf");

        ClusterRole role = one(objs, ClusterRole.class);
        assertThat(role.getRules()).allMatch(r -> !r.getVerbs().contains("*") && !r.getResources().contains("*"));
        assertThat(role.getRules().stream().flatMap(r -> r.getVerbs().stream()).collect(Collectors.toSet()))
                .containsExactlyInAnyOrder("get", "list", "watch", "create", "patch");

        // the ConfigMap holds a KubeProxyConfiguration that Switchboard's own loader accepts
        ConfigMap cm = one(objs, ConfigMap.class);
        Path file = Files.createTempFile("kpc", ".yaml");
        Files.writeString(file, cm.getData().get("config.conf"));
        RawConfig raw = RawConfig.readFile(file);
        assertThat(raw.warnings()).isEmpty();
        ProxyConfig cfg = ConfigValidator.validate(raw);
        assertThat(cfg.mode()).isEqualTo("iptables");
        assertThat(cfg.metricsBindAddress()).isEqualTo("0.0.0.0:10249");
    }

    @Test
    void nonDefaultValues() throws Exception {
        List<HasMetadata> objs = render("config.mode=ipvs", "config.ipvs.scheduler=wrr", "config.clusterCIDR=10.244.0.0/16",
                "config.iptables.syncPeriod=1m0s", "metrics.serviceMonitor.enabled=true", "image.tag=9.9.9",
                "config.healthzBindAddress=0.0.0.0:10299");
        DaemonSet ds = one(objs, DaemonSet.class);
        var c = ds.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(c.getImage()).endsWith(":9.9.9");
        assertThat(c.getSecurityContext().getCapabilities().getAdd()).contains("SYS_MODULE");
        assertThat(c.getReadinessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(10299);
        assertThat(objs).anyMatch(o -> o.getKind().equals("ServiceMonitor"));
        ConfigMap cm = one(objs, ConfigMap.class);
        Path file = Files.createTempFile("kpc", ".yaml");
        Files.writeString(file, cm.getData().get("config.conf"));
        ProxyConfig cfg = ConfigValidator.validate(RawConfig.readFile(file));
        assertThat(cfg.mode()).isEqualTo("ipvs");
        assertThat(cfg.ipvs().scheduler()).isEqualTo("wrr");
        assertThat(cfg.clusterCidrs()).extracting(Object::toString).containsExactly("10.244.0.0/16");
        assertThat(cfg.iptables().syncPeriod()).hasSeconds(60);
    }

    @Test
    void sysctlsAreAppliedByAPrivilegedInitContainerAndTheProxyStaysUnprivileged() {
        DaemonSet ds = one(render(), DaemonSet.class);
        var init = ds.getSpec().getTemplate().getSpec().getInitContainers();
        assertThat(init).hasSize(1);
        assertThat(init.get(0).getArgs()).containsExactly("node-setup", "--config=/var/lib/switchboard/config.conf");
        assertThat(init.get(0).getSecurityContext().getPrivileged()).isTrue();
        var main = ds.getSpec().getTemplate().getSpec().getContainers().get(0).getSecurityContext();
        assertThat(main.getPrivileged()).isFalse();
        assertThat(main.getCapabilities().getAdd()).containsExactly("NET_ADMIN", "NET_RAW");
        assertThat(one(render("nodeSetup.enabled=false"), DaemonSet.class).getSpec().getTemplate().getSpec().getInitContainers())
                .isEmpty();
    }

    @Test
    void dashboardAndAlertsAreRenderedWhenAskedFor() throws Exception {
        assertThat(render()).noneMatch(o -> o.getKind().equals("PrometheusRule"))
                .noneMatch(o -> o.getMetadata().getName().endsWith("-dashboard"));
        List<HasMetadata> objs = render("metrics.grafanaDashboard.enabled=true", "metrics.prometheusRule.enabled=true",
                "metrics.podMonitor.enabled=true");
        ConfigMap dash = objs.stream().filter(o -> o instanceof ConfigMap && o.getMetadata().getName().endsWith("-dashboard"))
                .map(ConfigMap.class::cast).findFirst().orElseThrow();
        assertThat(dash.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
        assertThat(dash.getData().get("switchboard.json")).contains("\"title\": \"Switchboard / Proxy\"", "rest_client_requests_total");
        HasMetadata rule = objs.stream().filter(o -> o.getKind().equals("PrometheusRule")).findFirst().orElseThrow();
        assertThat(io.fabric8.kubernetes.client.utils.Serialization.asYaml(rule)).contains("SwitchboardDown", "SwitchboardSyncFailing",
                "SwitchboardRulesStale", "SwitchboardServicePortsRejected");
        HasMetadata pm = objs.stream().filter(o -> o.getKind().equals("PodMonitor")).findFirst().orElseThrow();
        assertThat(io.fabric8.kubernetes.client.utils.Serialization.asYaml(pm)).contains("targetLabel: \"job\"", "replacement: \"kube-proxy\"");
    }

    @Test
    void badValuesFail() {
        assertThatThrownBy(() -> render("config.mode=magic")).hasMessageContaining("mode");
        assertThatThrownBy(() -> render("config.iptables.masqueradeBit=40")).hasMessageContaining("masqueradeBit");
        assertThatThrownBy(() -> render("config.ipvs.scheduler=fastest")).hasMessageContaining("scheduler");
        assertThatThrownBy(() -> render("config.iptables.syncPeriod=soon")).hasMessageContaining("syncPeriod");
    }
}
