package io.switchboard.benchmarks;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/** Synthetic clusters of a given shape: S services with E endpoints each, one TCP port. */
public final class Scale {
    public final SortedMap<ServicePortName, ServicePort> services = new TreeMap<>();
    public final SortedMap<ServicePortName, List<Endpoint>> endpoints = new TreeMap<>();

    public Scale(int serviceCount, int endpointsPerService) {
        for (int s = 0; s < serviceCount; s++) {
            ServicePortName spn = new ServicePortName(new NamespacedName("ns" + (s % 50), "svc" + s), "http", Protocol.TCP);
            String vip = "172.30." + (s / 250) + "." + (s % 250 + 1);
            services.put(spn, ServicePort.builder(spn).clusterIp(vip).port(80).build());
            List<Endpoint> eps = new ArrayList<>(endpointsPerService);
            for (int e = 0; e < endpointsPerService; e++) {
                int n = s * endpointsPerService + e;
                IpAddress ip = IpAddress.parse("10." + (n >> 16 & 255) + "." + (n >> 8 & 255) + "." + (n & 255));
                eps.add(new Endpoint(ip, 8080, true, true, false, "node-" + (n % 100), "", Set.of(), Set.of()));
            }
            endpoints.put(spn, List.copyOf(eps));
        }
    }
}
