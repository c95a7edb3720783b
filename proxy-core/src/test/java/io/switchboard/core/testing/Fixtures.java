package io.switchboard.core.testing;

import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Small builders for tests. */
public final class Fixtures {
    private Fixtures() {
    }

    public static NamespacedName nn(String s) {
        String[] p = s.split("/");
        return new NamespacedName(p[0], p[1]);
    }

    public static ServicePortName spn(String svc, String port, Protocol proto) {
        return new ServicePortName(nn(svc), port, proto);
    }

    /** A ClusterIP service with one TCP port named {@code p}. */
    public static ServiceInfo service(String name, String clusterIp, int port) {
        return service(name, clusterIp, port, Protocol.TCP);
    }

    public static ServiceInfo service(String name, String clusterIp, int port, Protocol proto) {
        ServicePort sp = ServicePort.builder(spn(name, "p", proto)).clusterIp(clusterIp).port(port).build();
        return new ServiceInfo(nn(name), List.of(sp));
    }

    /** A slice for {@code service} with one port named {@code p} and ready endpoints on node "n1". */
    public static EndpointSliceInfo slice(String service, String sliceName, int port, Protocol proto, String... ips) {
        List<EndpointSliceInfo.SliceEndpoint> eps = new ArrayList<>();
        for (String ip : ips) {
            eps.add(new EndpointSliceInfo.SliceEndpoint(IpAddress.parse(ip), true, true, false, "n1", "", Set.of(), Set.of()));
        }
        NamespacedName svc = nn(service);
        IpFamily fam = ips.length > 0 ? IpAddress.parse(ips[0]).family() : IpFamily.IPV4;
        return new EndpointSliceInfo(new NamespacedName(svc.namespace(), sliceName), svc, fam,
                List.of(new EndpointSliceInfo.Port("p", port, proto)), eps, null);
    }

    public static EndpointSliceInfo slice(String service, String sliceName, String... ips) {
        return slice(service, sliceName, 8080, Protocol.TCP, ips);
    }
}
