package io.switchboard.netfilter.trace;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Follows a packet through parsed rules the way the kernel would for a new connection: nat
 * PREROUTING (or OUTPUT for node-originated packets) for DNAT, then the filter chain for the
 * post-DNAT destination (INPUT, FORWARD or OUTPUT), then nat POSTROUTING for masquerade. Random
 * ({@code -m statistic}) and affinity ({@code -m recent --rcheck}) matches are explored both ways,
 * so the result is every outcome the packet can have.
 */
public final class PacketTracer implements Tracer {
    private static final int MAX_DEPTH = 64;

    private final RuleSet rules;
    private final Set<IpAddress> localAddresses;

    /**
     * @param localAddresses the node's addresses ({@code addrtype LOCAL}); loopback is always local
     */
    public PacketTracer(RuleSet rules, Set<IpAddress> localAddresses) {
        this.rules = rules;
        this.localAddresses = Set.copyOf(localAddresses);
    }

    /**
     * A packet of a new connection.
     *
     * @param fromNode    originated on the node itself (nat OUTPUT) rather than arriving (PREROUTING)
     * @param inInterface the arriving interface, or empty
     */
    public record Packet(IpAddress src, IpAddress dst, String protocol, int dport, boolean fromNode, String inInterface) {
        public static Packet arriving(String src, String dst, String proto, int dport, String iface) {
            return new Packet(IpAddress.parse(src), IpAddress.parse(dst), proto, dport, false, iface);
        }

        public static Packet fromNode(String src, String dst, String proto, int dport) {
            return new Packet(IpAddress.parse(src), IpAddress.parse(dst), proto, dport, true, "");
        }
    }

    /** One possible fate: delivered to {@code destination}, masqueraded or not, or dropped/rejected. */
    public record Outcome(String verdict, String destination, boolean masqueraded) implements Comparable<Outcome> {
        @Override
        public int compareTo(Outcome o) {
            return toString().compareTo(o.toString());
        }

        @Override
        public String toString() {
            return switch (verdict) {
                case "ACCEPT" -> destination + (masqueraded ? " (masqueraded)" : "");
                default -> verdict;
            };
        }
    }

    /**
     * One way a packet can go: its outcome, every rule that matched on the way ("table chain: rule"),
     * the share of new connections that take it (random-probability branches multiplied; 1.0 when
     * no choice was made), and the conditions it depends on (an affinity entry the client may have).
     */
    public record Path(Outcome outcome, List<String> rules, double share, List<String> conditions) {
        public Path {
            rules = List.copyOf(rules);
            conditions = List.copyOf(conditions);
        }
    }

    /** Every path the packet can take, in rule order. */
    @Override
    public List<Path> explain(Packet p) {
        List<Path> out = new ArrayList<>();
        String natStart = p.fromNode() ? "OUTPUT" : "PREROUTING";
        List<State> natResults = new ArrayList<>();
        walkStart("nat", natStart, new State(p.dst(), p.dport(), 0, false), p, natResults);
        for (State afterNat : natResults) {
            boolean dstLocal = isLocal(afterNat.dst);
            String filterStart = p.fromNode() ? "OUTPUT" : dstLocal ? "INPUT" : "FORWARD";
            List<State> filtered = new ArrayList<>();
            walkStart("filter", filterStart, afterNat, p, filtered);
            for (State f : filtered) {
                if (f.verdict != null) {
                    out.add(new Path(new Outcome(f.verdict, "", false), f.path, f.share, f.conditions));
                    continue;
                }
                List<State> post = new ArrayList<>();
                walkStart("nat", "POSTROUTING", f, p, post);
                for (State s : post) {
                    out.add(new Path(new Outcome("ACCEPT", s.dst.withPort(s.dport), s.masqueraded), s.path, s.share, s.conditions));
                }
            }
        }
        return out;
    }

    /** Packet state along one path. */
    private static final class State {
        IpAddress dst;
        int dport;
        long mark;
        boolean dnatted;
        boolean masqueraded;
        String verdict;
        List<String> path = new ArrayList<>();
        List<String> conditions = new ArrayList<>();
        double share = 1.0;

        State(IpAddress dst, int dport, long mark, boolean dnatted) {
            this.dst = dst;
            this.dport = dport;
            this.mark = mark;
            this.dnatted = dnatted;
        }

        State copy() {
            State s = new State(dst, dport, mark, dnatted);
            s.masqueraded = masqueraded;
            s.verdict = verdict;
            s.path = new ArrayList<>(path);
            s.conditions = new ArrayList<>(conditions);
            s.share = share;
            return s;
        }
    }

    /** A state after walking a chain: terminal (the table is done with it) or returned to the caller. */
    private record Step(State st, boolean terminal) {
    }

    private void walkStart(String table, String builtin, State st, Packet p, List<State> results) {
        if (!rules.chain(table, builtin).isEmpty()) {
            for (Step s : walk(table, builtin, 0, st, p, 0)) {
                results.add(s.st());
            }
            return;
        }
        // rendered input without the built-in jumps: enter our chains as the jumps would
        List<String> entry = switch (table + " " + builtin) {
            case "nat PREROUTING", "nat OUTPUT" -> List.of("KUBE-SERVICES");
            case "nat POSTROUTING" -> List.of("KUBE-POSTROUTING");
            case "filter INPUT" -> List.of("KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL");
            case "filter FORWARD" -> List.of("KUBE-PROXY-FIREWALL", "KUBE-FORWARD", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES");
            case "filter OUTPUT" -> List.of("KUBE-PROXY-FIREWALL", "KUBE-SERVICES", "KUBE-FIREWALL");
            default -> List.of();
        };
        List<Step> current = List.of(new Step(st, false));
        for (String chain : entry) {
            List<Step> next = new ArrayList<>();
            for (Step s : current) {
                if (s.terminal() || !rules.hasChain(table, chain)) {
                    next.add(s);
                } else {
                    next.addAll(walk(table, chain, 0, s.st(), p, 0));
                }
            }
            current = next;
        }
        for (Step s : current) {
            results.add(s.st());
        }
    }

    private List<Step> walk(String table, String chain, int index, State st, Packet p, int depth) {
        if (depth > MAX_DEPTH) {
            throw new IllegalStateException("jump loop through " + chain);
        }
        List<Step> out = new ArrayList<>();
        // paths where a random or affinity rule did not match: listed after the ones where it did
        List<Step> deferred = new ArrayList<>();
        List<RuleSet.Rule> list = rules.chain(table, chain);
        for (int i = index; i < list.size(); i++) {
            RuleSet.Rule r = list.get(i);
            String target = r.target();
            if (target == null) {
                continue;
            }
            Match m = matches(r.args(), st, p);
            if (m == Match.NO) {
                continue;
            }
            if (m == Match.MAYBE) {
                // a choice: this rule matches for some new connections and not for others
                State other = st.copy();
                String probability = r.value("--probability");
                if (probability != null) {
                    double pr = Double.parseDouble(probability);
                    other.share *= 1 - pr;
                    st.share *= pr;
                } else {
                    String name = r.value("--name");
                    st.conditions.add("the client has an affinity entry in " + name);
                    other.conditions.add("the client has no affinity entry in " + name);
                }
                deferred.addAll(walk(table, chain, i + 1, other, p, depth));
            }
            st.path.add(table + " " + chain + ": " + RuleSet.join(r.args()));
            switch (target) {
                case "RETURN" -> {
                    out.add(new Step(st, false));
                    return then(out, deferred);
                }
                case "ACCEPT" -> {
                    out.add(new Step(st, true));
                    return then(out, deferred);
                }
                case "DROP", "REJECT" -> {
                    st.verdict = target;
                    out.add(new Step(st, true));
                    return then(out, deferred);
                }
                case "DNAT" -> {
                    String to = r.value("--to-destination");
                    int colon = to.lastIndexOf(':');
                    st.dst = IpAddress.parse(to.substring(0, colon).replace("[", "").replace("]", ""));
                    st.dport = Integer.parseInt(to.substring(colon + 1));
                    st.dnatted = true;
                    out.add(new Step(st, true));
                    return then(out, deferred);
                }
                case "REDIRECT" -> {
                    // to this host: the arriving interface's address (here: the first local address
                    // of the family), or loopback for the node's own packets
                    st.dst = redirectAddress(p);
                    st.dport = Integer.parseInt(r.value("--to-ports"));
                    st.dnatted = true;
                    out.add(new Step(st, true));
                    return then(out, deferred);
                }
                case "MASQUERADE", "SNAT" -> {
                    st.masqueraded = true;
                    out.add(new Step(st, true));
                    return then(out, deferred);
                }
                case "MARK" -> applyMark(r, st);
                default -> {
                    if (!rules.hasChain(table, target)) {
                        throw new IllegalStateException("rule in " + table + " " + chain + " jumps to missing chain " + target);
                    }
                    for (Step s : walk(table, target, 0, st, p, depth + 1)) {
                        if (s.terminal()) {
                            out.add(s);
                        } else {
                            out.addAll(walk(table, chain, i + 1, s.st(), p, depth));
                        }
                    }
                    return then(out, deferred);
                }
            }
        }
        out.add(new Step(st, false));
        return then(out, deferred);
    }

    private static List<Step> then(List<Step> first, List<Step> after) {
        first.addAll(after);
        return first;
    }

    private IpAddress redirectAddress(Packet p) {
        IpFamily family = p.dst().family();
        IpAddress loopback = IpAddress.parse(family == IpFamily.IPV4 ? "127.0.0.1" : "::1");
        if (p.fromNode()) {
            return loopback;
        }
        return localAddresses.stream().filter(a -> a.family() == family).sorted().findFirst().orElse(loopback);
    }

    private static void applyMark(RuleSet.Rule r, State st) {
        String v;
        if ((v = r.value("--set-xmark")) != null) {
            long[] vm = valueMask(v);
            st.mark = (st.mark & ~vm[1]) ^ vm[0];
        } else if ((v = r.value("--or-mark")) != null) {
            st.mark |= Long.decode(v);
        } else if ((v = r.value("--xor-mark")) != null) {
            st.mark ^= Long.decode(v);
        } else if ((v = r.value("--set-mark")) != null) {
            long[] vm = valueMask(v);
            st.mark = (st.mark & ~vm[1]) | vm[0];
        } else if ((v = r.value("--and-mark")) != null) {
            st.mark &= Long.decode(v);
        }
    }

    private static long[] valueMask(String v) {
        int slash = v.indexOf('/');
        if (slash < 0) {
            return new long[]{Long.decode(v), 0xffffffffL};
        }
        return new long[]{Long.decode(v.substring(0, slash)), Long.decode(v.substring(slash + 1))};
    }

    private enum Match { YES, NO, MAYBE }

    private boolean isLocal(IpAddress ip) {
        return ip.isLoopback() || localAddresses.contains(ip);
    }

    /** Evaluates a rule's matches against the packet. Unknown matches fail loudly. */
    private Match matches(List<String> a, State st, Packet p) {
        boolean maybe = false;
        boolean neg = false;
        int i = 0;
        while (i < a.size()) {
            String t = a.get(i);
            if (t.equals("!")) {
                neg = true;
                i++;
                continue;
            }
            boolean result;
            switch (t) {
                case "-j" -> {
                    return maybe ? Match.MAYBE : Match.YES;
                }
                case "-m" -> {
                    String module = a.get(i + 1);
                    i += 2;
                    if (module.equals("statistic") || (module.equals("recent") && a.contains("--rcheck"))) {
                        maybe = true;
                    }
                    continue;
                }
                case "-s", "--source" -> result = cidrMatch(a.get(++i), p.src());
                case "-d", "--destination" -> result = cidrMatch(a.get(++i), st.dst);
                case "-p", "--protocol" -> result = a.get(++i).equalsIgnoreCase(p.protocol());
                case "--dport", "--destination-port" -> result = Integer.parseInt(a.get(++i)) == st.dport;
                case "-i", "--in-interface" -> result = ifaceMatch(a.get(++i), p.inInterface());
                case "-o", "--out-interface" -> {
                    i++;
                    result = true;
                }
                case "--comment" -> {
                    i++;
                    result = true;
                }
                case "--dst-type" -> result = a.get(++i).equals("LOCAL") == isLocal(st.dst);
                case "--src-type" -> result = a.get(++i).equals("LOCAL") == (p.fromNode() || isLocal(p.src()));
                case "--mark" -> {
                    long[] vm = valueMask(a.get(++i));
                    result = (st.mark & vm[1]) == vm[0];
                }
                case "--ctstate", "--state" -> {
                    Set<String> states = Set.of(a.get(++i).split(","));
                    result = states.contains("NEW") || (states.contains("DNAT") && st.dnatted);
                }
                case "--mode", "--name", "--seconds", "--mask", "--probability" -> {
                    i++;
                    result = true;
                }
                case "--rcheck", "--reap", "--set", "--rsource", "--update" -> result = true;
                default -> throw new IllegalArgumentException("tracer does not understand \"" + t + "\" in " + a);
            }
            if (result == neg) {
                return Match.NO;
            }
            neg = false;
            i++;
        }
        return maybe ? Match.MAYBE : Match.YES;
    }

    private static boolean cidrMatch(String spec, IpAddress ip) {
        Cidr c = spec.contains("/") ? Cidr.parse(spec) : Cidr.parse(spec + (spec.contains(":") ? "/128" : "/32"));
        return c.contains(ip);
    }

    private static boolean ifaceMatch(String spec, String iface) {
        if (spec.endsWith("+")) {
            return iface.startsWith(spec.substring(0, spec.length() - 1));
        }
        return spec.equals(iface);
    }
}
