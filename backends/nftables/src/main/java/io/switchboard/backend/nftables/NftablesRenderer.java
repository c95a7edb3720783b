package io.switchboard.backend.nftables;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.topology.EndpointSelection;
import io.switchboard.core.topology.Routing;
import io.switchboard.core.util.SortedMaps;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

import static io.switchboard.backend.nftables.NftNames.CLUSTER_IPS;
import static io.switchboard.backend.nftables.NftNames.CLUSTER_IPS_CHECK;
import static io.switchboard.backend.nftables.NftNames.NODEPORT_ENDPOINTS_CHECK;
import static io.switchboard.backend.nftables.NftNames.SERVICE_ENDPOINTS_CHECK;
import static io.switchboard.backend.nftables.NftNames.FIREWALL_CHECK;
import static io.switchboard.backend.nftables.NftNames.FIREWALL_IPS;
import static io.switchboard.backend.nftables.NftNames.MARK_MASQ;
import static io.switchboard.backend.nftables.NftNames.MASQUERADING;
import static io.switchboard.backend.nftables.NftNames.NODEPORT_IPS;
import static io.switchboard.backend.nftables.NftNames.NO_ENDPOINT_NODEPORTS;
import static io.switchboard.backend.nftables.NftNames.NO_ENDPOINT_SERVICES;
import static io.switchboard.backend.nftables.NftNames.REJECT_CHAIN;
import static io.switchboard.backend.nftables.NftNames.SERVICES;
import static io.switchboard.backend.nftables.NftNames.SERVICE_IPS;
import static io.switchboard.backend.nftables.NftNames.SERVICE_NODEPORTS;

/**
 * Pure renderer: snapshot + settings → one family's {@link NftModel} in kube-proxy's nftables
 * layout. Services the snapshot does not mark as changed reuse what the previous model holds for
 * them, so a partial sync costs in proportion to what changed. Deterministic: sorted iteration.
 */
public final class NftablesRenderer {
    private NftablesRenderer() {
    }

    /**
     * The base chains: name, type, hook, priority. The firewall check runs before DNAT (it needs the
     * load-balancer IP); the endpoint checks after it (a DNATed packet has found an endpoint, and
     * node traffic short-circuited by an external chain must not meet a "no local endpoints" drop).
     */
    static final String[][] BASE_CHAINS = {
            {"filter-prerouting-pre-dnat", "filter", "prerouting", "-110"},
            {"filter-output-pre-dnat", "filter", "output", "-110"},
            {"filter-forward", "filter", "forward", "0"},
            {"filter-input", "filter", "input", "0"},
            {"filter-output", "filter", "output", "0"},
            {"nat-prerouting", "nat", "prerouting", "-100"},
            {"nat-output", "nat", "output", "-100"},
            {"nat-postrouting", "nat", "postrouting", "100"},
    };

    /** Jumps from base chains: target, source, match. */
    static final String[][] JUMPS = {
            {FIREWALL_CHECK, "filter-prerouting-pre-dnat", "ct state new "},
            {FIREWALL_CHECK, "filter-output-pre-dnat", "ct state new "},
            {SERVICE_ENDPOINTS_CHECK, "filter-forward", "ct state new "},
            {CLUSTER_IPS_CHECK, "filter-forward", "ct state new "},
            {NODEPORT_ENDPOINTS_CHECK, "filter-input", "ct state new "},
            {SERVICE_ENDPOINTS_CHECK, "filter-input", "ct state new "},
            {SERVICE_ENDPOINTS_CHECK, "filter-output", "ct state new "},
            {CLUSTER_IPS_CHECK, "filter-output", "ct state new "},
            {SERVICES, "nat-output", ""},
            {SERVICES, "nat-prerouting", ""},
            {MASQUERADING, "nat-postrouting", ""},
    };

    /** Renders everything (no previous model). */
    public static NftModel render(ProxySnapshot snapshot, NftSettings s) {
        return render(snapshot, s, null);
    }

    /**
     * Renders, reusing the previous model's objects for services the snapshot does not mark as
     * changed ({@code previous} null: compute every service).
     */
    public static NftModel render(ProxySnapshot snapshot, NftSettings s, NftModel previous) {
        SortedMap<ServicePortName, EndpointSelection> selections = snapshot.selections(s.family());
        List<ServicePortName> keys = new ArrayList<>(selections.size());
        List<NftModel.ServiceObjects> values = new ArrayList<>(selections.size());
        // in name order, the previous objects read with a cursor: no tree search per service port
        SortedMaps.Cursor<ServicePortName, NftModel.ServiceObjects> old = SortedMaps.cursor(previous == null ? null : previous.services());
        SortedMaps.Cursor<ServicePortName, ServicePort> ports = SortedMaps.cursor(snapshot.services());
        for (Map.Entry<ServicePortName, EndpointSelection> e : selections.entrySet()) {
            ServicePortName spn = e.getKey();
            NftModel.ServiceObjects reused = previous == null || snapshot.mustWrite(spn.service()) ? null : old.get(spn);
            keys.add(spn);
            values.add(reused != null ? reused : service(ports.get(spn), e.getValue(), s));
        }
        return new NftModel(setup(s), maps(s), SortedMaps.ofAscending(keys, values));
    }

    static String table(NftSettings s) {
        return s.ip() + " " + NftNames.TABLE;
    }

    /** The map declarations. */
    static List<String> maps(NftSettings s) {
        String t = table(s);
        String addr = NftNames.addrType(s.family());
        return List.of(
                "add set " + t + " " + CLUSTER_IPS + " { type " + addr + " ; comment \"Active ClusterIPs\" ; }",
                "add map " + t + " " + FIREWALL_IPS + " { type " + addr + " . inet_proto . inet_service : verdict ;"
                        + " comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }",
                "add map " + t + " " + NO_ENDPOINT_NODEPORTS + " { type inet_proto . inet_service : verdict ;"
                        + " comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }",
                "add map " + t + " " + NO_ENDPOINT_SERVICES + " { type " + addr + " . inet_proto . inet_service : verdict ;"
                        + " comment \"vmap to drop or reject packets to services with no endpoints\" ; }",
                "add map " + t + " " + SERVICE_IPS + " { type " + addr + " . inet_proto . inet_service : verdict ;"
                        + " comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }",
                "add map " + t + " " + SERVICE_NODEPORTS + " { type inet_proto . inet_service : verdict ;"
                        + " comment \"NodePort traffic\" ; }");
    }

    /** The fixed chains, each created, flushed and filled; the node-port address set. */
    static List<String> setup(NftSettings s) {
        String t = table(s);
        String ip = s.ip();
        List<String> out = new ArrayList<>();
        for (String[] b : BASE_CHAINS) {
            out.add("add chain " + t + " " + b[0] + " { type " + b[1] + " hook " + b[2] + " priority " + b[3] + " ; }");
            out.add("flush chain " + t + " " + b[0]);
        }
        for (String c : List.of(CLUSTER_IPS_CHECK, FIREWALL_CHECK, NODEPORT_ENDPOINTS_CHECK, SERVICE_ENDPOINTS_CHECK, SERVICES,
                MASQUERADING, MARK_MASQ)) {
            out.add("add chain " + t + " " + c);
            out.add("flush chain " + t + " " + c);
        }
        out.add("add chain " + t + " " + REJECT_CHAIN + " { comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; }");
        out.add("flush chain " + t + " " + REJECT_CHAIN);
        out.add("add set " + t + " " + NODEPORT_IPS + " { type " + NftNames.addrType(s.family())
                + " ; comment \"IPs that accept NodePort traffic\" ; }");
        if (s.nodePortAll()) {
            out.add("delete set " + t + " " + NODEPORT_IPS);
        } else {
            out.add("flush set " + t + " " + NODEPORT_IPS);
            for (IpAddress a : s.nodePortIps()) {
                if (!a.isLoopback()) {
                    out.add("add element " + t + " " + NODEPORT_IPS + " { " + a + " }");
                }
            }
        }
        for (String[] j : JUMPS) {
            out.add("add rule " + t + " " + j[1] + " " + j[2] + "jump " + j[0]);
        }
        String mark = s.mark();
        out.add("add rule " + t + " " + MARK_MASQ + " mark set mark or " + mark);
        out.add("add rule " + t + " " + MASQUERADING + " mark and " + mark + " == 0 return");
        out.add("add rule " + t + " " + MASQUERADING + " mark set mark xor " + mark);
        out.add("add rule " + t + " " + MASQUERADING + " masquerade fully-random");
        out.add("add rule " + t + " " + REJECT_CHAIN + " reject");
        String nodePorts = s.nodePortAll()
                ? "fib daddr type local " + ip + " daddr != " + (ip.equals("ip") ? "127.0.0.0/8" : "::1")
                : ip + " daddr @" + NODEPORT_IPS;
        out.add("add rule " + t + " " + CLUSTER_IPS_CHECK + " " + ip + " daddr @" + CLUSTER_IPS
                + " reject comment \"Reject traffic to invalid ports of ClusterIPs\"");
        out.add("add rule " + t + " " + SERVICE_ENDPOINTS_CHECK + " " + ip + " daddr . meta l4proto . th dport vmap @" + NO_ENDPOINT_SERVICES);
        out.add("add rule " + t + " " + NODEPORT_ENDPOINTS_CHECK + " " + nodePorts + " meta l4proto . th dport vmap @" + NO_ENDPOINT_NODEPORTS);
        out.add("add rule " + t + " " + FIREWALL_CHECK + " " + ip + " daddr . meta l4proto . th dport vmap @" + FIREWALL_IPS);
        out.add("add rule " + t + " " + SERVICES + " " + ip + " daddr . meta l4proto . th dport vmap @" + SERVICE_IPS);
        out.add("add rule " + t + " " + SERVICES + " " + nodePorts + " meta l4proto . th dport vmap @" + SERVICE_NODEPORTS);
        return out;
    }

    /** What one service port owns. */
    static NftModel.ServiceObjects service(ServicePort svc, EndpointSelection sel, NftSettings s) {
        ServicePortName spn = svc.name();
        String ip = s.ip();
        String name = spn.toString();
        String proto = spn.protocol().lower();
        String port = Integer.toString(svc.port());
        IpAddress vip = svc.clusterIp(s.family()).orElseThrow();
        List<IpAddress> externalIps = svc.externalIps(s.family());
        List<IpAddress> lbIps = svc.loadBalancerIps(s.family());
        List<Cidr> sourceRanges = svc.loadBalancerSourceRanges(s.family());
        String svcChain = NftNames.service(spn);
        String localChain = NftNames.local(spn);
        String extChain = NftNames.external(spn);
        String fwChain = NftNames.firewall(spn);

        Routing routing = Routing.of(svc, sel);
        boolean hasEndpoints = routing.hasEndpoints();
        String internalChain = svc.internalPolicyLocal() ? localChain : svcChain;
        boolean hasInternal = routing.hasInternal();
        String externalPolicyChain = svc.externalPolicyLocal() ? localChain : svcChain;
        boolean hasExternal = routing.hasExternal();
        boolean usesExt = routing.usesExternal();
        boolean usesFw = !lbIps.isEmpty() && !sourceRanges.isEmpty();

        String internalVerdict = "goto " + REJECT_CHAIN;
        String externalVerdict = internalVerdict;
        int noLocalInternal = 0;
        int noLocalExternal = 0;
        if (hasEndpoints) {
            internalVerdict = "drop";
            externalVerdict = "drop";
            noLocalInternal = hasInternal ? 0 : 1;
            noLocalExternal = hasExternal ? 0 : 1;
        }

        List<NftModel.Element> elements = new ArrayList<>();
        elements.add(new NftModel.Element(CLUSTER_IPS, vip.toString(), "", ""));
        String vipKey = vip + " . " + proto + " . " + port;
        if (hasInternal) {
            elements.add(new NftModel.Element(SERVICE_IPS, vipKey, "", "goto " + internalChain));
        } else {
            elements.add(new NftModel.Element(NO_ENDPOINT_SERVICES, vipKey, name, internalVerdict));
        }
        for (IpAddress eip : externalIps) {
            String key = eip + " . " + proto + " . " + port;
            if (hasEndpoints) {
                elements.add(new NftModel.Element(SERVICE_IPS, key, "", "goto " + extChain));
            }
            if (!hasExternal) {
                elements.add(new NftModel.Element(NO_ENDPOINT_SERVICES, key, name, externalVerdict));
            }
        }
        List<NftModel.Chain> chains = new ArrayList<>();
        if (usesFw) {
            StringBuilder sources = new StringBuilder();
            boolean allowFromNode = false;
            for (Cidr c : sourceRanges) {
                sources.append(sources.length() == 0 ? "" : ", ").append(c);
                for (IpAddress nodeIp : s.nodeIps()) {
                    allowFromNode |= c.contains(nodeIp);
                }
            }
            if (allowFromNode) {
                for (IpAddress lb : lbIps) {
                    sources.append(", ").append(lb);
                }
            }
            chains.add(new NftModel.Chain(fwChain, List.of(ip + " saddr != { " + sources + " } drop")));
        }
        for (IpAddress lb : lbIps) {
            String key = lb + " . " + proto + " . " + port;
            if (hasEndpoints) {
                elements.add(new NftModel.Element(SERVICE_IPS, key, "", "goto " + extChain));
            }
            if (usesFw) {
                elements.add(new NftModel.Element(FIREWALL_IPS, key, name, "goto " + fwChain));
            }
        }
        if (!hasExternal) {
            for (IpAddress lb : lbIps) {
                elements.add(new NftModel.Element(NO_ENDPOINT_SERVICES, lb + " . " + proto + " . " + port, name, externalVerdict));
            }
        }
        if (svc.nodePort() != 0) {
            String key = proto + " . " + svc.nodePort();
            if (hasEndpoints) {
                elements.add(new NftModel.Element(SERVICE_NODEPORTS, key, "", "goto " + extChain));
            }
            if (!hasExternal) {
                elements.add(new NftModel.Element(NO_ENDPOINT_NODEPORTS, key, name, externalVerdict));
            }
        }

        // the masquerade rule for off-cluster traffic to the cluster IP opens the internal chain
        String masq = null;
        if (hasInternal) {
            if (s.masqueradeAll()) {
                masq = ip + " daddr " + vip + " " + proto + " dport " + port + " jump " + MARK_MASQ;
            } else if (s.localDetectorImplemented()) {
                masq = ip + " daddr " + vip + " " + proto + " dport " + port + " " + s.ifNotLocal() + " jump " + MARK_MASQ;
            }
        }
        if (usesExt) {
            List<String> ext = new ArrayList<>();
            if (!svc.externalPolicyLocal()) {
                ext.add("jump " + MARK_MASQ);
            } else {
                if (s.localDetectorImplemented()) {
                    ext.add(s.ifLocal() + " goto " + svcChain + " comment \"short-circuit pod traffic\"");
                }
                ext.add("fib saddr type local jump " + MARK_MASQ + " comment \"masquerade local traffic\"");
                ext.add("fib saddr type local goto " + svcChain + " comment \"short-circuit local traffic\"");
            }
            if (hasExternal) {
                ext.add("goto " + externalPolicyChain);
            }
            chains.add(new NftModel.Chain(extChain, ext));
        }
        List<NftModel.AffinitySet> sets = new ArrayList<>();
        boolean affinity = svc.sessionAffinity().clientIp();
        if (affinity) {
            for (Endpoint ep : sel.allReachable()) {
                sets.add(new NftModel.AffinitySet(NftNames.affinity(spn, ep), svc.sessionAffinity().timeoutSeconds()));
            }
        }
        if (routing.usesCluster()) {
            chains.add(policyChain(svcChain, svcChain.equals(internalChain) ? masq : null, spn, sel.clusterEndpoints(), affinity, ip));
        }
        if (routing.usesLocal()) {
            chains.add(policyChain(localChain, localChain.equals(internalChain) ? masq : null, spn, sel.localEndpoints(), affinity, ip));
        }
        for (Endpoint ep : sel.allReachable()) {
            List<String> rules = new ArrayList<>(3);
            rules.add(ip + " saddr " + ep.ip() + " jump " + MARK_MASQ);
            if (affinity) {
                rules.add("update @" + NftNames.affinity(spn, ep) + " { " + ip + " saddr }");
            }
            rules.add("meta l4proto " + proto + " dnat to " + ep.address());
            chains.add(new NftModel.Chain(NftNames.endpoint(spn, ep), rules));
        }
        return new NftModel.ServiceObjects(chains, sets, elements, noLocalInternal, noLocalExternal);
    }

    private static NftModel.Chain policyChain(String chain, String masq, ServicePortName spn, List<Endpoint> endpoints,
                                              boolean affinity, String ip) {
        List<String> rules = new ArrayList<>();
        if (masq != null) {
            rules.add(masq);
        }
        if (affinity) {
            for (Endpoint ep : endpoints) {
                rules.add(ip + " saddr @" + NftNames.affinity(spn, ep) + " goto " + NftNames.endpoint(spn, ep));
            }
        }
        StringBuilder vmap = new StringBuilder("numgen random mod ").append(endpoints.size()).append(" vmap { ");
        for (int i = 0; i < endpoints.size(); i++) {
            vmap.append(i == 0 ? "" : ", ").append(i).append(" : goto ").append(NftNames.endpoint(spn, endpoints.get(i)));
        }
        rules.add(vmap.append(" }").toString());
        return new NftModel.Chain(chain, rules);
    }
}
