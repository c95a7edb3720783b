package io.switchboard.backend.nftables;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Services and endpoints for renderer tests, built field by field; {@link #snapshot} selects the
 * endpoints through the core's one selection function. Endpoints: "ip" (ready, another node),
 * "ip@local" (ready, this node), "ip!term" (serving and terminating).
 */
final class Fixture {
    static final String NODE = "node-1";
    final TreeMap<ServicePortName, ServicePort> services = new TreeMap<>();
    final TreeMap<ServicePortName, List<Endpoint>> endpoints = new TreeMap<>();
    final Set<NamespacedName> changed = new HashSet<>();
    IpFamily family = IpFamily.IPV4;
    String nodeIp = "192.168.0.2";

    static ServicePortName spn(String nsName, String port, Protocol proto) {
        String[] p = nsName.split("/");
        return new ServicePortName(new NamespacedName(p[0], p[1]), port, proto);
    }

    Fixture svc(String nsName, String port, Protocol proto, int number, String clusterIp, Consumer<ServicePort.Builder> more) {
        ServicePortName n = spn(nsName, port, proto);
        ServicePort.Builder b = ServicePort.builder(n).clusterIp(clusterIp).port(number);
        more.accept(b);
        services.put(n, b.build());
        changed.add(n.service());
        return this;
    }

    Fixture eps(String nsName, String port, Protocol proto, int target, String... eps) {
        ServicePortName n = spn(nsName, port, proto);
        List<Endpoint> list = new ArrayList<>();
        for (String e : eps) {
            String ip = e.split("[@!]")[0];
            boolean term = e.contains("!term");
            list.add(new Endpoint(IpAddress.parse(ip), target, !term, true, term, e.contains("@local") ? NODE : "node-2", "",
                    Set.of(), Set.of()));
        }
        endpoints.put(n, list);
        changed.add(n.service());
        return this;
    }

    Fixture remove(String nsName, String port, Protocol proto) {
        ServicePortName n = spn(nsName, port, proto);
        services.remove(n);
        endpoints.remove(n);
        changed.add(n.service());
        return this;
    }

    NodeInfo node() {
        return new NodeInfo(NODE, Map.of(), List.of(IpAddress.parse(nodeIp)), List.of(), true);
    }

    /** The snapshot of what changed since the last call (all of it the first time). */
    ProxySnapshot snapshot(boolean full) {
        ProxySnapshot s = ProxySnapshot.build(new TreeMap<>(services), new TreeMap<>(endpoints), node(), Set.of(family),
                Set.copyOf(changed), full, null);
        changed.clear();
        return s;
    }

    NftSettings settings() {
        String ip = NftNames.family(family);
        String cidr = family == IpFamily.IPV4 ? "10.0.0.0/8" : "fd00:10::/32";
        return new NftSettings(family, 14, false, ip + " saddr " + cidr, ip + " saddr != " + cidr, true, List.of(),
                List.of(IpAddress.parse(nodeIp)));
    }

    static List<Cidr> cidrs(String... c) {
        List<Cidr> out = new ArrayList<>();
        for (String s : c) {
            out.add(Cidr.parse(s));
        }
        return out;
    }

    static List<IpAddress> ips(String... a) {
        List<IpAddress> out = new ArrayList<>();
        for (String s : a) {
            out.add(IpAddress.parse(s));
        }
        return out;
    }
}
