package io.switchboard.netfilter.trace;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.IpAddress;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Follows a new connection through an nftables table of the nftables mode's layout, as the kernel
 * would: for an arriving packet filter-prerouting, nat-prerouting, then filter-input or
 * filter-forward (after DNAT), then nat-postrouting; for a packet from the node filter-output,
 * nat-output, nat-postrouting. Verdict maps are looked up with the packet's key; a {@code numgen}
 * map is explored for every value (each with its share), an affinity-set match both ways (as a
 * condition). The statements understood are the ones the mode writes; others are ignored.
 */
public final class NftTracer implements Tracer {
    private static final int MAX_DEPTH = 64;
    private final NftTable table;
    private final Set<IpAddress> local;

    public NftTracer(NftTable table, Set<IpAddress> localAddresses) {
        this.table = table;
        this.local = Set.copyOf(localAddresses);
    }

    private static final class State {
        IpAddress dst;
        int dport;
        boolean mark;
        boolean masqueraded;
        boolean dnatted;
        /** DROP, REJECT: the packet's end; ACCEPT: the end of this hook; RETURN: back to the caller */
        String verdict;
        List<String> path = new ArrayList<>();
        List<String> conditions = new ArrayList<>();
        double share = 1.0;

        State copy() {
            State s = new State();
            s.dst = dst;
            s.dport = dport;
            s.mark = mark;
            s.masqueraded = masqueraded;
            s.dnatted = dnatted;
            s.verdict = verdict;
            s.path = new ArrayList<>(path);
            s.conditions = new ArrayList<>(conditions);
            s.share = share;
            return s;
        }
    }

    @Override
    public List<PacketTracer.Path> explain(PacketTracer.Packet p) {
        State start = new State();
        start.dst = p.dst();
        start.dport = p.dport();
        List<State> states = List.of(start);
        // kube-proxy's older layout filters at priority -110 in filter-prerouting/-output (before
        // DNAT); the current one (written here) in *-pre-dnat chains, and checks endpoints after DNAT
        boolean preDnat = table.chains().containsKey("filter-output-pre-dnat");
        List<String> hooks = p.fromNode()
                ? preDnat ? List.of("filter-output-pre-dnat", "nat-output", "filter-output") : List.of("filter-output", "nat-output")
                : List.of(preDnat ? "filter-prerouting-pre-dnat" : "filter-prerouting", "nat-prerouting");
        for (String hook : hooks) {
            states = hook(hook, states, p);
        }
        if (!p.fromNode()) {
            List<State> next = new ArrayList<>();
            for (State s : states) {
                if (s.verdict != null) {
                    next.add(s);
                } else {
                    next.addAll(hook(isLocal(s.dst) ? "filter-input" : "filter-forward", List.of(s), p));
                }
            }
            states = next;
        }
        states = hook("nat-postrouting", states, p);
        List<PacketTracer.Path> out = new ArrayList<>();
        for (State s : states) {
            PacketTracer.Outcome o = s.verdict != null ? new PacketTracer.Outcome(s.verdict, "", false)
                    : new PacketTracer.Outcome("ACCEPT", s.dst.withPort(s.dport), s.masqueraded);
            out.add(new PacketTracer.Path(o, s.path, s.share, s.conditions));
        }
        return out;
    }

    /** Runs one base chain for every state still going; ACCEPT and RETURN end the hook only. */
    private List<State> hook(String chain, List<State> in, PacketTracer.Packet p) {
        List<State> out = new ArrayList<>();
        for (State s : in) {
            if (s.verdict != null || !table.chains().containsKey(chain)) {
                out.add(s);
                continue;
            }
            for (State r : walk(chain, s, p, 0)) {
                if ("ACCEPT".equals(r.verdict) || "RETURN".equals(r.verdict)) {
                    r.verdict = null;
                }
                out.add(r);
            }
        }
        return out;
    }

    /** The states that leave a chain: with a verdict, or RETURN / fallen off its end (verdict RETURN). */
    private List<State> walk(String chain, State s, PacketTracer.Packet p, int depth) {
        if (depth > MAX_DEPTH) {
            throw new IllegalStateException("chain loop at " + chain);
        }
        List<State> out = new ArrayList<>();
        rules(chain, 0, s, p, depth, out);
        return out;
    }

    private void rules(String chain, int from, State s, PacketTracer.Packet p, int depth, List<State> out) {
        List<String> rules = table.chain(chain);
        for (int i = from; i < rules.size(); i++) {
            List<State> results = new ArrayList<>();
            boolean continues = rule(chain, rules.get(i), s, p, depth, results);
            for (State r : results) {
                if (r.verdict == null) {
                    // a matching rule without a verdict (e.g. jump and return): go on after it
                    rules(chain, i + 1, r, p, depth, out);
                } else {
                    out.add(r);
                }
            }
            if (!continues) {
                return;
            }
        }
        State end = s;
        end.verdict = "RETURN";
        out.add(end);
    }

    /**
     * Evaluates one rule. Adds to {@code results} the states in which the rule matched (with any
     * verdict it set, or none to go on); returns whether the unmatched state {@code s} goes on to
     * the next rule (false when every case matched).
     */
    private boolean rule(String chain, String rule, State s, PacketTracer.Packet p, int depth, List<State> results) {
        List<String> t = tokens(rule);
        State st = s.copy();
        String proto = p.protocol();
        for (int i = 0; i < t.size(); i++) {
            String tok = t.get(i);
            switch (tok) {
                case "ip", "ip6" -> {
                    String field = t.get(i + 1);
                    if (i + 2 < t.size() && t.get(i + 2).equals(".")) {
                        int vm = t.indexOf("vmap");
                        return lookup(chain, rule, t.subList(i, vm), t.get(vm + 1).substring(1), st, p, depth, results);
                    }
                    IpAddress a = field.equals("saddr") ? p.src() : st.dst;
                    int[] adv = {0};
                    Boolean m = matchAddr(a, t, i + 2, adv, st, field.equals("saddr"));
                    if (m == null) {
                        // an affinity set: both ways
                        String set = t.get(i + 2).substring(1);
                        State hit = st.copy();
                        hit.conditions.add("the client has an affinity entry in " + set);
                        s.conditions.add("the client has no affinity entry in " + set);
                        List<String> rest = t.subList(i + 3, t.size());
                        statements(chain, rule, rest, hit, p, depth, results);
                        return true;
                    }
                    if (!m) {
                        return true;
                    }
                    i += 1 + adv[0];
                }
                case "tcp", "udp", "sctp" -> {
                    if (!tok.equals(proto)) {
                        return true;
                    }
                    if (i + 1 < t.size() && t.get(i + 1).equals("dport")) {
                        boolean neg = t.get(i + 2).equals("!=");
                        int port = Integer.parseInt(t.get(i + (neg ? 3 : 2)));
                        if ((st.dport == port) == neg) {
                            return true;
                        }
                        i += neg ? 3 : 2;
                    }
                }
                case "meta" -> {
                    if (t.get(i + 1).equals("l4proto")) {
                        if (t.get(i + 2).equals(".")) {
                            int vm = t.indexOf("vmap");
                            return lookup(chain, rule, t.subList(i, vm), t.get(vm + 1).substring(1), st, p, depth, results);
                        }
                        if (!t.get(i + 2).equals(proto)) {
                            return true;
                        }
                        i += 2;
                    } else if (t.get(i + 1).equals("mark")) {
                        // "meta mark & X == 0x0 return", "meta mark set meta mark | X", "... ^ X"
                        if (t.get(i + 2).equals("&")) {
                            boolean zero = t.get(i + 5).matches("0x0*|0");
                            if (st.mark == zero) {
                                return true;
                            }
                            i += 5;
                        } else if (t.get(i + 2).equals("set")) {
                            st.mark = !t.get(i + 5).equals("^");
                            i += 6;
                        }
                    }
                }
                case "fib" -> {
                    boolean isLocal = t.get(i + 1).equals("saddr") ? p.fromNode() || local.contains(p.src()) : isLocal(st.dst);
                    if (!isLocal) {
                        return true;
                    }
                    i += 3;
                }
                case "iifname" -> {
                    boolean neg = t.get(i + 1).equals("!=");
                    String name = unquote(t.get(i + (neg ? 2 : 1)));
                    boolean m = name.endsWith("*") ? p.inInterface().startsWith(name.substring(0, name.length() - 1))
                            : p.inInterface().equals(name);
                    if (p.fromNode() || m == neg) {
                        return true;
                    }
                    i += neg ? 2 : 1;
                }
                case "ct" -> i += 2;
                case "numgen" -> {
                    int n = Integer.parseInt(t.get(i + 3));
                    List<String[]> branches = vmapLiteral(t, i + 5);
                    for (String[] b : branches) {
                        State br = st.copy();
                        br.share *= 1.0 / n;
                        verdict(chain, rule, b[1], br, p, depth, results);
                    }
                    return false;
                }
                default -> {
                    // every match held: the statements decide, and the unmatched state does not go on
                    statements(chain, rule, t.subList(i, t.size()), st, p, depth, results);
                    return false;
                }
            }
        }
        st.path.add(chain + ": " + rule);
        results.add(st);
        return false;
    }

    /** Runs the statements of a matched rule (verdicts, NAT, set updates, marks). */
    private void statements(String chain, String rule, List<String> t, State st, PacketTracer.Packet p, int depth, List<State> results) {
        st.path.add(chain + ": " + rule);
        for (int i = 0; i < t.size(); i++) {
            String tok = t.get(i);
            switch (tok) {
                case "jump", "goto" -> {
                    verdict(chain, null, tok + " " + t.get(i + 1), st, p, depth, results);
                    return;
                }
                case "accept" -> {
                    st.verdict = "ACCEPT";
                    results.add(st);
                    return;
                }
                case "drop" -> {
                    st.verdict = "DROP";
                    results.add(st);
                    return;
                }
                case "reject" -> {
                    st.verdict = "REJECT";
                    results.add(st);
                    return;
                }
                case "return" -> {
                    st.verdict = "RETURN";
                    results.add(st);
                    return;
                }
                case "dnat" -> {
                    String to = t.get(i + 1).equals("to") ? t.get(i + 2) : t.get(i + 3);
                    int c = to.lastIndexOf(':');
                    String host = to.substring(0, c);
                    st.dst = IpAddress.parse(host.startsWith("[") ? host.substring(1, host.length() - 1) : host);
                    st.dport = Integer.parseInt(to.substring(c + 1));
                    st.dnatted = true;
                    st.verdict = "ACCEPT";
                    results.add(st);
                    return;
                }
                case "masquerade" -> {
                    st.masqueraded = true;
                    st.verdict = "ACCEPT";
                    results.add(st);
                    return;
                }
                case "update" -> {
                    i = t.indexOf("}") >= 0 ? t.lastIndexOf("}") : i;
                }
                case "comment" -> i++;
                default -> {
                    // counters and the like change nothing here
                }
            }
        }
        results.add(st);
    }

    /** A verdict ({@code goto X}, {@code jump X}, {@code drop}, …) for a state whose rule matched. */
    private void verdict(String chain, String rule, String verdict, State st, PacketTracer.Packet p, int depth, List<State> results) {
        if (rule != null) {
            st.path.add(chain + ": " + rule);
        }
        String[] v = verdict.strip().split("\\s+");
        switch (v[0]) {
            case "goto", "jump" -> {
                for (State r : walk(v[1], st, p, depth + 1)) {
                    if ("RETURN".equals(r.verdict)) {
                        // back from a jump: go on in the caller; back from a goto: the caller returns too
                        r.verdict = v[0].equals("jump") ? null : "RETURN";
                    }
                    results.add(r);
                }
            }
            case "drop" -> {
                st.verdict = "DROP";
                results.add(st);
            }
            case "accept" -> {
                st.verdict = "ACCEPT";
                results.add(st);
            }
            default -> {
                st.verdict = v[0].toUpperCase(java.util.Locale.ROOT);
                results.add(st);
            }
        }
    }

    /** {@code <selectors> vmap @map}: the packet's key looked up; no element, no match. */
    private boolean lookup(String chain, String rule, List<String> selectors, String map, State st, PacketTracer.Packet p, int depth,
                           List<State> results) {
        StringBuilder key = new StringBuilder();
        for (int i = 0; i < selectors.size(); i++) {
            String tok = selectors.get(i);
            String part = switch (tok) {
                case "ip", "ip6" -> selectors.get(++i).equals("saddr") ? p.src().toString() : st.dst.toString();
                case "meta" -> {
                    i++;
                    yield p.protocol();
                }
                case "th", "tcp", "udp", "sctp" -> {
                    i++;
                    yield Integer.toString(st.dport);
                }
                default -> null;
            };
            if (part != null) {
                key.append(key.length() == 0 ? "" : " . ").append(part);
            }
        }
        NftTable.Element e = table.map(map).get(key.toString());
        if (e == null) {
            return true;
        }
        State hit = st.copy();
        hit.path.add(chain + ": " + rule + " -> " + e.key() + " : " + e.verdict());
        verdict(chain, null, e.verdict(), hit, p, depth, results);
        return false;
    }

    /** The pairs of {@code { 0 : goto a, 1 : goto b }} starting at index {@code from} (the brace). */
    private static List<String[]> vmapLiteral(List<String> t, int from) {
        List<String[]> out = new ArrayList<>();
        int i = from + 1;
        while (i < t.size() && !t.get(i).equals("}")) {
            String k = t.get(i);
            StringBuilder v = new StringBuilder();
            i += 2;
            while (i < t.size() && !t.get(i).equals(",") && !t.get(i).equals("}")) {
                v.append(v.length() == 0 ? "" : " ").append(t.get(i));
                i++;
            }
            out.add(new String[]{k, v.toString()});
            if (i < t.size() && t.get(i).equals(",")) {
                i++;
            }
        }
        return out;
    }

    /**
     * An address match at {@code t[i]}: {@code [!=] addr|cidr|{ a, b }|@set}. Null for an affinity
     * set (decided by the caller both ways); {@code adv[0]} gets the tokens used.
     */
    private Boolean matchAddr(IpAddress a, List<String> t, int i, int[] adv, State st, boolean source) {
        boolean neg = t.get(i).equals("!=");
        int j = neg ? i + 1 : i;
        String v = t.get(j);
        boolean in;
        if (v.startsWith("@")) {
            String set = v.substring(1);
            if (set.startsWith("affinity-")) {
                return null;
            }
            in = contains(table.set(set), a);
            adv[0] = j - i + 1;
        } else if (v.equals("{")) {
            List<String> items = new ArrayList<>();
            int k = j + 1;
            while (!t.get(k).equals("}")) {
                if (!t.get(k).equals(",")) {
                    items.add(t.get(k));
                }
                k++;
            }
            in = contains(items, a);
            adv[0] = k - i + 1;
        } else {
            in = contains(List.of(v), a);
            adv[0] = j - i + 1;
        }
        return in != neg;
    }

    private static boolean contains(List<String> items, IpAddress a) {
        for (String item : items) {
            try {
                if (item.indexOf('/') >= 0 ? Cidr.parse(item).contains(a) : IpAddress.parse(item).equals(a)) {
                    return true;
                }
            } catch (IllegalArgumentException e) {
                // not an address of this family
            }
        }
        return false;
    }

    private boolean isLocal(IpAddress a) {
        return a.isLoopback() || local.contains(a);
    }

    private static String unquote(String s) {
        return s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
    }

    /** Whitespace-separated tokens; quoted strings kept whole; braces and commas their own tokens. */
    static List<String> tokens(String rule) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < rule.length(); i++) {
            char c = rule.charAt(i);
            if (c == '"') {
                quoted = !quoted;
                cur.append(c);
            } else if (!quoted && (c == ' ' || c == '\t')) {
                flush(cur, out);
            } else if (!quoted && (c == ',' || c == '{' || c == '}')) {
                flush(cur, out);
                out.add(String.valueOf(c));
            } else {
                cur.append(c);
            }
        }
        flush(cur, out);
        return out;
    }

    private static void flush(StringBuilder cur, List<String> out) {
        if (cur.length() > 0) {
            out.add(cur.toString());
            cur.setLength(0);
        }
    }

    /** For tests and tools: the map elements of the table. */
    public Map<String, Map<String, NftTable.Element>> maps() {
        return table.maps();
    }
}
