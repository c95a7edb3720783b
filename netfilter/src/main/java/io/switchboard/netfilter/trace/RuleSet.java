package io.switchboard.netfilter.trace;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parsed iptables rules: tables → chains → rules. Reads both {@code iptables-save} output and
 * {@code iptables-restore} input ({@code :CHAIN} declarations flush, {@code -A} appends,
 * {@code -I CHAIN [n]} inserts, {@code -X} deletes), applying them in order.
 */
public final class RuleSet {
    /** One rule: its chain and its arguments after {@code -A CHAIN}, quotes removed. */
    public record Rule(String chain, List<String> args) {
        public Rule {
            args = List.copyOf(args);
        }

        /** The value after {@code flag}, or null. */
        public String value(String flag) {
            int i = args.indexOf(flag);
            return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : null;
        }

        /** The jump target, or null. */
        public String target() {
            return value("-j");
        }

        public String comment() {
            return value("--comment");
        }
    }

    private final Map<String, Map<String, List<Rule>>> tables = new LinkedHashMap<>();

    /** Rule arguments back as restore text, quoting arguments with spaces (comments). */
    public static String join(List<String> args) {
        StringBuilder sb = new StringBuilder();
        for (String a : args) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(a.indexOf(' ') >= 0 || a.isEmpty() ? "\"" + a + "\"" : a);
        }
        return sb.toString();
    }

    public static RuleSet parse(String text) {
        RuleSet rs = new RuleSet();
        rs.apply(text);
        return rs;
    }

    /** Applies more input (another restore, say) on top of what is here. */
    public void apply(String text) {
        String table = null;
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#") || line.equals("COMMIT")) {
                continue;
            }
            if (line.startsWith("*")) {
                table = line.substring(1);
                tables.computeIfAbsent(table, t -> new LinkedHashMap<>());
                continue;
            }
            if (table == null) {
                throw new IllegalArgumentException("line " + lineNo + ": rule outside a table: " + line);
            }
            Map<String, List<Rule>> chains = tables.get(table);
            if (line.startsWith(":")) {
                String name = line.substring(1).split(" ")[0];
                chains.put(name, new ArrayList<>());
                continue;
            }
            List<String> tokens = tokenize(line, lineNo);
            String op = tokens.get(0);
            String chain = tokens.get(1);
            switch (op) {
                case "-A" -> chainOf(chains, chain, lineNo).add(new Rule(chain, tokens.subList(2, tokens.size())));
                case "-I" -> {
                    int pos = 0;
                    int from = 2;
                    if (tokens.size() > 2 && tokens.get(2).matches("\\d+")) {
                        pos = Integer.parseInt(tokens.get(2)) - 1;
                        from = 3;
                    }
                    chainOf(chains, chain, lineNo).add(pos, new Rule(chain, tokens.subList(from, tokens.size())));
                }
                case "-X" -> chains.remove(chain);
                case "-F" -> chainOf(chains, chain, lineNo).clear();
                default -> throw new IllegalArgumentException("line " + lineNo + ": unsupported command " + op);
            }
        }
    }

    private static List<Rule> chainOf(Map<String, List<Rule>> chains, String chain, int lineNo) {
        List<Rule> rules = chains.get(chain);
        if (rules == null) {
            if (isBuiltin(chain)) {
                rules = new ArrayList<>();
                chains.put(chain, rules);
            } else {
                throw new IllegalArgumentException("line " + lineNo + ": chain " + chain + " used before it was declared");
            }
        }
        return rules;
    }

    static boolean isBuiltin(String chain) {
        return switch (chain) {
            case "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING" -> true;
            default -> false;
        };
    }

    /** Splits a rule line; double-quoted words keep their spaces; {@code \"} inside quotes is a quote. */
    static List<String> tokenize(String line, int lineNo) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inQuote = false;
        boolean any = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (inQuote) {
                if (c == '\\' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (c == '"') {
                    inQuote = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                inQuote = true;
                any = true;
            } else if (c == ' ') {
                if (any || cur.length() > 0) {
                    out.add(cur.toString());
                    cur.setLength(0);
                    any = false;
                }
            } else {
                cur.append(c);
            }
        }
        if (inQuote) {
            throw new IllegalArgumentException("line " + lineNo + ": unterminated quote");
        }
        if (any || cur.length() > 0) {
            out.add(cur.toString());
        }
        if (out.size() < 2) {
            throw new IllegalArgumentException("line " + lineNo + ": incomplete rule: " + line);
        }
        return out;
    }

    public Map<String, List<Rule>> table(String name) {
        return tables.getOrDefault(name, Map.of());
    }

    public List<Rule> chain(String table, String chain) {
        return table(table).getOrDefault(chain, List.of());
    }

    public boolean hasChain(String table, String chain) {
        return table(table).containsKey(chain);
    }

    /** Every jump target names a chain that exists or a built-in target. */
    public List<String> danglingJumps() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Map<String, List<Rule>>> t : tables.entrySet()) {
            for (List<Rule> rules : t.getValue().values()) {
                for (Rule r : rules) {
                    String target = r.target();
                    if (target != null && target.startsWith("KUBE-") && !t.getValue().containsKey(target)) {
                        out.add(t.getKey() + " " + r.chain() + " -> " + target);
                    }
                }
            }
        }
        return out;
    }
}
