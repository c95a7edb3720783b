package io.switchboard.backend.nftables;

import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.util.SortedMaps;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One {@code nft -f} transaction as text, with the service port that owns each line (so a line the
 * kernel rejects can be traced to its port). Pure: built from models, never from the kernel.
 *
 * <ul>
 *   <li>{@link #full}: recreates everything: the fixed chains, flushed maps refilled, every service
 *       chain created and flushed and refilled, stale chains (named by a read-back) flushed, stale
 *       affinity sets deleted.</li>
 *   <li>{@link #diff}: only what changed between two models: new chains created, changed ones
 *       flushed and refilled, removed ones flushed (deleted a second later), map elements deleted
 *       and added one by one, affinity sets added or deleted. Unchanged services send nothing.</li>
 * </ul>
 * Both order their statements the same way: chains exist before anything points at them, elements
 * are deleted before their replacements are added, sets are deleted only after the chains that use
 * them were flushed.
 */
public final class NftTransaction {
    private final StringBuilder text = new StringBuilder();
    private final List<ServicePortName> owners = new ArrayList<>();
    private final TreeSet<String> flushedStale = new TreeSet<>();
    private int lines;
    private int elementsWritten;
    private int chainsWritten;

    private NftTransaction() {
    }

    /** The transaction text for {@code nft -f -}. */
    public String text() {
        return text.toString();
    }

    public int lineCount() {
        return lines;
    }

    /** The service port that owns a 1-based line, or null (a fixed statement, or out of range). */
    public ServicePortName owner(int line) {
        return line >= 1 && line <= owners.size() ? owners.get(line - 1) : null;
    }

    /** Service chains this transaction empties because nothing uses them now (to delete later). */
    public Set<String> flushedStale() {
        return flushedStale;
    }

    public int elementsWritten() {
        return elementsWritten;
    }

    public int chainsWritten() {
        return chainsWritten;
    }

    public boolean isEmpty() {
        return lines == 0;
    }

    private void line(String s, ServicePortName owner) {
        text.append(s).append('\n');
        owners.add(owner);
        lines++;
    }

    /**
     * Everything, as one transaction.
     *
     * @param model         the desired table
     * @param kernelObjects per-service chains and sets the kernel holds now (read back), or empty
     */
    public static NftTransaction full(NftModel model, NftSettings s, Set<String> kernelObjects) {
        return fullChunks(model, s, kernelObjects, Integer.MAX_VALUE).get(0);
    }

    /**
     * Everything, as transactions of at most {@code servicesPerChunk} service ports each, then one
     * that rewrites the fixed chains and refills the maps. The kernel spends time quadratic in a
     * transaction's size on the anonymous {@code numgen} maps it creates (a lookup through the
     * pending transaction per map), so a large table goes in pieces: each piece creates or rewrites
     * whole services (every service is consistent at every moment), and only the last one, with no
     * anonymous maps, points the dispatch maps at them. A single chunk when the model is small.
     */
    public static List<NftTransaction> fullChunks(NftModel model, NftSettings s, Set<String> kernelObjects, int servicesPerChunk) {
        String t = NftablesRenderer.table(s);
        Set<String> active = new HashSet<>();
        model.services().values().forEach(o -> {
            o.chains().forEach(c -> active.add(c.name()));
            o.sets().forEach(set -> active.add(set.name()));
        });
        List<NftTransaction> out = new ArrayList<>();
        boolean single = model.services().size() <= servicesPerChunk;
        NftTransaction last = new NftTransaction();
        last.line("add table " + t + " { comment \"rules for kube-proxy\" ; }", null);
        for (String m : model.maps()) {
            last.line(m, null);
            String[] w = m.split(" ", 6);
            last.line("flush " + w[1] + " " + t + " " + w[4], null);
        }
        model.setup().forEach(l -> last.line(l, null));
        List<Map.Entry<ServicePortName, NftModel.ServiceObjects>> all = new ArrayList<>(model.services().entrySet());
        for (int from = 0; from < all.size(); from += single ? all.size() : servicesPerChunk) {
            List<Map.Entry<ServicePortName, NftModel.ServiceObjects>> part =
                    all.subList(from, single ? all.size() : Math.min(all.size(), from + servicesPerChunk));
            NftTransaction tx = single ? last : new NftTransaction();
            if (!single) {
                tx.line("add table " + t + " { comment \"rules for kube-proxy\" ; }", null);
                if (from == 0) {
                    // the maps exist before the services' sets: the kernel finds a set by name by
                    // walking the table's sets from the oldest, and the maps are named per element
                    model.maps().forEach(m -> tx.line(m, null));
                }
                tx.line("add chain " + t + " " + NftNames.MARK_MASQ, null);
            }
            for (Map.Entry<ServicePortName, NftModel.ServiceObjects> e : part) {
                for (NftModel.Chain c : e.getValue().chains()) {
                    tx.line("add chain " + t + " " + c.name(), e.getKey());
                    tx.line("flush chain " + t + " " + c.name(), e.getKey());
                }
            }
            if (single) {
                last.stale(t, kernelObjects, active);
            }
            part.forEach(e -> e.getValue().sets().forEach(set -> tx.line(addSet(t, s, set), e.getKey())));
            part.forEach(e -> e.getValue().chains().forEach(c -> tx.rules(t, c, e.getKey())));
            if (!single) {
                out.add(tx);
            }
        }
        if (!single || all.isEmpty()) {
            last.stale(t, kernelObjects, active);
        }
        Set<String> claimed = new HashSet<>();
        model.services().forEach((spn, o) -> {
            for (NftModel.Element e : o.elements()) {
                if (claimed.add(e.id())) {
                    last.line(addElement(t, e), spn);
                    last.elementsWritten++;
                }
            }
        });
        out.add(last);
        return out;
    }

    /** Per-service chains the kernel has and nothing uses: flushed (deleted later); such sets: deleted after. */
    private void stale(String t, Set<String> kernelObjects, Set<String> active) {
        TreeSet<String> sets = new TreeSet<>();
        for (String k : new TreeSet<>(kernelObjects)) {
            if (active.contains(k)) {
                continue;
            }
            if (k.startsWith("affinity-")) {
                sets.add(k);
            } else {
                line("flush chain " + t + " " + k, null);
                flushedStale.add(k);
            }
        }
        sets.forEach(k -> line("delete set " + t + " " + k, null));
    }

    /** Only the differences from {@code before} (the model the kernel holds) to {@code after}. */
    public static NftTransaction diff(NftModel before, NftModel after, NftSettings s) {
        return diff(before, after, s, Set.of());
    }

    /**
     * As {@link #diff(NftModel, NftModel, NftSettings)}, first deleting chains an earlier
     * transaction emptied ({@code deleteFirst}): one {@code nft} run instead of two, since each run
     * first lists the table's chains and sets, which at scale costs more than the change itself.
     */
    public static NftTransaction diff(NftModel before, NftModel after, NftSettings s, Set<String> deleteFirst) {
        NftTransaction tx = new NftTransaction();
        String t = NftablesRenderer.table(s);
        for (String c : new TreeSet<>(deleteFirst)) {
            tx.line("delete chain " + t + " " + c, null);
        }
        if (!before.setup().equals(after.setup()) || !before.maps().equals(after.maps())) {
            after.maps().forEach(m -> tx.line(m, null));
            after.setup().forEach(l -> tx.line(l, null));
        }
        // service ports whose objects differ (identity: the record itself is reused when unchanged),
        // found by walking both models in name order at once
        List<ServicePortName> changed = new ArrayList<>();
        SortedMaps.Cursor<ServicePortName, NftModel.ServiceObjects> afterCursor = SortedMaps.cursor(after.services());
        for (Map.Entry<ServicePortName, NftModel.ServiceObjects> e : before.services().entrySet()) {
            NftModel.ServiceObjects now = afterCursor.get(e.getKey());
            if (now != e.getValue() && !e.getValue().equals(now)) {
                changed.add(e.getKey());
            }
        }
        SortedMaps.Cursor<ServicePortName, NftModel.ServiceObjects> beforeCursor = SortedMaps.cursor(before.services());
        for (ServicePortName spn : after.services().keySet()) {
            if (beforeCursor.get(spn) == null) {
                changed.add(spn);
            }
        }
        if (changed.isEmpty()) {
            return tx;
        }
        changed.sort(null);
        // chains: created, flushed (changed or gone)
        List<Object[]> rulesToWrite = new ArrayList<>();
        Set<String> usedAfter = new HashSet<>();
        for (ServicePortName spn : changed) {
            NftModel.ServiceObjects now = after.services().get(spn);
            if (now != null) {
                now.chains().forEach(c -> usedAfter.add(c.name()));
            }
        }
        for (ServicePortName spn : changed) {
            Map<String, NftModel.Chain> old = chains(before.services().get(spn));
            NftModel.ServiceObjects now = after.services().get(spn);
            if (now != null) {
                for (NftModel.Chain c : now.chains()) {
                    NftModel.Chain prev = old.get(c.name());
                    if (prev == null) {
                        tx.line("add chain " + t + " " + c.name(), spn);
                        rulesToWrite.add(new Object[]{c, spn});
                    } else if (!prev.rules().equals(c.rules())) {
                        tx.line("flush chain " + t + " " + c.name(), spn);
                        rulesToWrite.add(new Object[]{c, spn});
                    }
                }
            }
            for (String name : old.keySet()) {
                if (!usedAfter.contains(name)) {
                    tx.line("flush chain " + t + " " + name, spn);
                    tx.flushedStale.add(name);
                }
            }
        }
        // elements: removed or changed ones deleted first
        Map<String, NftModel.Element> oldElements = new HashMap<>();
        Map<String, NftModel.Element> newElements = new HashMap<>();
        for (ServicePortName spn : changed) {
            elements(before.services().get(spn)).forEach(e -> oldElements.putIfAbsent(e.id(), e));
            elements(after.services().get(spn)).forEach(e -> newElements.putIfAbsent(e.id(), e));
        }
        for (ServicePortName spn : changed) {
            for (NftModel.Element e : elements(before.services().get(spn))) {
                if (oldElements.get(e.id()) == e && !e.equals(newElements.get(e.id()))) {
                    tx.line("delete element " + t + " " + e.map() + " { " + e.key() + " }", spn);
                }
            }
        }
        // affinity sets: the chains that use a removed set were flushed above
        Set<String> setsAfter = new HashSet<>();
        changed.forEach(spn -> sets(after.services().get(spn)).forEach(x -> setsAfter.add(x.name())));
        for (ServicePortName spn : changed) {
            for (NftModel.AffinitySet set : sets(before.services().get(spn))) {
                if (!setsAfter.contains(set.name())) {
                    tx.line("delete set " + t + " " + set.name(), spn);
                }
            }
        }
        for (ServicePortName spn : changed) {
            Map<String, NftModel.AffinitySet> old = new HashMap<>();
            sets(before.services().get(spn)).forEach(x -> old.put(x.name(), x));
            for (NftModel.AffinitySet set : sets(after.services().get(spn))) {
                if (!set.equals(old.get(set.name()))) {
                    tx.line(addSet(t, s, set), spn);
                }
            }
        }
        for (Object[] r : rulesToWrite) {
            tx.rules(t, (NftModel.Chain) r[0], (ServicePortName) r[1]);
        }
        for (ServicePortName spn : changed) {
            for (NftModel.Element e : elements(after.services().get(spn))) {
                if (newElements.get(e.id()) == e && !e.equals(oldElements.get(e.id()))) {
                    tx.line(addElement(t, e), spn);
                    tx.elementsWritten++;
                }
            }
        }
        return tx;
    }

    /** Deletes chains emptied by earlier transactions (a separate transaction, as kube-proxy does). */
    public static NftTransaction deleteChains(NftSettings s, Set<String> chains) {
        NftTransaction tx = new NftTransaction();
        String t = NftablesRenderer.table(s);
        for (String c : new TreeSet<>(chains)) {
            tx.line("delete chain " + t + " " + c, null);
        }
        return tx;
    }

    private void rules(String t, NftModel.Chain c, ServicePortName spn) {
        for (String r : c.rules()) {
            line("add rule " + t + " " + c.name() + " " + r, spn);
        }
        chainsWritten++;
    }

    private static String addSet(String t, NftSettings s, NftModel.AffinitySet set) {
        return "add set " + t + " " + set.name() + " { type " + NftNames.addrType(s.family())
                + " ; flags dynamic,timeout ; timeout " + set.timeoutSeconds() + "s ; }";
    }

    private static String addElement(String t, NftModel.Element e) {
        return "add element " + t + " " + e.map() + " { " + e.key()
                + (e.comment().isEmpty() ? "" : " comment \"" + e.comment() + "\"") + (e.value().isEmpty() ? "" : " : " + e.value()) + " }";
    }

    private static Map<String, NftModel.Chain> chains(NftModel.ServiceObjects o) {
        Map<String, NftModel.Chain> m = new HashMap<>();
        if (o != null) {
            o.chains().forEach(c -> m.put(c.name(), c));
        }
        return m;
    }

    private static List<NftModel.Element> elements(NftModel.ServiceObjects o) {
        return o == null ? List.of() : o.elements();
    }

    private static List<NftModel.AffinitySet> sets(NftModel.ServiceObjects o) {
        return o == null ? List.of() : o.sets();
    }
}
