package io.switchboard.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Everything a backend needs to program one service port. Validated on construction: ports in
 * range, at most one cluster IP per family, IPs as literals, policies normalised the way kube-proxy
 * normalises them (external policy Local only counts when the port is reachable from outside).
 *
 * @param name                     {@code namespace/name:port} + protocol
 * @param clusterIps               the service's cluster IPs, at most one per family
 * @param port                     the service port (1-65535)
 * @param nodePort                 0 or the node port (1-65535)
 * @param externalIps              {@code spec.externalIPs}
 * @param loadBalancerIps          {@code status.loadBalancer.ingress[].ip}
 * @param loadBalancerSourceRanges {@code spec.loadBalancerSourceRanges}
 * @param sessionAffinity          none or ClientIP with timeout
 * @param externalPolicy           {@code spec.externalTrafficPolicy}
 * @param internalPolicy           {@code spec.internalTrafficPolicy}
 * @param healthCheckNodePort      0 or the health-check node port for external policy Local
 * @param trafficDistribution      {@code spec.trafficDistribution}
 */
public record ServicePort(
        ServicePortName name,
        List<IpAddress> clusterIps,
        int port,
        int nodePort,
        List<IpAddress> externalIps,
        List<IpAddress> loadBalancerIps,
        List<Cidr> loadBalancerSourceRanges,
        SessionAffinity sessionAffinity,
        TrafficPolicy externalPolicy,
        TrafficPolicy internalPolicy,
        int healthCheckNodePort,
        TrafficDistribution trafficDistribution) {

    public ServicePort {
        if (name == null) {
            throw new IllegalArgumentException("service port name must be set");
        }
        checkPort("port", port, false);
        checkPort("nodePort", nodePort, true);
        checkPort("healthCheckNodePort", healthCheckNodePort, true);
        clusterIps = List.copyOf(clusterIps == null ? List.of() : clusterIps);
        if (clusterIps.isEmpty()) {
            throw new IllegalArgumentException(name + ": no cluster IP");
        }
        if (clusterIps.size() > 2 || (clusterIps.size() == 2 && clusterIps.get(0).family() == clusterIps.get(1).family())) {
            throw new IllegalArgumentException(name + ": at most one cluster IP per family, got " + clusterIps);
        }
        externalIps = List.copyOf(externalIps == null ? List.of() : externalIps);
        loadBalancerIps = List.copyOf(loadBalancerIps == null ? List.of() : loadBalancerIps);
        loadBalancerSourceRanges = List.copyOf(loadBalancerSourceRanges == null ? List.of() : loadBalancerSourceRanges);
        sessionAffinity = sessionAffinity == null ? SessionAffinity.NONE : sessionAffinity;
        internalPolicy = internalPolicy == null ? TrafficPolicy.CLUSTER : internalPolicy;
        trafficDistribution = trafficDistribution == null ? TrafficDistribution.NONE : trafficDistribution;
        boolean external = nodePort != 0 || !loadBalancerIps.isEmpty() || !externalIps.isEmpty();
        externalPolicy = external && externalPolicy == TrafficPolicy.LOCAL ? TrafficPolicy.LOCAL : TrafficPolicy.CLUSTER;
        if (externalPolicy != TrafficPolicy.LOCAL) {
            healthCheckNodePort = 0;
        }
    }

    private static void checkPort(String field, int value, boolean zeroAllowed) {
        if ((value == 0 && !zeroAllowed) || value < 0 || value > 65535) {
            throw new IllegalArgumentException(field + " " + value + " out of range " + (zeroAllowed ? "0" : "1") + "-65535");
        }
    }

    /** A builder with kube-proxy's defaults, for code that assembles ports field by field. */
    public static Builder builder(ServicePortName name) {
        return new Builder(name);
    }

    public Protocol protocol() {
        return name.protocol();
    }

    /** The cluster IP of one family, if the service has one. */
    public Optional<IpAddress> clusterIp(IpFamily family) {
        for (IpAddress ip : clusterIps) {
            if (ip.family() == family) {
                return Optional.of(ip);
            }
        }
        return Optional.empty();
    }

    /** External IPs of one family. */
    public List<IpAddress> externalIps(IpFamily family) {
        return ofFamily(externalIps, family);
    }

    /** Load-balancer IPs of one family. */
    public List<IpAddress> loadBalancerIps(IpFamily family) {
        return ofFamily(loadBalancerIps, family);
    }

    /** {@code loadBalancerSourceRanges} of one family. */
    public List<Cidr> loadBalancerSourceRanges(IpFamily family) {
        List<Cidr> out = new ArrayList<>(loadBalancerSourceRanges.size());
        for (Cidr c : loadBalancerSourceRanges) {
            if (c.family() == family) {
                out.add(c);
            }
        }
        return out;
    }

    private static List<IpAddress> ofFamily(List<IpAddress> ips, IpFamily family) {
        List<IpAddress> out = new ArrayList<>(ips.size());
        for (IpAddress ip : ips) {
            if (ip.family() == family) {
                out.add(ip);
            }
        }
        return out;
    }

    /** Reachable from outside the cluster: a node port, an external IP or a load-balancer IP. */
    public boolean externallyAccessible() {
        return nodePort != 0 || !loadBalancerIps.isEmpty() || !externalIps.isEmpty();
    }

    public boolean externalPolicyLocal() {
        return externalPolicy == TrafficPolicy.LOCAL;
    }

    public boolean internalPolicyLocal() {
        return internalPolicy == TrafficPolicy.LOCAL;
    }

    /**
     * Some traffic to this port is routed with the Cluster policy: internal traffic with policy
     * Cluster, or any external traffic at all, since even with an external policy Local, pod and
     * node traffic to an external address short-circuits to the Cluster endpoints (as kube-proxy).
     */
    public boolean usesClusterEndpoints() {
        return !internalPolicyLocal() || externallyAccessible();
    }

    /** Some traffic to this port is routed with the Local policy. */
    public boolean usesLocalEndpoints() {
        return internalPolicyLocal() || (externallyAccessible() && externalPolicyLocal());
    }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private final ServicePortName name;
        private List<IpAddress> clusterIps = List.of();
        private int port;
        private int nodePort;
        private List<IpAddress> externalIps = List.of();
        private List<IpAddress> loadBalancerIps = List.of();
        private List<Cidr> sourceRanges = List.of();
        private SessionAffinity affinity = SessionAffinity.NONE;
        private TrafficPolicy externalPolicy = TrafficPolicy.CLUSTER;
        private TrafficPolicy internalPolicy = TrafficPolicy.CLUSTER;
        private int healthCheckNodePort;
        private TrafficDistribution distribution = TrafficDistribution.NONE;

        private Builder(ServicePortName name) {
            this.name = name;
        }

        public Builder clusterIps(List<IpAddress> v) { this.clusterIps = v; return this; }
        public Builder clusterIp(String v) { this.clusterIps = List.of(IpAddress.parse(v)); return this; }
        public Builder port(int v) { this.port = v; return this; }
        public Builder nodePort(int v) { this.nodePort = v; return this; }
        public Builder externalIps(List<IpAddress> v) { this.externalIps = v; return this; }
        public Builder loadBalancerIps(List<IpAddress> v) { this.loadBalancerIps = v; return this; }
        public Builder loadBalancerSourceRanges(List<Cidr> v) { this.sourceRanges = v; return this; }
        public Builder sessionAffinity(SessionAffinity v) { this.affinity = v; return this; }
        public Builder externalPolicy(TrafficPolicy v) { this.externalPolicy = v; return this; }
        public Builder internalPolicy(TrafficPolicy v) { this.internalPolicy = v; return this; }
        public Builder healthCheckNodePort(int v) { this.healthCheckNodePort = v; return this; }
        public Builder trafficDistribution(TrafficDistribution v) { this.distribution = v; return this; }

        public ServicePort build() {
            return new ServicePort(name, clusterIps, port, nodePort, externalIps, loadBalancerIps, sourceRanges,
                    affinity, externalPolicy, internalPolicy, healthCheckNodePort, distribution);
        }
    }
}
