package io.switchboard.backend.nftables;

import io.switchboard.core.model.IpAddress;
import io.switchboard.netfilter.netlink.MessageBuilder;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * Pure compiler: an {@code nft -f} transaction in the shapes {@link NftTransaction} writes → one
 * nf_tables netlink batch (begin, one or more messages per line, end), the expressions of each
 * rule as {@code nft} 1.0 would build them, so {@code nft list table} reads the result exactly as
 * if {@code nft -f} had loaded the text. Anonymous sets ({@code numgen} maps, source-range sets)
 * get explicit unique names ({@code __set<prefix>_<n>}), so the kernel neither searches for a free
 * {@code __map%d} name per map nor looks them up through the pending transaction. A line it cannot
 * compile is reported with its number, as {@code nft} reports a line it cannot parse.
 */
public final class NftNetlink {
    static final int NFNL_SUBSYS_NFTABLES = 10;
    static final int BATCH_BEGIN = 0x10;
    static final int BATCH_END = 0x11;
    static final int NEWTABLE = 0;
    static final int DELTABLE = 2;
    static final int NEWCHAIN = 3;
    static final int GETCHAIN = 4;
    static final int DELCHAIN = 5;
    static final int NEWRULE = 6;
    static final int GETRULE = 7;
    static final int DELRULE = 8;
    static final int NEWSET = 9;
    static final int GETSET = 10;
    static final int DELSET = 11;
    static final int NEWSETELEM = 12;
    static final int DELSETELEM = 14;
    static final int GETGEN = 16;

    private static final int REQ = MessageBuilder.NLM_F_REQUEST;
    private static final int CREATE = REQ | MessageBuilder.NLM_F_CREATE;
    private static final int VERDICT_TYPE = 0xffffff00;
    private static final int SET_ANONYMOUS = 0x1;
    private static final int SET_CONSTANT = 0x2;
    private static final int SET_INTERVAL = 0x4;
    private static final int SET_MAP = 0x8;
    private static final int SET_TIMEOUT = 0x10;
    private static final int SET_EVAL = 0x20;
    private static final int ELEM_INTERVAL_END = 0x1;

    /** A compiled batch: its bytes, and the transaction line (1-based, 0 for framing) of each sequence number. */
    public record Batch(byte[] bytes, int firstSeq, int[] lineOfSeq) {
        /** The line a sequence number belongs to, or 0. */
        public int line(int seq) {
            int i = seq - firstSeq;
            return i >= 0 && i < lineOfSeq.length ? lineOfSeq[i] : 0;
        }

        public int messages() {
            return lineOfSeq.length;
        }
    }

    /** A line that is not one of the shapes this compiler knows. */
    public static final class CompileException extends Exception {
        private static final long serialVersionUID = 1L;
        private final int line;

        CompileException(String message, int line) {
            super(message);
            this.line = line;
        }

        public int line() {
            return line;
        }
    }

    private final String anonymousPrefix;
    private long anonymous;
    /** The kernel wants an id on every new set, unique within a batch. */
    private int setId = 1;

    /** @param anonymousPrefix unique to this process, so names never meet those a previous run left */
    public NftNetlink(String anonymousPrefix) {
        this.anonymousPrefix = anonymousPrefix;
    }

    /** Compiles a whole transaction into one batch whose sequence numbers start at {@code firstSeq}. */
    public Batch compile(String text, int firstSeq) throws CompileException {
        return compile(text, firstSeq, null);
    }

    /**
     * As {@link #compile(String, int)}; lines for which {@code corrupt} holds get an element key one
     * byte short, which the kernel refuses (fault injection for tests, see {@link NetlinkNft}).
     */
    Batch compile(String text, int firstSeq, java.util.function.Predicate<String> corrupt) throws CompileException {
        setId = 1;
        MessageBuilder b = new MessageBuilder(Math.max(4096, text.length() * 2));
        List<Integer> lines = new ArrayList<>();
        int[] seq = {firstSeq};
        b.nfMessage(BATCH_BEGIN, REQ, seq[0]++, 0, NFNL_SUBSYS_NFTABLES);
        lines.add(0);
        String[] all = text.split("\n");
        for (int i = 0; i < all.length; i++) {
            String line = all[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int before = b.messageCount();
            try {
                new Line(b, seq, tokens(line), corrupt != null && corrupt.test(line)).compile();
            } catch (RuntimeException e) {
                throw new CompileException("line " + (i + 1) + ": " + e.getMessage() + ": " + line, i + 1);
            }
            for (int m = before; m < b.messageCount(); m++) {
                lines.add(i + 1);
            }
        }
        b.nfMessage(BATCH_END, REQ, seq[0]++, 0, NFNL_SUBSYS_NFTABLES);
        lines.add(0);
        return new Batch(b.toBytes(), firstSeq, lines.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Splits on blanks, keeping quoted strings whole (quotes kept) and commas as their own tokens. */
    static List<String> tokens(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '"') {
                quoted = !quoted;
                cur.append(c);
            } else if (!quoted && (c == ' ' || c == ',')) {
                if (cur.length() > 0) {
                    out.add(cur.toString());
                    cur.setLength(0);
                }
                if (c == ',') {
                    out.add(",");
                }
            } else {
                cur.append(c);
            }
        }
        if (quoted) {
            throw new IllegalArgumentException("unterminated string");
        }
        if (cur.length() > 0) {
            out.add(cur.toString());
        }
        return out;
    }

    /** One statement being compiled. */
    private final class Line {
        private final MessageBuilder b;
        private final int[] seq;
        private final List<String> t;
        private final boolean corrupt;
        private int p;
        private int family;
        private String table;

        Line(MessageBuilder b, int[] seq, List<String> tokens, boolean corrupt) {
            this.b = b;
            this.seq = seq;
            this.t = tokens;
            this.corrupt = corrupt;
        }

        private String next() {
            if (p >= t.size()) {
                throw new IllegalArgumentException("unexpected end of statement");
            }
            return t.get(p++);
        }

        private String peek() {
            return p < t.size() ? t.get(p) : null;
        }

        private void expect(String s) {
            String n = next();
            if (!n.equals(s)) {
                throw new IllegalArgumentException("expected '" + s + "', found '" + n + "'");
            }
        }

        private boolean accept(String s) {
            if (s.equals(peek())) {
                p++;
                return true;
            }
            return false;
        }

        private void msg(int type, int flags) {
            b.nfMessage((NFNL_SUBSYS_NFTABLES << 8) | type, flags, seq[0]++, family, 0);
        }

        private boolean v6() {
            return family == 10;
        }

        void compile() {
            String verb = next();
            String kind = next();
            String fam = next();
            family = switch (fam) {
                case "ip" -> 2;
                case "ip6" -> 10;
                case "inet" -> 1;
                default -> throw new IllegalArgumentException("unknown family " + fam);
            };
            table = next();
            switch (verb + " " + kind) {
                case "add table" -> addTable();
                case "delete table" -> {
                    msg(DELTABLE, REQ);
                    b.attrString(1, table);
                }
                case "add chain" -> addChain();
                case "flush chain" -> {
                    msg(DELRULE, REQ);
                    b.attrString(1, table).attrString(2, next());
                }
                case "delete chain" -> {
                    msg(DELCHAIN, REQ);
                    b.attrString(1, table).attrString(3, next());
                }
                case "add set", "add map" -> addSet(kind.equals("map"));
                case "flush set", "flush map" -> {
                    msg(DELSETELEM, REQ);
                    b.attrString(1, table).attrString(2, next());
                }
                case "delete set", "delete map" -> {
                    msg(DELSET, REQ);
                    b.attrString(1, table).attrString(2, next());
                }
                case "add element" -> element(true);
                case "delete element" -> element(false);
                case "add rule" -> rule();
                default -> throw new IllegalArgumentException("unsupported statement '" + verb + " " + kind + "'");
            }
            if (p != t.size()) {
                throw new IllegalArgumentException("unexpected '" + t.get(p) + "'");
            }
        }

        private void addTable() {
            String comment = null;
            if (accept("{")) {
                while (!accept("}")) {
                    expect("comment");
                    comment = unquote(next());
                    expect(";");
                }
            }
            msg(NEWTABLE, CREATE);
            b.attrString(1, table).attrU32(2, 0);
            if (comment != null) {
                b.attr(6, udataString(0, comment));
            }
        }

        private void addChain() {
            String name = next();
            String type = null;
            String hook = null;
            int priority = 0;
            String comment = null;
            if (accept("{")) {
                while (!accept("}")) {
                    String k = next();
                    switch (k) {
                        case "type" -> {
                            type = next();
                            expect("hook");
                            hook = next();
                            expect("priority");
                            priority = Integer.parseInt(next());
                        }
                        case "comment" -> comment = unquote(next());
                        default -> throw new IllegalArgumentException("unsupported chain property " + k);
                    }
                    expect(";");
                }
            }
            msg(NEWCHAIN, CREATE);
            b.attrString(1, table).attrString(3, name);
            if (type != null) {
                b.attrString(7, type);
                b.begin(4).attrU32(1, hookNumber(hook)).attrU32(2, priority).end();
            }
            if (comment != null) {
                b.attr(12, udataString(0, comment));
            }
        }

        private void addSet(boolean map) {
            String name = next();
            expect("{");
            List<String> key = new ArrayList<>();
            boolean verdictData = false;
            int flags = map ? SET_MAP : 0;
            long timeoutMs = -1;
            String comment = null;
            while (!accept("}")) {
                String k = next();
                switch (k) {
                    case "type" -> {
                        key.add(next());
                        while (accept(".")) {
                            key.add(next());
                        }
                        if (accept(":")) {
                            String d = next();
                            if (!d.equals("verdict")) {
                                throw new IllegalArgumentException("unsupported map data " + d);
                            }
                            verdictData = true;
                        }
                    }
                    case "flags" -> {
                        List<String> names = new ArrayList<>(List.of(next()));
                        while (accept(",")) {
                            names.add(next());
                        }
                        for (String f : names) {
                            flags |= switch (f) {
                                case "dynamic" -> SET_EVAL;
                                case "timeout" -> SET_TIMEOUT;
                                case "interval" -> SET_INTERVAL;
                                case "constant" -> SET_CONSTANT;
                                default -> throw new IllegalArgumentException("unsupported set flag " + f);
                            };
                        }
                    }
                    case "timeout" -> {
                        String v = next();
                        if (!v.endsWith("s")) {
                            throw new IllegalArgumentException("timeout in seconds expected: " + v);
                        }
                        timeoutMs = Long.parseLong(v.substring(0, v.length() - 1)) * 1000;
                    }
                    case "comment" -> comment = unquote(next());
                    default -> throw new IllegalArgumentException("unsupported set property " + k);
                }
                expect(";");
            }
            if (key.isEmpty() || map != verdictData) {
                throw new IllegalArgumentException("a set needs a type; a map a verdict");
            }
            int keyType = 0;
            int keyLen = 0;
            for (String k : key) {
                int[] tl = typeOf(k);
                keyType = (keyType << 6) | tl[0];
                keyLen += key.size() > 1 ? MessageBuilder.align(tl[1]) : tl[1];
            }
            msg(NEWSET, CREATE);
            b.attrString(1, table).attrString(2, name).attrU32(3, flags).attrU32(4, keyType).attrU32(5, keyLen);
            if (map) {
                b.attrU32(6, VERDICT_TYPE).attrU32(7, 0);
            }
            b.attrU32(10, setId++);
            if (timeoutMs >= 0) {
                b.attrU64(11, timeoutMs);
            }
            Udata u = new Udata();
            if (key.size() > 1) {
                u.u32(0, 0);
                if (map) {
                    u.u32(1, 0);
                }
                u.raw(3, new byte[]{0, 4, 13, 0, 0, 0, 1, 0});
                if (map) {
                    u.u32(6, 0);
                }
            } else {
                u.u32(0, 2);
            }
            if (comment != null) {
                u.string(7, comment);
            }
            b.attr(13, u.bytes());
        }

        private void element(boolean add) {
            String set = next();
            expect("{");
            List<String> keyParts = new ArrayList<>();
            keyParts.add(next());
            while (accept(".")) {
                keyParts.add(next());
            }
            String comment = null;
            if (accept("comment")) {
                comment = unquote(next());
            }
            String[] verdict = null;
            if (accept(":")) {
                verdict = verdict(next());
            }
            expect("}");
            byte[] key = key(keyParts);
            if (corrupt) {
                key = Arrays.copyOf(key, key.length - 1);
            }
            msg(add ? NEWSETELEM : DELSETELEM, add ? CREATE : REQ);
            b.attrString(1, table).attrString(2, set);
            b.begin(3).begin(1);
            b.begin(1).attr(1, key).end();
            if (verdict != null) {
                verdictData(2, verdict);
            }
            if (comment != null) {
                b.attr(6, udataString(0, comment));
            }
            b.end().end();
        }

        /** {@code goto X} etc. as code and chain (the chain token is read here). */
        private String[] verdict(String word) {
            return switch (word) {
                case "goto", "jump" -> new String[]{word, next()};
                case "drop", "accept", "return" -> new String[]{word, null};
                default -> throw new IllegalArgumentException("unsupported verdict " + word);
            };
        }

        private void verdictData(int attr, String[] v) {
            b.begin(attr).begin(2).attrU32(1, verdictCode(v[0]));
            if (v[1] != null) {
                b.attrString(2, v[1]);
            }
            b.end().end();
        }

        // ---- rules ----

        private final MessageBuilder exprs = new MessageBuilder(512);

        private void rule() {
            String chain = next();
            String comment = null;
            // expressions are built into a scratch builder's attribute stream, then copied in
            exprs.message(0, 0, 0);
            while (p < t.size()) {
                String w = next();
                switch (w) {
                    case "ct" -> {
                        expect("state");
                        expect("new");
                        expr("ct", () -> exprs.attrU32(1, 1).attrU32(2, 0));
                        bitwise(1, MessageBuilder.host32(8), new byte[4]);
                        cmp(1, 1, new byte[4]);
                    }
                    case "meta" -> {
                        expect("l4proto");
                        if (".".equals(peek())) {
                            p -= 2;
                            concatLookup();
                        } else {
                            meta(16, 1);
                            cmp(1, 0, new byte[]{(byte) protocol(next())});
                        }
                    }
                    case "mark" -> mark();
                    case "ip", "ip6" -> address(w);
                    case "tcp", "udp", "sctp" -> {
                        expect("dport");
                        meta(16, 1);
                        cmp(1, 0, new byte[]{(byte) protocol(w)});
                        payload(1, 2, 2, 2);
                        cmp(1, 0, port(next()));
                    }
                    case "fib" -> {
                        String which = next();
                        expect("type");
                        expect("local");
                        int flags = switch (which) {
                            case "saddr" -> 1;
                            case "daddr" -> 2;
                            default -> throw new IllegalArgumentException("unsupported fib " + which);
                        };
                        expr("fib", () -> exprs.attrU32(1, 1).attrU32(2, 3).attrU32(3, flags));
                        cmp(1, 0, MessageBuilder.host32(2));
                    }
                    case "iifname" -> {
                        int op = accept("!=") ? 1 : 0;
                        String name = unquote(next());
                        meta(6, 1);
                        byte[] v = name.endsWith("*")
                                ? name.substring(0, name.length() - 1).getBytes(StandardCharsets.UTF_8)
                                : Arrays.copyOf(name.getBytes(StandardCharsets.UTF_8), 16);
                        cmp(1, op, v);
                    }
                    case "numgen" -> numgen();
                    case "update" -> {
                        String set = set(next());
                        expect("{");
                        String fam = next();
                        expect("saddr");
                        expect("}");
                        addressLoad(fam, "saddr", 1);
                        expr("dynset", () -> exprs.attrU32(4, 1).attrU32(3, 1).attrString(1, set));
                    }
                    case "jump", "goto", "drop", "accept", "return" -> {
                        String[] v = verdict(w);
                        expr("immediate", () -> {
                            exprs.attrU32(1, 0);
                            exprs.begin(2).begin(2).attrU32(1, verdictCode(v[0]));
                            if (v[1] != null) {
                                exprs.attrString(2, v[1]);
                            }
                            exprs.end().end();
                        });
                    }
                    case "reject" -> expr("reject", () -> exprs.attrU32(1, 0).attrU8(2, v6() ? 4 : 3));
                    case "masquerade" -> {
                        int flags = accept("fully-random") ? 0x10 : 0;
                        expr("masq", () -> {
                            if (flags != 0) {
                                exprs.attrU32(1, flags);
                            }
                        });
                    }
                    case "dnat" -> dnat();
                    case "comment" -> comment = unquote(next());
                    default -> throw new IllegalArgumentException("unsupported rule statement '" + w + "'");
                }
            }
            byte[] list = exprs.toBytes();
            msg(NEWRULE, CREATE | MessageBuilder.NLM_F_APPEND);
            b.attrString(1, table).attrString(2, chain);
            b.begin(4).raw(Arrays.copyOfRange(list, 16, list.length)).end();
            if (comment != null) {
                b.attr(7, udataString(0, comment));
            }
        }

        private void expr(String name, Runnable data) {
            exprs.begin(1).attrString(1, name).begin(2);
            data.run();
            exprs.end().end();
        }

        private void payload(int dreg, int base, int offset, int len) {
            expr("payload", () -> exprs.attrU32(1, dreg).attrU32(2, base).attrU32(3, offset).attrU32(4, len));
        }

        private void meta(int key, int dreg) {
            expr("meta", () -> exprs.attrU32(2, key).attrU32(1, dreg));
        }

        private void cmp(int sreg, int op, byte[] value) {
            expr("cmp", () -> exprs.attrU32(1, sreg).attrU32(2, op).begin(3).attr(1, value).end());
        }

        private void bitwise(int reg, byte[] mask, byte[] xor) {
            bitwise(reg, mask, xor, false);
        }

        /** @param op write the boolean operation explicitly, as nft does for the mark (not for ct state or prefixes) */
        private void bitwise(int reg, byte[] mask, byte[] xor, boolean op) {
            expr("bitwise", () -> {
                exprs.attrU32(1, reg).attrU32(2, reg).attrU32(3, mask.length)
                        .begin(4).attr(1, mask).end().begin(5).attr(1, xor).end();
                if (op) {
                    exprs.attrU32(6, 0);
                }
            });
        }

        private void lookup(String set, int sreg, Integer dreg, boolean inverted) {
            expr("lookup", () -> {
                exprs.attrU32(2, sreg);
                if (dreg != null) {
                    exprs.attrU32(3, dreg);
                }
                exprs.attrString(1, set);
                if (inverted) {
                    exprs.attrU32(5, 1);
                }
            });
        }

        private void mark() {
            if (accept("set")) {
                expect("mark");
                String op = next();
                int v = (int) Long.decode(next()).longValue();
                meta(3, 1);
                if (op.equals("or")) {
                    bitwise(1, MessageBuilder.host32(~v), MessageBuilder.host32(v), true);
                } else if (op.equals("xor")) {
                    bitwise(1, MessageBuilder.host32(-1), MessageBuilder.host32(v), true);
                } else {
                    throw new IllegalArgumentException("unsupported mark operation " + op);
                }
                expr("meta", () -> exprs.attrU32(2, 3).attrU32(3, 1));
            } else {
                expect("and");
                int v = (int) Long.decode(next()).longValue();
                String op = next();
                int value = (int) Long.decode(next()).longValue();
                meta(3, 1);
                bitwise(1, MessageBuilder.host32(v), new byte[4], true);
                cmp(1, op.equals("==") ? 0 : op.equals("!=") ? 1 : fail("unsupported operator " + op), MessageBuilder.host32(value));
            }
        }

        private void addressLoad(String fam, String field, int dreg) {
            boolean six = fam.equals("ip6");
            if (six != v6()) {
                throw new IllegalArgumentException(fam + " match in a table of the other family");
            }
            int off = six ? (field.equals("saddr") ? 8 : 24) : (field.equals("saddr") ? 12 : 16);
            if (!field.equals("saddr") && !field.equals("daddr")) {
                throw new IllegalArgumentException("unsupported field " + field);
            }
            payload(dreg, 1, off, six ? 16 : 4);
        }

        /** {@code ip saddr|daddr} followed by a value, a set, a negation or a concatenation. */
        private void address(String fam) {
            String field = next();
            if (".".equals(peek())) {
                p -= 2;
                concatLookup();
                return;
            }
            String v = next();
            int op = 0;
            if (v.equals("!=")) {
                op = 1;
                v = next();
            }
            if (v.startsWith("@")) {
                addressLoad(fam, field, 1);
                lookup(set(v), 1, null, op == 1);
            } else if (v.equals("{")) {
                anonymousInterval(fam, field, op == 1);
            } else {
                prefixMatch(fam, field, v, op);
            }
        }

        private void prefixMatch(String fam, String field, String value, int op) {
            int slash = value.indexOf('/');
            IpAddress a = IpAddress.parse(slash < 0 ? value : value.substring(0, slash));
            byte[] addr = a.bytes();
            int bits = slash < 0 ? addr.length * 8 : Integer.parseInt(value.substring(slash + 1));
            if (bits < 0 || bits > addr.length * 8) {
                throw new IllegalArgumentException("bad prefix length in " + value);
            }
            boolean six = fam.equals("ip6");
            int off = six ? (field.equals("saddr") ? 8 : 24) : (field.equals("saddr") ? 12 : 16);
            if (bits % 8 == 0 && bits > 0) {
                int n = bits / 8;
                payload(1, 1, off, n);
                cmp(1, op, Arrays.copyOf(addr, n));
            } else {
                byte[] mask = mask(addr.length, bits);
                byte[] masked = new byte[addr.length];
                for (int i = 0; i < addr.length; i++) {
                    masked[i] = (byte) (addr[i] & mask[i]);
                }
                payload(1, 1, off, addr.length);
                bitwise(1, mask, new byte[addr.length]);
                cmp(1, op, masked);
            }
        }

        /** {@code ip saddr != { a/n, b }}: an anonymous constant interval set, its ranges merged. */
        private void anonymousInterval(String fam, String field, boolean inverted) {
            TreeMap<java.math.BigInteger, java.math.BigInteger> ranges = new TreeMap<>();
            int width = v6() ? 16 : 4;
            if (p + 1 < t.size() && t.get(p + 1).equals("}")) {
                // nft writes a set of one as a plain match
                prefixMatch(fam, field, next(), inverted ? 1 : 0);
                next();
                return;
            }
            while (true) {
                String v = next();
                int slash = v.indexOf('/');
                byte[] a = IpAddress.parse(slash < 0 ? v : v.substring(0, slash)).bytes();
                if (a.length != width) {
                    throw new IllegalArgumentException("address of the other family: " + v);
                }
                int bits = slash < 0 ? width * 8 : Integer.parseInt(v.substring(slash + 1));
                byte[] m = mask(width, bits);
                byte[] lo = new byte[width];
                byte[] hi = new byte[width];
                for (int i = 0; i < width; i++) {
                    lo[i] = (byte) (a[i] & m[i]);
                    hi[i] = (byte) (a[i] | ~m[i]);
                }
                ranges.merge(new java.math.BigInteger(1, lo), new java.math.BigInteger(1, hi), (x, y) -> x.max(y));
                String sep = next();
                if (sep.equals("}")) {
                    break;
                }
                if (!sep.equals(",")) {
                    throw new IllegalArgumentException("expected ',' or '}' in a set, found " + sep);
                }
            }
            // merge overlapping and adjacent ranges
            List<java.math.BigInteger[]> merged = new ArrayList<>();
            for (var e : ranges.entrySet()) {
                java.math.BigInteger[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
                if (last != null && e.getKey().compareTo(last[1].add(java.math.BigInteger.ONE)) <= 0) {
                    last[1] = last[1].max(e.getValue());
                } else {
                    merged.add(new java.math.BigInteger[]{e.getKey(), e.getValue()});
                }
            }
            java.math.BigInteger max = java.math.BigInteger.ONE.shiftLeft(width * 8).subtract(java.math.BigInteger.ONE);
            List<Object[]> elements = new ArrayList<>();
            if (merged.get(0)[0].signum() != 0) {
                elements.add(new Object[]{java.math.BigInteger.ZERO, true});
            }
            for (java.math.BigInteger[] r : merged) {
                elements.add(new Object[]{r[0], false});
                if (!r[1].equals(max)) {
                    elements.add(new Object[]{r[1].add(java.math.BigInteger.ONE), true});
                }
            }
            String name = anonymousName();
            int keyType = v6() ? 8 : 7;
            byte[] udata = new Udata().u32(0, 2).u32(2, 1)
                    .raw(3, new byte[]{0, 4, 7, 0, 0, 0, 1, 12, 0, 4, (byte) (v6() ? 13 : 12), 0, 0, 0, 1, 4,
                            (byte) (v6() ? 8 : 11), 0, 0, 0}).bytes();
            int n = elements.size();
            anonymousSet(name, SET_ANONYMOUS | SET_CONSTANT | SET_INTERVAL, keyType, width, false, n, udata, sink -> {
                for (Object[] e : elements) {
                    sink.add(eb -> {
                        eb.begin(1);
                        if ((Boolean) e[1]) {
                            eb.attrU32(3, ELEM_INTERVAL_END);
                        }
                        eb.begin(1).attr(1, fixed((java.math.BigInteger) e[0], width)).end();
                        eb.end();
                    });
                }
            });
            addressLoad(fam, field, 1);
            lookup(name, 1, null, inverted);
        }

        /** {@code numgen random mod N vmap { 0 : goto a, ... }}. */
        private void numgen() {
            expect("random");
            expect("mod");
            int mod = Integer.parseInt(next());
            expect("vmap");
            expect("{");
            List<Object[]> elements = new ArrayList<>();
            while (true) {
                int k = Integer.parseInt(next());
                expect(":");
                String[] v = verdict(next());
                elements.add(new Object[]{k, v});
                String sep = next();
                if (sep.equals("}")) {
                    break;
                }
                if (!sep.equals(",")) {
                    throw new IllegalArgumentException("expected ',' or '}' in a map, found " + sep);
                }
            }
            String name = anonymousName();
            byte[] udata = new Udata().u32(0, 1).u32(1, 0).raw(4, new byte[]{0, 4, 1, 0, 0, 0, 1, 0}).u32(6, 0).bytes();
            anonymousSet(name, SET_ANONYMOUS | SET_CONSTANT | SET_MAP, 4, 4, true, elements.size(), udata, sink -> {
                for (Object[] e : elements) {
                    String[] v = (String[]) e[1];
                    sink.add(eb -> {
                        eb.begin(1);
                        eb.begin(1).attr(1, MessageBuilder.host32((Integer) e[0])).end();
                        eb.begin(2).begin(2).attrU32(1, verdictCode(v[0]));
                        if (v[1] != null) {
                            eb.attrString(2, v[1]);
                        }
                        eb.end().end();
                        eb.end();
                    });
                }
            });
            expr("numgen", () -> exprs.attrU32(1, 1).attrU32(2, mod).attrU32(3, 1).attrU32(4, 0));
            lookup(name, 1, 0, false);
        }

        /** {@code a . b . c vmap @map}: each part loaded into consecutive 32-bit registers. */
        private void concatLookup() {
            int slot = 0;
            while (true) {
                String w = next();
                int reg = slot % 4 == 0 ? slot / 4 + 1 : 8 + slot;
                int len;
                switch (w) {
                    case "ip", "ip6" -> {
                        String field = next();
                        addressLoad(w, field, reg);
                        len = w.equals("ip6") ? 16 : 4;
                    }
                    case "meta" -> {
                        expect("l4proto");
                        meta(16, reg);
                        len = 1;
                    }
                    case "th" -> {
                        expect("dport");
                        payload(reg, 2, 2, 2);
                        len = 2;
                    }
                    default -> throw new IllegalArgumentException("unsupported concatenation part '" + w + "'");
                }
                slot += (len + 3) / 4;
                if (!accept(".")) {
                    break;
                }
            }
            expect("vmap");
            lookup(set(next()), 1, 0, false);
        }

        private void dnat() {
            expect("to");
            String to = next();
            String addr;
            String port;
            if (to.startsWith("[")) {
                int close = to.indexOf("]:");
                addr = to.substring(1, close);
                port = to.substring(close + 2);
            } else {
                int colon = to.lastIndexOf(':');
                addr = to.substring(0, colon);
                port = to.substring(colon + 1);
            }
            byte[] a = IpAddress.parse(addr).bytes();
            if ((a.length == 16) != v6()) {
                throw new IllegalArgumentException("dnat to an address of the other family");
            }
            expr("immediate", () -> exprs.attrU32(1, 1).begin(2).attr(1, a).end());
            expr("immediate", () -> exprs.attrU32(1, 2).begin(2).attr(1, port(port)).end());
            expr("nat", () -> exprs.attrU32(1, 1).attrU32(2, family).attrU32(3, 1).attrU32(5, 2).attrU32(7, 2));
        }

        private void anonymousSet(String name, int flags, int keyType, int keyLen, boolean verdictMap, int size, byte[] udata,
                                  java.util.function.Consumer<ElementSink> elements) {
            // the set and its elements precede the rule that uses them
            msg(NEWSET, CREATE);
            b.attrString(1, table).attrString(2, name).attrU32(3, flags).attrU32(4, keyType).attrU32(5, keyLen);
            if (verdictMap) {
                b.attrU32(6, VERDICT_TYPE).attrU32(7, 0);
            }
            int id = setId++;
            b.attrU32(10, id);
            b.begin(9).attrU32(1, size).end();
            b.attr(13, udata);
            // elements in messages of at most ~32 KB each: an attribute's length has 16 bits
            List<java.util.function.Consumer<MessageBuilder>> each = new ArrayList<>();
            elements.accept(new ElementSink(each));
            for (int i = 0; i < each.size(); ) {
                msg(NEWSETELEM, CREATE);
                // by the id of this batch's new set, not by name: the kernel finds a name by walking
                // every set of the table, an id among the batch's newest sets first
                b.attrString(1, table).attrU32(4, id);
                b.begin(3);
                do {
                    each.get(i++).accept(b);
                } while (i < each.size() && b.nestedSize() < 32 * 1024);
                b.end();
            }
        }

        private String set(String at) {
            if (!at.startsWith("@")) {
                throw new IllegalArgumentException("set reference expected: " + at);
            }
            return at.substring(1);
        }

        private byte[] key(List<String> parts) {
            if (parts.size() == 1) {
                return keyPart(parts.get(0));
            }
            byte[] out = new byte[0];
            for (String part : parts) {
                byte[] v = keyPart(part);
                int at = out.length;
                out = Arrays.copyOf(out, at + MessageBuilder.align(v.length));
                System.arraycopy(v, 0, out, at, v.length);
            }
            return out;
        }

        private byte[] keyPart(String s) {
            if (s.equals("tcp") || s.equals("udp") || s.equals("sctp")) {
                return new byte[]{(byte) protocol(s)};
            }
            if (s.chars().allMatch(Character::isDigit)) {
                return port(s);
            }
            byte[] a = IpAddress.parse(s).bytes();
            if ((a.length == 16) != v6()) {
                throw new IllegalArgumentException("address of the other family: " + s);
            }
            return a;
        }
    }

    /** Collects the writers of an anonymous set's elements, one each. */
    private record ElementSink(List<java.util.function.Consumer<MessageBuilder>> writers) {
        void add(java.util.function.Consumer<MessageBuilder> w) {
            writers.add(w);
        }
    }

    private String anonymousName() {
        return "__set" + anonymousPrefix + "_" + (anonymous++);
    }

    private static int fail(String message) {
        throw new IllegalArgumentException(message);
    }

    static int hookNumber(String hook) {
        return switch (hook) {
            case "prerouting" -> 0;
            case "input" -> 1;
            case "forward" -> 2;
            case "output" -> 3;
            case "postrouting" -> 4;
            default -> throw new IllegalArgumentException("unknown hook " + hook);
        };
    }

    static int verdictCode(String v) {
        return switch (v) {
            case "drop" -> 0;
            case "accept" -> 1;
            case "jump" -> -3;
            case "goto" -> -4;
            case "return" -> -5;
            default -> throw new IllegalArgumentException("unknown verdict " + v);
        };
    }

    static int protocol(String p) {
        return switch (p) {
            case "tcp" -> 6;
            case "udp" -> 17;
            case "sctp" -> 132;
            default -> throw new IllegalArgumentException("unknown protocol " + p);
        };
    }

    static int[] typeOf(String type) {
        return switch (type) {
            case "ipv4_addr" -> new int[]{7, 4};
            case "ipv6_addr" -> new int[]{8, 16};
            case "inet_proto" -> new int[]{12, 1};
            case "inet_service" -> new int[]{13, 2};
            default -> throw new IllegalArgumentException("unsupported type " + type);
        };
    }

    static byte[] port(String s) {
        int v = Integer.parseInt(s);
        if (v < 0 || v > 65535) {
            throw new IllegalArgumentException("port out of range: " + s);
        }
        return new byte[]{(byte) (v >> 8), (byte) v};
    }

    static byte[] mask(int width, int bits) {
        byte[] m = new byte[width];
        for (int i = 0; i < width; i++) {
            int b = Math.max(0, Math.min(8, bits - 8 * i));
            m[i] = (byte) (0xff << (8 - b));
        }
        return m;
    }

    static byte[] fixed(java.math.BigInteger v, int width) {
        byte[] raw = v.toByteArray();
        byte[] out = new byte[width];
        int n = Math.min(raw.length, width);
        System.arraycopy(raw, raw.length - n, out, width - n, n);
        return out;
    }

    static String unquote(String s) {
        if (s.length() < 2 || !s.startsWith("\"") || !s.endsWith("\"")) {
            throw new IllegalArgumentException("quoted string expected: " + s);
        }
        return s.substring(1, s.length() - 1);
    }

    /** A TLV user-data blob (type, length, value) as libnftnl writes it; u32 values in host order. */
    static byte[] udataString(int type, String value) {
        return new Udata().string(type, value).bytes();
    }

    static final class Udata {
        private byte[] out = new byte[0];

        Udata raw(int type, byte[] v) {
            int at = out.length;
            out = Arrays.copyOf(out, at + 2 + v.length);
            out[at] = (byte) type;
            out[at + 1] = (byte) v.length;
            System.arraycopy(v, 0, out, at + 2, v.length);
            return this;
        }

        Udata u32(int type, int v) {
            return raw(type, MessageBuilder.host32(v));
        }

        Udata string(int type, String v) {
            byte[] s = v.getBytes(StandardCharsets.UTF_8);
            return raw(type, Arrays.copyOf(s, s.length + 1));
        }

        byte[] bytes() {
            return out;
        }
    }
}
