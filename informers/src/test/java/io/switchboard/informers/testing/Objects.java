package io.switchboard.informers.testing;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** fabric8 object builders for tests. */
public final class Objects {
    private Objects() {
    }

    /** A ClusterIP service with one TCP port "http" (80 → 8080). */
    public static Service service(String ns, String name, String clusterIp) {
        return new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata()
                .withNewSpec().withType("ClusterIP").withClusterIP(clusterIp).withClusterIPs(clusterIp)
                .addNewPort().withName("http").withPort(80).withProtocol("TCP").withNewTargetPort(8080).endPort()
                .endSpec().build();
    }

    /** A slice for service {@code svc} with port "http" 8080 and ready endpoints on node "node-1". */
    public static EndpointSlice slice(String ns, String name, String svc, String... ips) {
        List<io.fabric8.kubernetes.api.model.discovery.v1.Endpoint> eps = new ArrayList<>();
        for (String ip : ips) {
            eps.add(new EndpointBuilder().withAddresses(ip).withNewConditions().withReady(true).endConditions()
                    .withNodeName("node-1").build());
        }
        return new EndpointSliceBuilder().withNewMetadata().withNamespace(ns).withName(name)
                .withLabels(Map.of("kubernetes.io/service-name", svc)).endMetadata()
                .withAddressType("IPv4").addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
                .withEndpoints(eps).build();
    }

    public static Node node(String name, String zone, String internalIp) {
        return new NodeBuilder().withNewMetadata().withName(name)
                .withLabels(Map.of("topology.kubernetes.io/zone", zone)).endMetadata()
                .withNewSpec().withPodCIDR("10.244.0.0/24").endSpec()
                .withNewStatus().addNewAddress().withType("InternalIP").withAddress(internalIp).endAddress().endStatus()
                .build();
    }
}
