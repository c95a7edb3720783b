package io.switchboard.netfilter.trace;

import io.switchboard.core.model.IpAddress;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One nftables table as {@code nft list table} prints it: chains with their rules, maps with their
 * elements (key → verdict, comment), named sets with their elements. Parses the shapes the
 * nftables mode writes (and kube-proxy's nftables mode writes); unknown lines are kept as rules.
 */
public final class NftTable {
    /** One map element: key ({@code a . b . c}, addresses canonical), verdict, comment (or empty). */
    public record Element(String key, String verdict, String comment) {
    }

    private final Map<String, List<String>> chains = new LinkedHashMap<>();
    private final Map<String, Map<String, Element>> maps = new LinkedHashMap<>();
    private final Map<String, List<String>> sets = new LinkedHashMap<>();
    private final Map<String, Long> setTimeouts = new LinkedHashMap<>();
    private String family = "ip";

    private NftTable() {
    }

    public String family() {
        return family;
    }

    public Map<String, List<String>> chains() {
        return chains;
    }

    public List<String> chain(String name) {
        return chains.getOrDefault(name, List.of());
    }

    public Map<String, Map<String, Element>> maps() {
        return maps;
    }

    /** A map's elements by key; empty when there is no such map. */
    public Map<String, Element> map(String name) {
        return maps.getOrDefault(name, Map.of());
    }

    /** A named set's elements (addresses or CIDRs, as printed); empty when there is none. */
    public List<String> set(String name) {
        return sets.getOrDefault(name, List.of());
    }

    /** A named set's timeout in seconds, or 0 when it has none. */
    public long setTimeoutSeconds(String name) {
        return setTimeouts.getOrDefault(name, 0L);
    }

    /** An nft duration ({@code 3h}, {@code 1m40s}, {@code 10800s}, {@code 1d}) in seconds. */
    static long seconds(String d) {
        long total = 0;
        long n = 0;
        for (int i = 0; i < d.length(); i++) {
            char c = d.charAt(i);
            if (Character.isDigit(c)) {
                n = n * 10 + (c - '0');
                continue;
            }
            if (c == 'm' && i + 1 < d.length() && d.charAt(i + 1) == 's') {
                i++;
                n = 0;
                continue;
            }
            total += n * switch (c) {
                case 'd' -> 86400;
                case 'h' -> 3600;
                case 'm' -> 60;
                default -> 1;
            };
            n = 0;
        }
        return total + n;
    }

    public static NftTable parse(String text) {
        NftTable t = new NftTable();
        String kind = null;
        String name = null;
        StringBuilder elements = null;
        for (String raw : text.split("\n")) {
            String l = raw.strip();
            if (l.isEmpty()) {
                continue;
            }
            if (elements != null) {
                elements.append(' ').append(l);
                if (l.endsWith("}")) {
                    t.elements(kind, name, elements.toString());
                    elements = null;
                }
                continue;
            }
            if (l.startsWith("table ")) {
                t.family = l.split(" ")[1];
                continue;
            }
            if ((l.startsWith("chain ") || l.startsWith("map ") || l.startsWith("set ")) && l.endsWith("{")) {
                kind = l.substring(0, l.indexOf(' '));
                name = l.substring(kind.length() + 1, l.length() - 1).strip();
                if (kind.equals("chain")) {
                    t.chains.put(name, new ArrayList<>());
                } else if (kind.equals("map")) {
                    t.maps.put(name, new LinkedHashMap<>());
                } else {
                    t.sets.put(name, new ArrayList<>());
                }
                continue;
            }
            if (l.equals("}")) {
                kind = null;
                continue;
            }
            if (kind == null) {
                continue;
            }
            if (l.startsWith("elements = {")) {
                elements = new StringBuilder(l.substring("elements = ".length()));
                if (l.endsWith("}")) {
                    t.elements(kind, name, elements.toString());
                    elements = null;
                }
                continue;
            }
            if (kind.equals("set") && l.startsWith("timeout ")) {
                t.setTimeouts.put(name, seconds(l.substring("timeout ".length()).strip()));
                continue;
            }
            if (kind.equals("chain") && !l.startsWith("type ") && !l.startsWith("comment ") && !l.startsWith("policy ")) {
                t.chains.get(name).add(l);
            }
        }
        return t;
    }

    private void elements(String kind, String name, String body) {
        String b = body.strip();
        b = b.substring(1, b.length() - 1).strip();
        for (String e : splitTop(b)) {
            e = e.strip();
            if (e.isEmpty()) {
                continue;
            }
            if (kind.equals("map")) {
                int colon = e.lastIndexOf(" : ");
                String keyPart = e.substring(0, colon);
                String verdict = e.substring(colon + 3).strip();
                String comment = "";
                int c = keyPart.indexOf(" comment \"");
                if (c >= 0) {
                    comment = keyPart.substring(c + " comment \"".length(), keyPart.lastIndexOf('"'));
                    keyPart = keyPart.substring(0, c);
                }
                String key = canonicalKey(keyPart);
                maps.get(name).put(key, new Element(key, verdict, comment));
            } else if (kind.equals("set")) {
                sets.get(name).add(e.split(" ")[0]);
            }
        }
    }

    /** Splits on commas outside quotes. */
    static List<String> splitTop(String s) {
        List<String> out = new ArrayList<>();
        boolean quoted = false;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }

    /** {@code a . b . c} with every address part in canonical text. */
    public static String canonicalKey(String key) {
        String[] parts = key.strip().split("\\s+\\.\\s+");
        StringBuilder sb = new StringBuilder();
        for (String p : parts) {
            if (sb.length() > 0) {
                sb.append(" . ");
            }
            String v = p.strip();
            if (v.indexOf(':') >= 0 || (v.indexOf('.') >= 0 && Character.isDigit(v.charAt(0)))) {
                try {
                    v = IpAddress.parse(v).toString();
                } catch (IllegalArgumentException e) {
                    // not an address: kept as printed
                }
            }
            sb.append(v);
        }
        return sb.toString();
    }
}
