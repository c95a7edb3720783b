package io.switchboard.app.inspect;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.trace.NftTable;
import io.switchboard.netfilter.trace.NftTracer;
import io.switchboard.netfilter.trace.PacketTracer;
import io.switchboard.netfilter.trace.Tracer;
import io.switchboard.netfilter.trace.RuleSet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pure: the rules of one family → every service port address they program, and where a new
 * connection from outside the node goes (traced, so it holds for whichever layout wrote the rules:
 * kube-proxy's or Switchboard's iptables chains, or the userspace mode's portals).
 */
public final class KernelServices {
    private static final Pattern AFFINITY = Pattern.compile("--seconds (\\d+)");
    private static final Pattern NFT_AFFINITY = Pattern.compile("saddr @(affinity-\\S+) goto");

    /** One programmed address of a service port; {@code drift} is empty unless compared with the API. */
    public record Row(String service, String kind, String address, String protocol, List<String> endpoints,
                      String affinity, String drift) {
        Row(String service, String kind, String address, String protocol, List<String> endpoints, String affinity) {
            this(service, kind, address, protocol, endpoints, affinity, "");
        }

        Row withDrift(String d) {
            return new Row(service, kind, address, protocol, endpoints, affinity, d);
        }
    }

    private KernelServices() {
    }

    public static List<Row> read(String rules, IpFamily family, Set<IpAddress> local, String namespace) {
        RuleSet rs = RuleSet.parse(rules);
        PacketTracer tracer = new PacketTracer(rs, local);
        IpAddress client = IpAddress.parse(family == IpFamily.IPV4 ? "203.0.113.1" : "2001:db8:ffff::1");
        IpAddress nodeIp = local.stream().filter(a -> a.family() == family && !a.isLoopback()).sorted().findFirst().orElse(null);
        List<Row> rows = new ArrayList<>();
        Set<String> seen = new TreeSet<>();
        Map<String, String> chains = new LinkedHashMap<>();
        chains.put("KUBE-SERVICES", "");
        chains.put("KUBE-PORTALS-CONTAINER", "service IP");
        chains.put("KUBE-NODEPORTS", "node port");
        chains.put("KUBE-NODEPORT-CONTAINER", "node port");
        for (Map.Entry<String, String> c : chains.entrySet()) {
            for (RuleSet.Rule r : rs.chain("nat", c.getKey())) {
                String comment = r.comment();
                String port = r.value("--dport");
                String proto = r.value("-p");
                if (comment == null || port == null || proto == null || !comment.contains("/")) {
                    continue;
                }
                String service = comment.split(" ")[0];
                String kind = c.getValue();
                if (kind.isEmpty()) {
                    kind = comment.endsWith(" cluster IP") ? "cluster IP" : comment.endsWith(" external IP") ? "external IP"
                            : comment.endsWith(" loadbalancer IP") ? "load-balancer IP" : null;
                    if (kind == null) {
                        continue;
                    }
                }
                if (namespace != null && !service.startsWith(namespace + "/")) {
                    continue;
                }
                IpAddress dst;
                String d = r.value("-d");
                if (d != null) {
                    dst = IpAddress.parse(d.substring(0, d.indexOf('/') < 0 ? d.length() : d.indexOf('/')));
                } else if (nodeIp != null) {
                    dst = nodeIp;
                } else {
                    continue;
                }
                String address = (kind.equals("node port") ? "*" : dst.toString()) + ":" + port;
                if (!seen.add(service + " " + kind + " " + address + " " + proto)) {
                    continue;
                }
                rows.add(row(tracer, client, dst, Integer.parseInt(port), proto, service, kind, address));
            }
        }
        // services without endpoints have no nat rules: their REJECT rules name them
        for (String chain : List.of("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES")) {
            for (RuleSet.Rule r : rs.chain("filter", chain)) {
                String comment = r.comment();
                if (comment == null || !comment.endsWith(" has no endpoints") || r.value("--dport") == null) {
                    continue;
                }
                String service = comment.split(" ")[0];
                if (namespace != null && !service.startsWith(namespace + "/")) {
                    continue;
                }
                String d = r.value("-d");
                String address = (d == null ? "*" : d.replaceAll("/(32|128)$", "")) + ":" + r.value("--dport");
                if (seen.add(service + " rejected " + address)) {
                    rows.add(new Row(service, d == null ? "node port" : "service IP", address, r.value("-p"),
                            List.of("none: REJECT"), ""));
                }
            }
        }
        rows.sort((a, b) -> (a.service() + a.kind() + a.address()).compareTo(b.service() + b.kind() + b.address()));
        return rows;
    }

    /**
     * The same for an nftables table of the nftables mode ({@code nft list table} text): every
     * element of its dispatch maps is a row, named by the chain it leads to (or its comment), traced.
     */
    public static List<Row> readNft(String tableText, IpFamily family, Set<IpAddress> local, String namespace) {
        NftTable table = NftTable.parse(tableText);
        NftTracer tracer = new NftTracer(table, local);
        IpAddress client = IpAddress.parse(family == IpFamily.IPV4 ? "203.0.113.1" : "2001:db8:ffff::1");
        IpAddress nodeIp = local.stream().filter(a -> a.family() == family && !a.isLoopback()).sorted().findFirst().orElse(null);
        List<Row> rows = new ArrayList<>();
        for (String map : List.of("service-ips", "service-nodeports", "no-endpoint-services", "no-endpoint-nodeports")) {
            boolean nodePorts = map.endsWith("nodeports");
            for (NftTable.Element e : table.map(map).values()) {
                String[] key = e.key().split(" \\. ");
                String service = e.comment().isEmpty() ? serviceOf(e.verdict()) : e.comment();
                if (service == null || (namespace != null && !service.startsWith(namespace + "/"))) {
                    continue;
                }
                String proto = nodePorts ? key[0] : key[1];
                int port = Integer.parseInt(nodePorts ? key[1] : key[2]);
                IpAddress dst = nodePorts ? nodeIp : IpAddress.parse(key[0]);
                String address = (nodePorts ? "*" : key[0]) + ":" + port;
                if (map.startsWith("no-endpoint")) {
                    if (e.verdict().contains("reject")) {
                        rows.add(new Row(service, nodePorts ? "node port" : "service IP", address, proto, List.of("none: REJECT"), ""));
                    }
                    continue;
                }
                if (dst == null) {
                    continue;
                }
                String chain = e.verdict().substring(e.verdict().indexOf(' ') + 1);
                String kind = nodePorts ? "node port" : !chain.startsWith("external-") ? "cluster IP"
                        : table.map("firewall-ips").containsKey(e.key()) ? "load-balancer IP" : "external IP";
                rows.add(row(tracer, client, dst, port, proto, service, kind, address, table));
            }
        }
        rows.sort((a, b) -> (a.service() + a.kind() + a.address()).compareTo(b.service() + b.kind() + b.address()));
        return rows;
    }

    /** {@code goto service-H8-ns/name/proto/port} → {@code ns/name:port}; null for other verdicts. */
    static String serviceOf(String verdict) {
        int dash = verdict.indexOf('-');
        if (!verdict.startsWith("goto ") || dash < 0 || verdict.indexOf('/') < 0) {
            return null;
        }
        String base = verdict.substring(dash + 1);
        String[] p = base.substring(base.indexOf('-') + 1).split("/", -1);
        if (p.length < 4) {
            return null;
        }
        return p[0] + "/" + p[1] + (p[3].isEmpty() ? "" : ":" + p[3]);
    }

    private static Row row(Tracer tracer, IpAddress client, IpAddress dst, int port, String proto, String service,
                           String kind, String address) {
        return row(tracer, client, dst, port, proto, service, kind, address, null);
    }

    private static Row row(Tracer tracer, IpAddress client, IpAddress dst, int port, String proto, String service,
                           String kind, String address, NftTable nft) {
        Explainer.Result r = Explainer.explain(tracer, PacketTracer.Packet.arriving(client.toString(), dst.toString(), proto, port, "eth0"));
        List<String> endpoints = new ArrayList<>();
        String affinity = "";
        for (PacketTracer.Path p : r.paths()) {
            for (String rule : p.rules()) {
                Matcher m = AFFINITY.matcher(rule);
                if (rule.contains("--rcheck") && m.find()) {
                    affinity = "ClientIP " + m.group(1) + "s";
                }
                Matcher set = NFT_AFFINITY.matcher(rule);
                if (nft != null && set.find()) {
                    affinity = "ClientIP " + nft.setTimeoutSeconds(set.group(1)) + "s";
                }
            }
        }
        if (r.proxyPort() != null) {
            endpoints.add("userspace proxy on port " + r.proxyPort());
        } else {
            r.shares().forEach((k, v) -> endpoints.add(k.contains(":") ? k + " (" + String.format(Locale.ROOT, "%.1f%%", v * 100) + ")"
                    : "none: " + k));
        }
        return new Row(service, kind, address, proto, endpoints, affinity);
    }

    /** A table, one row per address (with a DRIFT column when the rows were compared with the API). */
    public static String text(List<Row> rows) {
        boolean drift = rows.stream().anyMatch(r -> !r.drift().isEmpty());
        StringBuilder sb = new StringBuilder(String.format("%-28s %-17s %-28s %-5s %-14s %s%s%n", "SERVICE", "KIND", "ADDRESS", "PROTO",
                "AFFINITY", drift ? String.format("%-32s ", "DRIFT") : "", "ENDPOINTS (share of new connections)"));
        for (Row r : rows) {
            sb.append(String.format("%-28s %-17s %-28s %-5s %-14s %s%s%n", r.service(), r.kind(), r.address(), r.protocol(),
                    r.affinity().isEmpty() ? "-" : r.affinity(), drift ? String.format("%-32s ", r.drift()) : "",
                    String.join(", ", r.endpoints())));
        }
        return sb.toString();
    }

    public static String json(List<Row> rows) {
        return Inspect.json(rows);
    }
}
