package io.switchboard.app.inspect;

import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.model.ServicePort;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pure: the kernel's rows next to what the API says. A row is {@code ok}, {@code not in the API} (rules
 * of a service or address that is gone), or names stale endpoints (in the kernel but no longer a
 * serving endpoint in the API) or endpoints the kernel lacks entirely; an address the API has and the
 * kernel lacks becomes a row marked {@code missing in the kernel}. Topology and traffic policies may
 * leave endpoints out on purpose, so a subset is not drift; an endpoint that is not in the API is.
 */
public final class Drift {
    private Drift() {
    }

    private record Want(String service, String kind, String address, String protocol, Set<String> endpoints) {
    }

    public static List<KernelServices.Row> mark(List<KernelServices.Row> kernel, List<ServiceInfo> services,
                                                List<EndpointSliceInfo> slices, Set<IpFamily> families) {
        Map<String, Want> wanted = new LinkedHashMap<>();
        for (ServiceInfo svc : services) {
            for (ServicePort sp : svc.ports()) {
                String name = sp.name().toString();
                String proto = sp.protocol().lower();
                for (IpFamily f : families) {
                    Set<String> eps = endpoints(sp, slices, f);
                    for (IpAddress ip : sp.clusterIps()) {
                        add(wanted, f, ip, name, "cluster IP", ip + ":" + sp.port(), proto, eps);
                    }
                    for (IpAddress ip : sp.externalIps()) {
                        add(wanted, f, ip, name, "external IP", ip + ":" + sp.port(), proto, eps);
                    }
                    for (IpAddress ip : sp.loadBalancerIps()) {
                        add(wanted, f, ip, name, "load-balancer IP", ip + ":" + sp.port(), proto, eps);
                    }
                    if (sp.nodePort() != 0) {
                        wanted.merge(name + " *:" + sp.nodePort(), new Want(name, "node port", "*:" + sp.nodePort(), proto, eps),
                                (a, b) -> {
                                    Set<String> all = new HashSet<>(a.endpoints());
                                    all.addAll(b.endpoints());
                                    return new Want(a.service(), a.kind(), a.address(), a.protocol(), all);
                                });
                    }
                }
            }
        }
        List<KernelServices.Row> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (KernelServices.Row r : kernel) {
            String key = r.service() + " " + r.address();
            seen.add(key);
            Want w = wanted.get(key);
            out.add(r.withDrift(w == null ? "not in the API" : compare(r, w)));
        }
        for (Map.Entry<String, Want> e : wanted.entrySet()) {
            if (!seen.contains(e.getKey())) {
                Want w = e.getValue();
                out.add(new KernelServices.Row(w.service(), w.kind(), w.address(), w.protocol(), List.of(), "", "missing in the kernel"));
            }
        }
        out.sort((a, b) -> (a.service() + a.kind() + a.address()).compareTo(b.service() + b.kind() + b.address()));
        return out;
    }

    private static void add(Map<String, Want> wanted, IpFamily f, IpAddress ip, String name, String kind, String address,
                            String proto, Set<String> eps) {
        if (ip.family() == f) {
            wanted.put(name + " " + address, new Want(name, kind, address, proto, eps));
        }
    }

    private static String compare(KernelServices.Row r, Want w) {
        List<String> stale = new ArrayList<>();
        boolean noneInKernel = false;
        for (String e : r.endpoints()) {
            if (e.startsWith("none: ")) {
                noneInKernel = e.equals("none: REJECT");
                continue;
            }
            if (e.startsWith("userspace proxy")) {
                return "ok (rules; endpoints in the proxy)";
            }
            String ep = e.contains(" (") ? e.substring(0, e.indexOf(" (")) : e;
            if (!w.endpoints().contains(ep)) {
                stale.add(ep);
            }
        }
        if (!stale.isEmpty()) {
            return "stale endpoints: " + String.join(", ", stale);
        }
        if (noneInKernel && !w.endpoints().isEmpty()) {
            return "kernel rejects; API has " + w.endpoints().size() + " endpoint(s)";
        }
        return "ok";
    }

    /** The serving endpoints the API lists for a service port in one family, as ip:port. */
    private static Set<String> endpoints(ServicePort sp, List<EndpointSliceInfo> slices, IpFamily f) {
        Set<String> out = new HashSet<>();
        for (EndpointSliceInfo s : slices) {
            if (!s.service().equals(sp.name().service()) || s.addressType() != f) {
                continue;
            }
            for (EndpointSliceInfo.Port p : s.ports()) {
                if (!p.name().equals(sp.name().port()) || p.protocol() != sp.protocol()) {
                    continue;
                }
                for (EndpointSliceInfo.SliceEndpoint e : s.endpoints()) {
                    if (e.serving() || e.ready()) {
                        out.add(e.address().withPort(p.port()));
                    }
                }
            }
        }
        return out;
    }
}
