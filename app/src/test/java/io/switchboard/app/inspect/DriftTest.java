package io.switchboard.app.inspect;

import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The DRIFT column of {@code switchboard services}: the kernel's rows of the iptables nodeport dump against an API state. */
class DriftTest {
    private static ServiceInfo svc(String name, String ip, int nodePort) {
        NamespacedName n = new NamespacedName("ns1", name);
        return new ServiceInfo(n, List.of(ServicePort.builder(new ServicePortName(n, "p80", Protocol.TCP)).clusterIp(ip).port(80)
                .nodePort(nodePort).build()));
    }

    private static EndpointSliceInfo slice(String svc, String... ips) {
        List<EndpointSliceInfo.SliceEndpoint> eps = new ArrayList<>();
        for (String ip : ips) {
            eps.add(new EndpointSliceInfo.SliceEndpoint(IpAddress.parse(ip), true, true, false, "n", "", Set.of(), Set.of()));
        }
        return new EndpointSliceInfo(new NamespacedName("ns1", svc + "-abc"), new NamespacedName("ns1", svc), IpFamily.IPV4,
                List.of(new EndpointSliceInfo.Port("p80", 8080, Protocol.TCP)), eps, null);
    }

    @Test
    void driftNamesStaleRulesStaleEndpointsAndWhatTheKernelLacks() throws Exception {
        String rules = Files.readString(Path.of("src/test/resources/inspect/iptables-nodeport.rules"));
        var kernel = KernelServices.read(rules, IpFamily.IPV4, Set.of(IpAddress.parse("192.168.0.2")), null);
        List<ServiceInfo> api = List.of(
                svc("np", "172.30.0.50", 30080),              // as programmed
                svc("np-local", "172.30.0.51", 30081),        // 10.180.0.2 is no longer an endpoint
                svc("np-empty", "172.30.0.53", 30083),        // has an endpoint now; the kernel still rejects
                svc("np-new", "172.30.0.60", 0));             // not programmed at all
        // np-nolocal is gone from the API: its rules are stale
        List<EndpointSliceInfo> slices = List.of(slice("np", "10.0.1.9", "10.180.0.1"), slice("np-local", "10.0.1.10"),
                slice("np-empty", "10.0.1.77"), slice("np-new", "10.0.1.78"));
        List<KernelServices.Row> rows = Drift.mark(kernel, api, slices, Set.of(IpFamily.IPV4));
        String text = KernelServices.text(rows);
        assertThat(text).contains("DRIFT");
        assertThat(rows).filteredOn(r -> r.service().equals("ns1/np:p80")).extracting(KernelServices.Row::drift).containsOnly("ok");
        assertThat(rows).filteredOn(r -> r.service().equals("ns1/np-local:p80") && r.kind().equals("cluster IP"))
                .extracting(KernelServices.Row::drift).containsExactly("stale endpoints: 10.180.0.2:8080");
        assertThat(rows).filteredOn(r -> r.service().equals("ns1/np-local:p80") && r.kind().equals("node port"))
                .extracting(KernelServices.Row::drift).containsExactly("ok");
        assertThat(rows).filteredOn(r -> r.service().equals("ns1/np-nolocal:p80")).extracting(KernelServices.Row::drift)
                .containsOnly("not in the API");
        assertThat(rows).filteredOn(r -> r.service().equals("ns1/np-empty:p80") && r.address().equals("172.30.0.53:80"))
                .extracting(KernelServices.Row::drift).containsExactly("kernel rejects; API has 1 endpoint(s)");
        assertThat(rows).filteredOn(r -> r.service().equals("ns1/np-new:p80")).extracting(KernelServices.Row::drift)
                .containsExactly("missing in the kernel");
    }
}
