package io.switchboard.testkit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A small cluster made of network namespaces, all on this machine:
 * <pre>
 *   ext (192.168.100.9) ──eth0── node (192.168.100.2, 172.18.0.1) ──eth1── node2 (172.18.0.2)
 *                                 ├─ cni0 bridge 10.244.1.1/24 ── pods 10.244.1.x   (Flannel style)
 *                                 ├─ caliN veth, /32 routes   ── pods 10.244.2.x   (Calico style)
 *                                 └─ svc0 veth pair (route for the service range, stays inside)
 *                                                          node2: cni0 10.244.3.1/24 ── pods 10.244.3.x
 * </pre>
 * Every link and pod is dual-stack: the same picture in IPv6 under {@code fd00::/8} (node
 * {@value #NODE_IP6}, ext {@value #EXT_IP6}, node link {@code fd00:18::/64}, pods
 * {@code fd00:10:244:<n>::x}, services {@value #SERVICE_CIDR6}); Calico-style pods reach the node
 * through a pinned link-local gateway, as IPv4 ones through 169.254.1.1.
 * No namespace has a default route; private ranges not routed explicitly ({@code 10/8},
 * {@code 172.16/12}, {@code 192.168/16}, {@code fc00::/7}) are unreachable, so no test packet can
 * leave the machine.
 */
public final class TestCluster implements AutoCloseable {
    public static final String NODE_IP = "192.168.100.2";
    public static final String EXT_IP = "192.168.100.9";
    public static final String NODE2_LINK_IP = "172.18.0.2";
    public static final String SERVICE_CIDR = "10.96.0.0/16";
    public static final String CLUSTER_CIDR = "10.244.0.0/16";
    public static final String NODE_IP6 = "fd00:100::2";
    public static final String EXT_IP6 = "fd00:100::9";
    public static final String SERVICE_CIDR6 = "fd00:10:96::/112";
    public static final String CLUSTER_CIDR6 = "fd00:10:244::/48";
    private static final List<String> PRIVATE4 = List.of("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16");
    private static final String PRIVATE6 = "fc00::/7";
    private static final String CALI_GW6 = "fe80::ecee:eeff:feee:eeee";

    private final String prefix;
    private final List<String> namespaces = new ArrayList<>();
    private final Map<String, String> pods = new LinkedHashMap<>();
    private final Map<String, String> pods6 = new LinkedHashMap<>();
    private int bridgePods;
    private int caliPods;
    private int node2Pods;

    public TestCluster() {
        this.prefix = "sb" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xffff)) + "-";
        try {
            build();
        } catch (RuntimeException e) {
            // whatever failed, nothing this cluster created is left behind
            close();
            throw e;
        }
    }

    public String node() {
        return prefix + "node";
    }

    public String node2() {
        return prefix + "node2";
    }

    public String ext() {
        return prefix + "ext";
    }

    /** Pod namespace by pod name. */
    public String podNs(String pod) {
        return prefix + pod;
    }

    /** Pod IP by pod name. */
    public String podIp(String pod) {
        return pods.get(pod);
    }

    /** Pod IPv6 address by pod name. */
    public String podIp6(String pod) {
        return pods6.get(pod);
    }

    /** Adds an IPv6 address at once (no duplicate address detection, so it is usable immediately). */
    private static void addr6(String ns, String cidr, String dev) {
        Netns.exec(ns, "ip", "-6", "addr", "add", cidr, "dev", dev, "nodad");
    }

    private void ns(String name) {
        Netns.add(name);
        namespaces.add(name);
    }

    private void build() {
        String node = node();
        String node2 = node2();
        String ext = ext();
        ns(node);
        ns(node2);
        ns(ext);
        for (String n : List.of(node, node2)) {
            Netns.exec(n, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            Netns.exec(n, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
            Netns.exec(n, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1");
            Netns.exec(n, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-ip6tables=1");
        }
        // node <-> ext
        Netns.exec(node, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", ext);
        Netns.exec(node, "ip", "addr", "add", NODE_IP + "/24", "dev", "eth0");
        Netns.exec(node, "ip", "link", "set", "eth0", "up");
        Netns.exec(ext, "ip", "addr", "add", EXT_IP + "/24", "dev", "eth0");
        Netns.exec(ext, "ip", "link", "set", "eth0", "up");
        addr6(node, NODE_IP6 + "/64", "eth0");
        addr6(ext, EXT_IP6 + "/64", "eth0");
        // node <-> node2
        Netns.exec(node, "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", node2);
        Netns.exec(node, "ip", "addr", "add", "172.18.0.1/24", "dev", "eth1");
        Netns.exec(node, "ip", "link", "set", "eth1", "up");
        Netns.exec(node2, "ip", "addr", "add", NODE2_LINK_IP + "/24", "dev", "eth0");
        Netns.exec(node2, "ip", "link", "set", "eth0", "up");
        Netns.exec(node, "ip", "route", "add", "10.244.3.0/24", "via", NODE2_LINK_IP);
        Netns.exec(node2, "ip", "route", "add", "10.244.0.0/16", "via", "172.18.0.1");
        Netns.exec(node2, "ip", "route", "add", SERVICE_CIDR, "via", "172.18.0.1");
        addr6(node, "fd00:18::1/64", "eth1");
        addr6(node2, "fd00:18::2/64", "eth0");
        Netns.exec(node, "ip", "-6", "route", "add", "fd00:10:244:3::/64", "via", "fd00:18::2");
        Netns.exec(node2, "ip", "-6", "route", "add", CLUSTER_CIDR6, "via", "fd00:18::1");
        Netns.exec(node2, "ip", "-6", "route", "add", SERVICE_CIDR6, "via", "fd00:18::1");
        // bridges
        for (String[] b : List.of(new String[]{node, "10.244.1.1/24", "fd00:10:244:1::1/64"},
                new String[]{node2, "10.244.3.1/24", "fd00:10:244:3::1/64"})) {
            Netns.exec(b[0], "ip", "link", "add", "cni0", "type", "bridge");
            Netns.exec(b[0], "ip", "addr", "add", b[1], "dev", "cni0");
            addr6(b[0], b[2], "cni0");
            Netns.exec(b[0], "ip", "link", "set", "cni0", "up");
        }
        // node-originated traffic to service VIPs needs a route; this one stays inside the node
        Netns.exec(node, "ip", "link", "add", "svc0", "type", "veth", "peer", "name", "svc1");
        Netns.exec(node, "ip", "link", "set", "svc0", "up");
        Netns.exec(node, "ip", "link", "set", "svc1", "up");
        Netns.exec(node, "ip", "route", "add", SERVICE_CIDR, "dev", "svc0");
        Netns.exec(node, "ip", "-6", "route", "add", SERVICE_CIDR6, "dev", "svc0");
        // the external client reaches services (external IPs / LB IPs) through the node
        Netns.exec(ext, "ip", "route", "add", SERVICE_CIDR, "via", NODE_IP);
        Netns.exec(ext, "ip", "route", "add", "198.51.100.0/24", "via", NODE_IP);
        Netns.exec(ext, "ip", "-6", "route", "add", SERVICE_CIDR6, "via", NODE_IP6);
        for (String n : List.of(node, node2, ext)) {
            unreachable(n);
        }
    }

    private static void unreachable(String ns) {
        for (String r : PRIVATE4) {
            Netns.exec(ns, "ip", "route", "add", "unreachable", r);
        }
        Netns.exec(ns, "ip", "-6", "route", "add", "unreachable", PRIVATE6);
    }

    /** A pod on the node's cni0 bridge (Flannel style). Returns its IP. */
    public String bridgePod(String name) {
        int n = 10 + bridgePods++;
        String ip = "10.244.1." + n;
        addBridgePod(node(), name, ip, "10.244.1.1", "fd00:10:244:1::" + Integer.toHexString(n), "fd00:10:244:1::1");
        return ip;
    }

    /** A pod on node2 (a remote node). */
    public String node2Pod(String name) {
        int n = 10 + node2Pods++;
        String ip = "10.244.3." + n;
        addBridgePod(node2(), name, ip, "10.244.3.1", "fd00:10:244:3::" + Integer.toHexString(n), "fd00:10:244:3::1");
        return ip;
    }

    private void addBridgePod(String host, String name, String ip, String gw, String ip6, String gw6) {
        String ns = podNs(name);
        ns(ns);
        String hostIf = ("v" + Integer.toHexString(name.hashCode())).substring(0, Math.min(12, 1 + Integer.toHexString(name.hashCode()).length()));
        Netns.exec(host, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Netns.exec(host, "ip", "link", "set", hostIf, "master", "cni0");
        Netns.exec(host, "ip", "link", "set", hostIf, "up");
        Netns.exec(host, "bridge", "link", "set", "dev", hostIf, "hairpin", "on");
        Netns.exec(ns, "ip", "addr", "add", ip + "/24", "dev", "eth0");
        addr6(ns, ip6 + "/64", "eth0");
        Netns.exec(ns, "ip", "link", "set", "eth0", "up");
        for (String r : PRIVATE4) {
            Netns.exec(ns, "ip", "route", "add", r, "via", gw);
        }
        Netns.exec(ns, "ip", "-6", "route", "add", PRIVATE6, "via", gw6);
        pods.put(name, ip);
        pods6.put(name, ip6);
    }

    /** A pod on a routed cali* interface (Calico style, /32 route, proxy ARP gateway). */
    public String caliPod(String name) {
        String ip = "10.244.2." + (10 + caliPods);
        String ip6 = "fd00:10:244:2::" + Integer.toHexString(10 + caliPods);
        String hostIf = "cali" + String.format("%08x", name.hashCode()).substring(0, 7);
        caliPods++;
        String ns = podNs(name);
        ns(ns);
        String node = node();
        Netns.exec(node, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Netns.exec(node, "sysctl", "-q", "-w", "net.ipv4.conf." + hostIf + ".proxy_arp=1");
        Netns.exec(node, "ip", "link", "set", hostIf, "up");
        Netns.exec(node, "ip", "route", "add", ip + "/32", "dev", hostIf);
        Netns.exec(ns, "ip", "addr", "add", ip + "/32", "dev", "eth0");
        Netns.exec(ns, "ip", "link", "set", "eth0", "up");
        Netns.exec(ns, "ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link");
        // Calico's gateway 169.254.1.1 is answered by proxy ARP on the host side; without a default
        // route on the node, pin the neighbour entry instead
        String mac = Netns.exec(node, "cat", "/sys/class/net/" + hostIf + "/address").strip();
        Netns.exec(ns, "ip", "neigh", "replace", "169.254.1.1", "lladdr", mac, "dev", "eth0", "nud", "permanent");
        for (String r : PRIVATE4) {
            Netns.exec(ns, "ip", "route", "add", r, "via", "169.254.1.1", "dev", "eth0", "onlink");
        }
        // IPv6 the same way: a fixed link-local gateway pinned to the host side's MAC
        Netns.exec(node, "ip", "-6", "route", "add", ip6 + "/128", "dev", hostIf);
        addr6(ns, ip6 + "/128", "eth0");
        Netns.exec(ns, "ip", "-6", "neigh", "replace", CALI_GW6, "lladdr", mac, "dev", "eth0", "nud", "permanent");
        Netns.exec(ns, "ip", "-6", "route", "add", PRIVATE6, "via", CALI_GW6, "dev", "eth0");
        pods.put(name, ip);
        pods6.put(name, ip6);
        return ip;
    }

    /** All namespaces made, for diagnostics. */
    public List<String> namespaces() {
        return List.copyOf(namespaces);
    }

    @Override
    public void close() {
        for (int i = namespaces.size() - 1; i >= 0; i--) {
            Netns.delete(namespaces.get(i));
        }
    }
}
