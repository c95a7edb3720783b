package io.switchboard.app.inspect;

import io.switchboard.core.model.IpAddress;
import io.switchboard.netfilter.trace.PacketTracer;
import io.switchboard.netfilter.trace.RuleSet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Pure: rules (iptables-save or restore text) + the node's addresses + a packet → every path a new
 * connection can take, in plain words, and a summary of where new connections go and how often.
 */
public final class Explainer {
    /** Chains that hand traffic to the userspace proxy. */
    private static final Set<String> PORTAL_CHAINS = Set.of("KUBE-PORTALS-CONTAINER", "KUBE-PORTALS-HOST",
            "KUBE-NODEPORT-CONTAINER", "KUBE-NODEPORT-HOST");

    /** Where new connections end up: destination (or verdict) → share of new connections (affinity aside). */
    public record Result(PacketTracer.Packet packet, List<PacketTracer.Path> paths, Map<String, Double> shares,
                         Integer proxyPort, List<String> proxyEndpoints) {
        /** With the userspace proxy's endpoints for {@link #proxyPort} (null: the proxy could not be asked). */
        public Result withProxyEndpoints(List<String> endpoints) {
            return new Result(packet, paths, shares, proxyPort, endpoints);
        }
    }

    private Explainer() {
    }

    public static Result explain(String rules, Set<IpAddress> local, PacketTracer.Packet packet) {
        return explain(new PacketTracer(RuleSet.parse(rules), local), packet);
    }

    /** The same over an nftables table ({@code nft list table} text) of the nftables mode. */
    public static Result explainNft(String table, Set<IpAddress> local, PacketTracer.Packet packet) {
        return explain(new io.switchboard.netfilter.trace.NftTracer(io.switchboard.netfilter.trace.NftTable.parse(table), local), packet);
    }

    static Result explain(io.switchboard.netfilter.trace.Tracer tracer, PacketTracer.Packet packet) {
        List<PacketTracer.Path> paths = tracer.explain(packet);
        Map<String, Double> shares = new TreeMap<>();
        Integer proxyPort = null;
        for (PacketTracer.Path p : paths) {
            boolean sticky = p.conditions().stream().anyMatch(c -> c.startsWith("the client has an affinity entry"));
            if (!sticky) {
                shares.merge(target(p), p.share(), Double::sum);
            }
            if (p.rules().stream().anyMatch(r -> PORTAL_CHAINS.contains(r.split(" ")[1].replace(":", "")))) {
                String d = p.outcome().destination();
                proxyPort = Integer.parseInt(d.substring(d.lastIndexOf(':') + 1));
            }
        }
        return new Result(packet, paths, shares, proxyPort, null);
    }

    private static String target(PacketTracer.Path p) {
        return p.outcome().verdict().equals("ACCEPT") ? p.outcome().destination() : p.outcome().verdict();
    }

    /** Plain words. */
    public static String text(Result r) {
        StringBuilder sb = new StringBuilder();
        PacketTracer.Packet p = r.packet();
        sb.append(p.protocol()).append(' ').append(p.src()).append(" -> ").append(p.dst().withPort(p.dport()))
                .append(p.fromNode() ? " (from this node)" : p.inInterface().isEmpty() ? "" : " (arriving on " + p.inInterface() + ")")
                .append('\n');
        int n = 0;
        for (PacketTracer.Path path : r.paths()) {
            n++;
            sb.append("\npath ").append(n).append(" of ").append(r.paths().size());
            List<String> notes = new ArrayList<>();
            if (path.share() < 1.0) {
                notes.add(percent(path.share()) + " of new connections");
            }
            notes.addAll(path.conditions());
            if (!notes.isEmpty()) {
                sb.append(" (").append(String.join("; ", notes)).append(')');
            }
            sb.append('\n');
            for (String rule : path.rules()) {
                sb.append("  ").append(rule).append('\n');
            }
            sb.append("  => ").append(words(path.outcome())).append('\n');
        }
        sb.append('\n').append(summary(r)).append('\n');
        return sb.toString();
    }

    static String summary(Result r) {
        if (r.paths().isEmpty()) {
            return "no rule matches: the packet is routed as it is";
        }
        List<String> parts = new ArrayList<>();
        r.shares().forEach((k, v) -> parts.add(k + " " + percent(v)));
        String s = "new connections: " + String.join(", ", parts);
        if (r.proxyPort() != null) {
            s += "\nthe portal rules hand it to the userspace proxy on local port " + r.proxyPort()
                    + "; the proxy picks the endpoint (round robin, or the client's affinity)";
            if (r.proxyEndpoints() != null) {
                s += r.proxyEndpoints().isEmpty() ? ": it has no endpoint for this traffic (the connection is reset)"
                        : " among " + String.join(", ", r.proxyEndpoints());
            }
        }
        return s;
    }

    private static String words(PacketTracer.Outcome o) {
        return switch (o.verdict()) {
            case "REJECT" -> "rejected (the client is refused at once: the service has no endpoints)";
            case "DROP" -> "dropped (no endpoint may serve this traffic, e.g. no local endpoint for a Local policy)";
            default -> "delivered to " + o.destination() + (o.masqueraded() ? ", source masqueraded to the node" : ", source kept");
        };
    }

    private static String percent(double share) {
        return String.format(Locale.ROOT, "%.1f%%", share * 100);
    }

    /** JSON: the packet, every path, and the shares of new connections. */
    public static String json(Result r) {
        Map<String, Object> root = new LinkedHashMap<>();
        PacketTracer.Packet p = r.packet();
        root.put("protocol", p.protocol());
        root.put("source", p.src().toString());
        root.put("destination", p.dst().withPort(p.dport()));
        root.put("fromNode", p.fromNode());
        List<Object> paths = new ArrayList<>();
        for (PacketTracer.Path path : r.paths()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("verdict", path.outcome().verdict());
            m.put("destination", path.outcome().destination());
            m.put("masqueraded", path.outcome().masqueraded());
            m.put("share", path.share());
            m.put("conditions", path.conditions());
            m.put("rules", path.rules());
            paths.add(m);
        }
        root.put("paths", paths);
        root.put("newConnections", r.shares());
        if (r.proxyPort() != null) {
            root.put("userspaceProxyPort", r.proxyPort());
            root.put("userspaceProxyEndpoints", r.proxyEndpoints());
        }
        return Inspect.json(root);
    }
}
