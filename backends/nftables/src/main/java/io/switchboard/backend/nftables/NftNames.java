package io.switchboard.backend.nftables;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.netfilter.ChainNames;

/**
 * kube-proxy's nftables names. A service port's base name is {@code H8-ns/name/proto/port}, where
 * H8 is the first 8 characters of base32(sha256) of the rest; an endpoint's base appends
 * {@code __ip/port} (IPv6 colons as dots). Names that would exceed the kernel's limit are cut and
 * end in {@code ...}, as upstream does. Every per-service name holds a {@code /}; no fixed one does.
 */
public final class NftNames {
    public static final String TABLE = "kube-proxy";
    public static final String SERVICES = "services";
    public static final String SERVICE_IPS = "service-ips";
    public static final String SERVICE_NODEPORTS = "service-nodeports";
    public static final String NODEPORT_IPS = "nodeport-ips";
    public static final String SERVICE_ENDPOINTS_CHECK = "service-endpoints-check";
    public static final String NODEPORT_ENDPOINTS_CHECK = "nodeport-endpoints-check";
    public static final String CLUSTER_IPS = "cluster-ips";
    public static final String CLUSTER_IPS_CHECK = "cluster-ips-check";
    public static final String NO_ENDPOINT_SERVICES = "no-endpoint-services";
    public static final String NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports";
    public static final String REJECT_CHAIN = "reject-chain";
    public static final String FIREWALL_IPS = "firewall-ips";
    public static final String FIREWALL_CHECK = "firewall-check";
    public static final String MARK_MASQ = "mark-for-masquerade";
    public static final String MASQUERADING = "masquerading";

    /** nftables' name limit (256) less the longest prefix kube-proxy reserves (16). */
    static final int BASE_MAX = 240;

    private NftNames() {
    }

    /** {@code ip} or {@code ip6}: the table family and the address keyword. */
    public static String family(IpFamily family) {
        return family == IpFamily.IPV4 ? "ip" : "ip6";
    }

    /** {@code ipv4_addr} or {@code ipv6_addr}. */
    static String addrType(IpFamily family) {
        return family == IpFamily.IPV4 ? "ipv4_addr" : "ipv6_addr";
    }

    /**
     * The hash of the name, then the name itself with any character nftables does not take in a
     * name ({@code [A-Za-z0-9_./-]}) shown as {@code _}; Kubernetes names never hold one, so this
     * only touches objects the API server would have refused (the hash keeps them apart).
     */
    static String hashed(String name) {
        String s = ChainNames.hash(name).substring(0, 8) + "-" + printable(name);
        return s.length() > BASE_MAX ? s.substring(0, BASE_MAX - 3) + "..." : s;
    }

    private static String printable(String name) {
        StringBuilder sb = null;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'
                    || c == '/' || c == '-';
            if (!ok && sb == null) {
                sb = new StringBuilder(name.length()).append(name, 0, i);
            }
            if (sb != null) {
                sb.append(ok ? c : '_');
            }
        }
        return sb == null ? name : sb.toString();
    }

    /** {@code H8-ns/name/proto/port}. */
    public static String base(ServicePortName spn) {
        return hashed(spn.service().namespace() + "/" + spn.service().name() + "/" + spn.protocol().lower() + "/" + spn.port());
    }

    static String endpointBase(ServicePortName spn, Endpoint ep) {
        String ip = ep.ip().toString().replace(':', '.');
        return hashed(spn.service().namespace() + "/" + spn.service().name() + "/" + spn.protocol().lower() + "/" + spn.port()
                + "__" + ip + "/" + ep.port());
    }

    public static String service(ServicePortName spn) {
        return "service-" + base(spn);
    }

    public static String local(ServicePortName spn) {
        return "local-" + base(spn);
    }

    public static String external(ServicePortName spn) {
        return "external-" + base(spn);
    }

    public static String firewall(ServicePortName spn) {
        return "firewall-" + base(spn);
    }

    public static String endpoint(ServicePortName spn, Endpoint ep) {
        return "endpoint-" + endpointBase(spn, ep);
    }

    public static String affinity(ServicePortName spn, Endpoint ep) {
        return "affinity-" + endpointBase(spn, ep);
    }

    /** A per-service chain or set (the fixed names hold no slash). */
    public static boolean isServiceObject(String name) {
        return name.indexOf('/') >= 0;
    }
}
