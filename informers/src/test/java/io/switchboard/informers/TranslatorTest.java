package io.switchboard.informers;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.TrafficDistribution;
import io.switchboard.core.model.TrafficPolicy;
import io.switchboard.informers.testing.Objects;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TranslatorTest {

    private static ServiceBuilder lb() {
        return new ServiceBuilder().withNewMetadata().withNamespace("ns").withName("web").endMetadata()
                .withNewSpec().withType("LoadBalancer").withClusterIPs("10.96.0.10", "fd00::10")
                .withExternalIPs("192.0.2.1")
                .withLoadBalancerSourceRanges("203.0.113.0/24")
                .withExternalTrafficPolicy("Local").withInternalTrafficPolicy("Cluster")
                .withHealthCheckNodePort(32000).withSessionAffinity("ClientIP")
                .withNewSessionAffinityConfig().withNewClientIP().withTimeoutSeconds(600).endClientIP().endSessionAffinityConfig()
                .withTrafficDistribution("PreferClose")
                .addNewPort().withName("http").withPort(80).withNodePort(30080).withProtocol("TCP").endPort()
                .addNewPort().withName("dns").withPort(53).withNodePort(30053).withProtocol("UDP").endPort()
                .endSpec()
                .withNewStatus().withNewLoadBalancer().addNewIngress().withIp("198.51.100.7").endIngress()
                .addNewIngress().withHostname("lb.example").endIngress()
                .addNewIngress().withIp("198.51.100.8").withIpMode("Proxy").endIngress()
                .endLoadBalancer().endStatus();
    }

    @Test
    void loadBalancerServiceWithEverything() {
        ServiceInfo info = Translator.service(lb().build()).orElseThrow();
        assertThat(info.ports()).hasSize(2);
        ServicePort http = info.ports().get(0);
        assertThat(http.name().toString()).isEqualTo("ns/web:http");
        assertThat(http.clusterIps()).extracting(Object::toString).containsExactly("10.96.0.10", "fd00::10");
        assertThat(http.nodePort()).isEqualTo(30080);
        assertThat(http.externalIps()).extracting(Object::toString).containsExactly("192.0.2.1");
        assertThat(http.loadBalancerIps()).extracting(Object::toString).containsExactly("198.51.100.7");
        assertThat(http.loadBalancerSourceRanges()).extracting(Object::toString).containsExactly("203.0.113.0/24");
        assertThat(http.externalPolicy()).isEqualTo(TrafficPolicy.LOCAL);
        assertThat(http.healthCheckNodePort()).isEqualTo(32000);
        assertThat(http.sessionAffinity().timeoutSeconds()).isEqualTo(600);
        assertThat(http.trafficDistribution()).isEqualTo(TrafficDistribution.PREFER_CLOSE);
        assertThat(info.ports().get(1).protocol()).isEqualTo(Protocol.UDP);
    }

    @Test
    void skippedKinds() {
        Service externalName = new ServiceBuilder(lb().build()).editSpec().withType("ExternalName").endSpec().build();
        assertThat(Translator.service(externalName)).isEmpty();
        Service headless = new ServiceBuilder(Objects.service("ns", "h", "None")).build();
        assertThat(Translator.service(headless)).isEmpty();
        Service other = new ServiceBuilder(Objects.service("ns", "o", "10.96.0.5")).editMetadata()
                .withLabels(Map.of("service.kubernetes.io/service-proxy-name", "cilium")).endMetadata().build();
        assertThat(Translator.service(other)).isEmpty();
    }

    @Test
    void nodePortIgnoredOnClusterIpServices() {
        Service s = new ServiceBuilder(Objects.service("ns", "a", "10.96.0.5")).editSpec().editFirstPort()
                .withNodePort(30001).endPort().endSpec().build();
        assertThat(Translator.service(s).orElseThrow().ports().get(0).nodePort()).isZero();
    }

    @Test
    void malformedServicesNameTheProblem() {
        assertThatThrownBy(() -> Translator.service(Objects.service("ns", "bad", "10.96.0.999")))
                .hasMessageContaining("ns/bad").hasMessageContaining("10.96.0.999");
        assertThatThrownBy(() -> Translator.service(new ServiceBuilder(lb().build()).editSpec().editFirstPort()
                .withPort(70000).endPort().endSpec().build())).hasMessageContaining("port 70000");
        assertThatThrownBy(() -> Translator.service(new ServiceBuilder(lb().build()).editSpec().editFirstPort()
                .withProtocol("ICMP").endPort().endSpec().build())).hasMessageContaining("unknown protocol \"ICMP\"");
        assertThatThrownBy(() -> Translator.service(new ServiceBuilder(lb().build()).editSpec().editLastPort()
                .withName("http").withProtocol("TCP").endPort().endSpec().build())).hasMessageContaining("duplicate port name \"http\"");
        assertThatThrownBy(() -> Translator.service(new ServiceBuilder(lb().build()).editSpec()
                .withExternalIPs("not-an-ip").endSpec().build())).hasMessageContaining("spec.externalIPs");
    }

    @Test
    void sliceConditionsDefaultLikeTheApi() {
        EndpointSlice s = new EndpointSliceBuilder(Objects.slice("ns", "web-abc", "web", "10.244.1.5"))
                .addNewEndpoint().withAddresses("10.244.1.6").withNewConditions().withReady(false).withServing(true)
                .withTerminating(true).endConditions().withZone("za").withNewHints().addNewForZone("za").addNewForNode("node-1")
                .endHints().endEndpoint()
                .addNewEndpoint().withAddresses("10.244.1.7").endEndpoint()
                .editMetadata().addToAnnotations("endpoints.kubernetes.io/last-change-trigger-time", "2026-01-01T10:00:00Z").endMetadata()
                .build();
        EndpointSliceInfo info = Translator.slice(s).orElseThrow();
        assertThat(info.service().toString()).isEqualTo("ns/web");
        assertThat(info.triggerTime()).isEqualTo(Instant.parse("2026-01-01T10:00:00Z"));
        var eps = info.endpoints();
        assertThat(eps.get(0).ready()).isTrue();
        assertThat(eps.get(1).ready()).isFalse();
        assertThat(eps.get(1).serving()).isTrue();
        assertThat(eps.get(1).terminating()).isTrue();
        assertThat(eps.get(1).zoneHints()).containsExactly("za");
        assertThat(eps.get(1).nodeHints()).containsExactly("node-1");
        assertThat(eps.get(2).ready()).isTrue();
        assertThat(eps.get(2).serving()).isTrue();
        assertThat(eps.get(2).terminating()).isFalse();
    }

    @Test
    void malformedSlices() {
        EndpointSlice noLabel = new EndpointSliceBuilder(Objects.slice("ns", "x", "web", "10.0.0.1"))
                .editMetadata().withLabels(Map.of()).endMetadata().build();
        assertThatThrownBy(() -> Translator.slice(noLabel)).hasMessageContaining("kubernetes.io/service-name");
        assertThatThrownBy(() -> Translator.slice(Objects.slice("ns", "x", "web", "10.0.0.300")))
                .hasMessageContaining("10.0.0.300");
        EndpointSlice v6inV4 = Objects.slice("ns", "x", "web", "fd00::1");
        assertThatThrownBy(() -> Translator.slice(v6inV4)).hasMessageContaining("fd00::1");
        EndpointSlice fqdn = new EndpointSliceBuilder(Objects.slice("ns", "x", "web")).withAddressType("FQDN").build();
        assertThat(Translator.slice(fqdn)).isEmpty();
    }

    @Test
    void nodeAddressesZoneAndEligibility() {
        var n = Objects.node("node-1", "za", "192.168.50.2");
        NodeInfo info = Translator.node(n);
        assertThat(info.zone()).isEqualTo("za");
        assertThat(info.addresses()).extracting(Object::toString).containsExactly("192.168.50.2");
        assertThat(info.podCidrs()).extracting(Object::toString).containsExactly("10.244.0.0/24");
        assertThat(info.eligible()).isTrue();
        var tainted = new io.fabric8.kubernetes.api.model.NodeBuilder(n).editSpec().addNewTaint()
                .withKey("ToBeDeletedByClusterAutoscaler").withEffect("NoSchedule").endTaint().endSpec().build();
        assertThat(Translator.node(tainted).eligible()).isFalse();
    }

    /** Decoded objects each carry their own strings; translated ones share the repeated names. */
    @Test
    void repeatedNamesAreSharedAcrossObjects() {
        var a = Objects.slice(new String("ns"), "a-1", "a", "10.0.0.1");
        var b = Objects.slice(new String("ns"), "b-1", "b", "10.0.0.2");
        a.getEndpoints().get(0).setNodeName(new String("node-7"));
        b.getEndpoints().get(0).setNodeName(new String("node-7"));
        a.getEndpoints().get(0).setZone(new String("zone-a"));
        b.getEndpoints().get(0).setZone(new String("zone-a"));
        var ta = Translator.slice(a).orElseThrow();
        var tb = Translator.slice(b).orElseThrow();
        assertThat(ta.endpoints().get(0).nodeName()).isEqualTo("node-7").isSameAs(tb.endpoints().get(0).nodeName());
        assertThat(ta.endpoints().get(0).zone()).isEqualTo("zone-a").isSameAs(tb.endpoints().get(0).zone());
        assertThat(ta.name().namespace()).isSameAs(tb.name().namespace());
    }
}
