package io.switchboard.backend.userspace;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.netfilter.conntrack.Flow;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Which UDP conntrack entries lead to a proxy port that was just replaced. */
class UdpFlowCleanupTest {
    private static final ServicePortName DNS = new ServicePortName(new NamespacedName("kube-system", "dns"), "dns", Protocol.UDP);
    private static final ServicePort SVC = ServicePort.builder(DNS).clusterIp("10.96.0.53").port(53).nodePort(30053).build();

    private static Flow udp(String dst, int dport) {
        return new Flow(Flow.UDP, IpAddress.parse("10.244.1.5"), IpAddress.parse(dst), 40000, dport,
                IpAddress.parse("10.244.1.1"), 38211);
    }

    @Test
    void clusterIpFlowsOfAReplacedListener() {
        var fresh = Map.of(new UserspaceBackend.Key(DNS, false), SVC);
        assertThat(UserspaceBackend.leadsToAFreshPort(udp("10.96.0.53", 53), fresh)).isTrue();
        assertThat(UserspaceBackend.leadsToAFreshPort(udp("10.96.0.53", 54), fresh)).as("another port").isFalse();
        assertThat(UserspaceBackend.leadsToAFreshPort(udp("10.96.0.54", 53), fresh)).as("another service IP").isFalse();
        assertThat(UserspaceBackend.leadsToAFreshPort(udp("192.168.1.2", 30053), fresh))
                .as("the node port belongs to the external listener").isFalse();
    }

    @Test
    void nodePortFlowsOfAReplacedExternalListener() {
        var fresh = Map.of(new UserspaceBackend.Key(DNS, true), SVC);
        assertThat(UserspaceBackend.leadsToAFreshPort(udp("192.168.1.2", 30053), fresh)).isTrue();
        assertThat(UserspaceBackend.leadsToAFreshPort(udp("10.96.0.53", 53), fresh)).isFalse();
        assertThat(UserspaceBackend.leadsToAFreshPort(udp("192.168.1.2", 30054), fresh)).isFalse();
    }
}
