package io.switchboard.informers;

import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceSpec;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointHints;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.model.SessionAffinity;
import io.switchboard.core.model.TrafficDistribution;
import io.switchboard.core.model.TrafficPolicy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns fabric8 objects into proxy-core records. The only place that reads fabric8 model types.
 * Every method throws {@link IllegalArgumentException} with a message naming the bad field when an
 * object is malformed; a return of {@link Optional#empty()} means "valid, but not proxied".
 */
public final class Translator {
    public static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    public static final String PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name";
    public static final String HEADLESS_LABEL = "service.kubernetes.io/headless";
    public static final String TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";
    public static final String LB_SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";
    public static final String TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler";

    /**
     * Canonical copies of the few strings that repeat across many objects (namespaces, node and
     * zone names, hints): every decoded object carries its own copy, 100k duplicates at 10,000
     * services × 10 endpoints. Bounded; past the bound a string is kept as decoded.
     */
    private static final int SHARED_LIMIT = 1 << 16;
    private static final Map<String, String> SHARED = new java.util.concurrent.ConcurrentHashMap<>();

    static String shared(String s) {
        if (s == null) {
            return null;
        }
        String canonical = SHARED.get(s);
        if (canonical != null) {
            return canonical;
        }
        if (SHARED.size() >= SHARED_LIMIT) {
            return s;
        }
        String prior = SHARED.putIfAbsent(s, s);
        return prior == null ? s : prior;
    }

    private Translator() {
    }

    /** Whether the labels say another proxy owns this object or it is headless. */
    public static boolean ignoredByLabels(Map<String, String> labels) {
        return labels != null && (labels.containsKey(PROXY_NAME_LABEL) || labels.containsKey(HEADLESS_LABEL));
    }

    /**
     * Translates a Service. Empty for ExternalName and headless services, and for services whose
     * labels hand them to another proxy.
     */
    public static Optional<ServiceInfo> service(Service svc) {
        NamespacedName name = new NamespacedName(shared(svc.getMetadata().getNamespace()), svc.getMetadata().getName());
        if (ignoredByLabels(svc.getMetadata().getLabels())) {
            return Optional.empty();
        }
        ServiceSpec spec = svc.getSpec();
        if (spec == null) {
            throw new IllegalArgumentException("service " + name + ": no spec");
        }
        if ("ExternalName".equals(spec.getType())) {
            return Optional.empty();
        }
        List<String> ipTexts = spec.getClusterIPs() != null && !spec.getClusterIPs().isEmpty()
                ? spec.getClusterIPs()
                : (spec.getClusterIP() == null ? List.of() : List.of(spec.getClusterIP()));
        if (ipTexts.isEmpty() || ipTexts.get(0).isEmpty() || "None".equals(ipTexts.get(0))) {
            return Optional.empty();
        }
        List<IpAddress> clusterIps = new ArrayList<>();
        for (String t : ipTexts) {
            clusterIps.add(ip(name, "spec.clusterIPs", t));
        }
        List<IpAddress> externalIps = new ArrayList<>();
        for (String t : nonNull(spec.getExternalIPs())) {
            externalIps.add(ip(name, "spec.externalIPs", t));
        }
        List<IpAddress> lbIps = new ArrayList<>();
        if (svc.getStatus() != null && svc.getStatus().getLoadBalancer() != null) {
            for (LoadBalancerIngress ing : nonNull(svc.getStatus().getLoadBalancer().getIngress())) {
                if (ing.getIp() == null || ing.getIp().isEmpty() || "Proxy".equals(ing.getIpMode())) {
                    continue;
                }
                lbIps.add(ip(name, "status.loadBalancer.ingress.ip", ing.getIp()));
            }
        }
        List<Cidr> sourceRanges = new ArrayList<>();
        List<String> rangeTexts = nonNull(spec.getLoadBalancerSourceRanges());
        if (rangeTexts.isEmpty() && svc.getMetadata().getAnnotations() != null) {
            String ann = svc.getMetadata().getAnnotations().get(LB_SOURCE_RANGES_ANNOTATION);
            if (ann != null && !ann.isBlank()) {
                rangeTexts = List.of(ann.split(","));
            }
        }
        for (String r : rangeTexts) {
            try {
                sourceRanges.add(Cidr.parse(r.trim()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("service " + name + ": spec.loadBalancerSourceRanges: \"" + r + "\" is not a CIDR");
            }
        }
        SessionAffinity affinity = SessionAffinity.NONE;
        if ("ClientIP".equals(spec.getSessionAffinity())) {
            Integer timeout = null;
            if (spec.getSessionAffinityConfig() != null && spec.getSessionAffinityConfig().getClientIP() != null) {
                timeout = spec.getSessionAffinityConfig().getClientIP().getTimeoutSeconds();
            }
            try {
                affinity = SessionAffinity.clientIp(timeout == null ? SessionAffinity.DEFAULT_TIMEOUT_SECONDS : timeout);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("service " + name + ": spec.sessionAffinityConfig: " + e.getMessage());
            }
        } else if (spec.getSessionAffinity() != null && !spec.getSessionAffinity().isEmpty()
                && !"None".equals(spec.getSessionAffinity())) {
            throw new IllegalArgumentException("service " + name + ": spec.sessionAffinity: unknown value \""
                    + spec.getSessionAffinity() + "\"");
        }
        TrafficPolicy external;
        TrafficPolicy internal;
        try {
            external = TrafficPolicy.parse(spec.getExternalTrafficPolicy());
            internal = TrafficPolicy.parse(spec.getInternalTrafficPolicy());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("service " + name + ": " + e.getMessage());
        }
        boolean externalType = "NodePort".equals(spec.getType()) || "LoadBalancer".equals(spec.getType());
        List<ServicePort> ports = new ArrayList<>();
        Set<String> seenNames = new HashSet<>();
        for (io.fabric8.kubernetes.api.model.ServicePort p : nonNull(spec.getPorts())) {
            String portName = p.getName() == null ? "" : p.getName();
            Protocol proto;
            try {
                proto = Protocol.parse(p.getProtocol());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("service " + name + ": port \"" + portName + "\": " + e.getMessage());
            }
            if (!seenNames.add(portName + "/" + proto)) {
                throw new IllegalArgumentException("service " + name + ": duplicate port name \"" + portName + "\"");
            }
            int nodePort = externalType && p.getNodePort() != null ? p.getNodePort() : 0;
            try {
                ports.add(new ServicePort(new ServicePortName(name, portName, proto), clusterIps,
                        p.getPort() == null ? 0 : p.getPort(), nodePort, externalIps, lbIps, sourceRanges, affinity,
                        external, internal,
                        spec.getHealthCheckNodePort() == null ? 0 : spec.getHealthCheckNodePort(),
                        TrafficDistribution.parse(spec.getTrafficDistribution())));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("service " + name + ": port \"" + portName + "\": " + e.getMessage());
            }
        }
        return Optional.of(new ServiceInfo(name, ports));
    }

    /** Translates an EndpointSlice. Empty for FQDN slices and slices handed to another proxy. */
    public static Optional<EndpointSliceInfo> slice(EndpointSlice slice) {
        NamespacedName name = new NamespacedName(shared(slice.getMetadata().getNamespace()), slice.getMetadata().getName());
        Map<String, String> labels = slice.getMetadata().getLabels();
        if (ignoredByLabels(labels)) {
            return Optional.empty();
        }
        String svc = labels == null ? null : labels.get(SERVICE_NAME_LABEL);
        if (svc == null || svc.isEmpty()) {
            throw new IllegalArgumentException("endpointslice " + name + ": no " + SERVICE_NAME_LABEL + " label");
        }
        IpFamily family;
        if ("FQDN".equals(slice.getAddressType())) {
            return Optional.empty();
        }
        try {
            family = IpFamily.fromKubernetesName(slice.getAddressType());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("endpointslice " + name + ": addressType: " + e.getMessage());
        }
        List<EndpointSliceInfo.Port> ports = new ArrayList<>();
        for (io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort p : nonNull(slice.getPorts())) {
            if (p.getPort() == null) {
                continue;
            }
            try {
                ports.add(new EndpointSliceInfo.Port(p.getName(), p.getPort(), Protocol.parse(p.getProtocol())));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("endpointslice " + name + ": port \"" + p.getName() + "\": " + e.getMessage());
            }
        }
        List<EndpointSliceInfo.SliceEndpoint> endpoints = new ArrayList<>();
        for (io.fabric8.kubernetes.api.model.discovery.v1.Endpoint e : nonNull(slice.getEndpoints())) {
            if (e.getAddresses() == null || e.getAddresses().isEmpty()) {
                continue;
            }
            IpAddress ip = ip(name, "endpoints.addresses", e.getAddresses().get(0));
            EndpointConditions c = e.getConditions();
            boolean ready = c == null || c.getReady() == null || c.getReady();
            boolean serving = c == null || c.getServing() == null ? ready : c.getServing();
            boolean terminating = c != null && c.getTerminating() != null && c.getTerminating();
            Set<String> zoneHints = new HashSet<>();
            Set<String> nodeHints = new HashSet<>();
            EndpointHints h = e.getHints();
            if (h != null) {
                nonNull(h.getForZones()).forEach(z -> zoneHints.add(shared(z.getName())));
                nonNull(h.getForNodes()).forEach(n -> nodeHints.add(shared(n.getName())));
            }
            endpoints.add(new EndpointSliceInfo.SliceEndpoint(ip, ready, serving, terminating, shared(e.getNodeName()),
                    shared(e.getZone()), zoneHints, nodeHints));
        }
        Instant trigger = null;
        Map<String, String> ann = slice.getMetadata().getAnnotations();
        if (ann != null && ann.containsKey(TRIGGER_TIME_ANNOTATION)) {
            try {
                trigger = Instant.parse(ann.get(TRIGGER_TIME_ANNOTATION));
            } catch (DateTimeParseException ex) {
                trigger = null; // a bad annotation only costs a latency sample
            }
        }
        try {
            return Optional.of(new EndpointSliceInfo(name, new NamespacedName(name.namespace(), svc), family, ports,
                    endpoints, trigger));
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException("endpointslice " + name + ": " + ex.getMessage());
        }
    }

    /** Translates the proxy's own Node. */
    public static NodeInfo node(Node node) {
        String name = node.getMetadata().getName();
        Map<String, String> labels = node.getMetadata().getLabels() == null ? Map.of() : node.getMetadata().getLabels();
        List<IpAddress> addresses = new ArrayList<>();
        List<Cidr> podCidrs = new ArrayList<>();
        boolean eligible = node.getMetadata().getDeletionTimestamp() == null;
        if (node.getSpec() != null) {
            for (Taint t : nonNull(node.getSpec().getTaints())) {
                if (TO_BE_DELETED_TAINT.equals(t.getKey())) {
                    eligible = false;
                }
            }
            List<String> cidrs = node.getSpec().getPodCIDRs() != null && !node.getSpec().getPodCIDRs().isEmpty()
                    ? node.getSpec().getPodCIDRs()
                    : (node.getSpec().getPodCIDR() == null ? List.of() : List.of(node.getSpec().getPodCIDR()));
            for (String c : cidrs) {
                try {
                    podCidrs.add(Cidr.parse(c));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("node " + name + ": spec.podCIDRs: \"" + c + "\" is not a CIDR");
                }
            }
        }
        if (node.getStatus() != null) {
            Map<String, List<IpAddress>> byType = new LinkedHashMap<>();
            for (NodeAddress a : nonNull(node.getStatus().getAddresses())) {
                if (!"InternalIP".equals(a.getType()) && !"ExternalIP".equals(a.getType())) {
                    continue;
                }
                byType.computeIfAbsent(a.getType(), k -> new ArrayList<>()).add(ip(null, "status.addresses", a.getAddress()));
            }
            addresses.addAll(byType.getOrDefault("InternalIP", List.of()));
            addresses.addAll(byType.getOrDefault("ExternalIP", List.of()));
        }
        return new NodeInfo(name, labels, addresses, podCidrs, eligible);
    }

    private static IpAddress ip(NamespacedName owner, String field, String text) {
        try {
            return IpAddress.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException((owner == null ? "" : owner + ": ") + field + ": \"" + text
                    + "\" is not an IP address");
        }
    }

    private static <T> List<T> nonNull(List<T> l) {
        return l == null ? List.of() : l;
    }
}
