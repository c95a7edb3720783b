package io.switchboard.core.model;

import org.junit.jupiter.api.Test;

import java.util.List;

import static io.switchboard.core.testing.Fixtures.spn;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ServicePortTest {
    private final ServicePortName name = spn("ns1/svc1", "p80", Protocol.TCP);

    @Test
    void printsLikeKubeProxy() {
        assertThat(name.toString()).isEqualTo("ns1/svc1:p80");
        assertThat(spn("ns1/svc1", "", Protocol.TCP).toString()).isEqualTo("ns1/svc1");
    }

    @Test
    void validatesPorts() {
        assertThatThrownBy(() -> ServicePort.builder(name).clusterIp("10.0.0.1").port(0).build())
                .hasMessageContaining("port 0");
        assertThatThrownBy(() -> ServicePort.builder(name).clusterIp("10.0.0.1").port(80).nodePort(70000).build())
                .hasMessageContaining("nodePort 70000");
        assertThatThrownBy(() -> ServicePort.builder(name).port(80).build()).hasMessageContaining("no cluster IP");
        assertThatThrownBy(() -> ServicePort.builder(name).port(80)
                .clusterIps(List.of(IpAddress.parse("10.0.0.1"), IpAddress.parse("10.0.0.2"))).build())
                .hasMessageContaining("one cluster IP per family");
    }

    @Test
    void externalLocalOnlyCountsWhenExternallyReachable() {
        ServicePort internalOnly = ServicePort.builder(name).clusterIp("10.0.0.1").port(80)
                .externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(30000).build();
        assertThat(internalOnly.externalPolicyLocal()).isFalse();
        assertThat(internalOnly.healthCheckNodePort()).isZero();
        assertThat(internalOnly.usesLocalEndpoints()).isFalse();

        ServicePort nodePort = ServicePort.builder(name).clusterIp("10.0.0.1").port(80).nodePort(30080)
                .externalPolicy(TrafficPolicy.LOCAL).healthCheckNodePort(30000).build();
        assertThat(nodePort.externalPolicyLocal()).isTrue();
        assertThat(nodePort.healthCheckNodePort()).isEqualTo(30000);
        assertThat(nodePort.usesClusterEndpoints()).isTrue();
        assertThat(nodePort.usesLocalEndpoints()).isTrue();
    }

    @Test
    void serviceRejectsDuplicatePorts() {
        ServicePort a = ServicePort.builder(name).clusterIp("10.0.0.1").port(80).build();
        ServicePort b = ServicePort.builder(name).clusterIp("10.0.0.1").port(81).build();
        assertThatThrownBy(() -> new ServiceInfo(name.service(), List.of(a, b))).hasMessageContaining("duplicate port p80");
    }

    @Test
    void affinityTimeoutRange() {
        assertThat(SessionAffinity.clientIp(10800).timeoutSeconds()).isEqualTo(10800);
        assertThatThrownBy(() -> SessionAffinity.clientIp(0)).hasMessageContaining("timeout 0");
        assertThat(new SessionAffinity(false, 99).timeoutSeconds()).isZero();
    }
}
