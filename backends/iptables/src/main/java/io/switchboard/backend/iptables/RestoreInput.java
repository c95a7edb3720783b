package io.switchboard.backend.iptables;

import io.switchboard.netfilter.ChainNames;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One family's rendered rules, in parts, and the {@code iptables-restore} input assembled from
 * them: either one input (atomic), or service chunks followed by a final input with the top-level
 * chains (for the nf_tables backend, whose {@code --noflush} restore time grows with the square of
 * the input). Top-level chains whose content did not change since the last sync may be left out.
 *
 * @param fullSync        write the canary chains and the missing jumps
 * @param missingJumps    jumps from built-in chains to insert
 * @param filterTop       filter top-level chains: rules text per chain
 * @param natTop          nat top-level chains: rules text per chain
 * @param blocks          per-service chains written by this sync
 * @param staleChains     per-service chains to flush (and delete if {@code deleteStale})
 * @param deleteStale     delete the stale chains, not only flush them
 * @param filterRules     rules in our filter chains after this sync
 * @param natRules        rules in our nat chains after this sync
 * @param filterRulesWritten filter rules in the full input
 * @param natRulesWritten nat rules in the full input
 * @param noLocalInternal service ports with internal policy Local and no local endpoint
 * @param noLocalExternal service ports with external policy Local and no local endpoint
 * @param memo            per service, what it contributed (reused by the next partial render)
 */
public record RestoreInput(boolean fullSync, List<JumpRule> missingJumps, Map<String, StringBuilder> filterTop,
                           Map<String, StringBuilder> natTop, List<Block> blocks, List<String> staleChains,
                           boolean deleteStale, int filterRules, int natRules, int filterRulesWritten,
                           int natRulesWritten, int noLocalInternal, int noLocalExternal,
                           Map<io.switchboard.core.model.ServicePortName, IptablesRenderer.ServiceMemo> memo) {

    /** The chains and rules of one service port. */
    public record Block(String chains, String rules, int ruleCount) {
    }

    public RestoreInput {
        missingJumps = List.copyOf(missingJumps);
        filterTop = new LinkedHashMap<>(filterTop);
        natTop = new LinkedHashMap<>(natTop);
        blocks = List.copyOf(blocks);
        staleChains = List.copyOf(staleChains);
    }

    /** Every per-service nat chain the rules now use (written or kept). Computed on demand: it is large. */
    public Set<String> activeNatChains() {
        Set<String> out = new java.util.HashSet<>();
        memo.values().forEach(m -> out.addAll(m.chains()));
        return out;
    }

    /** The whole input as one restore. */
    public String text() {
        return text(Set.of());
    }

    /** One restore, leaving out top-level chains named {@code table/chain} in {@code unchanged}. */
    public String text(Set<String> unchanged) {
        return assemble(unchanged, true);
    }

    /**
     * Several restores: groups of service blocks of at most {@code maxLines} lines each, then the
     * top-level chains, stale-chain deletion, canary and jumps.
     */
    public List<String> chunks(Set<String> unchanged, int maxLines) {
        List<String> out = new ArrayList<>();
        // service chains jump to KUBE-MARK-MASQ, which must exist before the first chunk lands
        String markMasq = ":" + ChainNames.KUBE_MARK_MASQ + " - [0:0]\n" + natTop.getOrDefault(ChainNames.KUBE_MARK_MASQ, new StringBuilder());
        StringBuilder decl = new StringBuilder(markMasq);
        StringBuilder rules = new StringBuilder();
        int lines = 0;
        for (Block b : blocks) {
            decl.append(b.chains());
            rules.append(b.rules());
            lines += b.ruleCount();
            if (lines >= maxLines) {
                out.add("*nat\n" + decl + rules + "COMMIT\n");
                decl.setLength(0);
                rules.setLength(0);
                lines = 0;
            }
        }
        if (lines > 0) {
            out.add("*nat\n" + decl + rules + "COMMIT\n");
        }
        out.add(assemble(unchanged, false));
        return out;
    }

    /** Content of each top-level chain, keyed {@code table/chain}, to compare with the last sync. */
    public Map<String, String> topContents() {
        Map<String, String> out = new LinkedHashMap<>();
        filterTop.forEach((c, r) -> out.put("filter/" + c, r.toString()));
        natTop.forEach((c, r) -> out.put("nat/" + c, r.toString()));
        return out;
    }

    /** Total size in bytes of what {@link #text(Set)} would write. */
    private String assemble(Set<String> unchanged, boolean withBlocks) {
        StringBuilder out = new StringBuilder(1 << 12);
        if (fullSync) {
            out.append("*mangle\n:").append(ChainNames.KUBE_PROXY_CANARY).append(" - [0:0]\nCOMMIT\n");
        }
        StringBuilder filter = new StringBuilder();
        filterTop.forEach((c, r) -> {
            if (!unchanged.contains("filter/" + c)) {
                filter.append(':').append(c).append(" - [0:0]\n");
            }
        });
        filterTop.forEach((c, r) -> {
            if (!unchanged.contains("filter/" + c)) {
                filter.append(r);
            }
        });
        if (fullSync) {
            canaryAndJumps(filter, "filter");
        }
        if (filter.length() > 0) {
            out.append("*filter\n").append(filter).append("COMMIT\n");
        }
        StringBuilder nat = new StringBuilder();
        natTop.forEach((c, r) -> {
            if (!unchanged.contains("nat/" + c)) {
                nat.append(':').append(c).append(" - [0:0]\n");
            }
        });
        if (withBlocks) {
            blocks.forEach(b -> nat.append(b.chains()));
        }
        staleChains.forEach(c -> nat.append(':').append(c).append(" - [0:0]\n"));
        if (withBlocks) {
            blocks.forEach(b -> nat.append(b.rules()));
        }
        natTop.forEach((c, r) -> {
            if (!unchanged.contains("nat/" + c)) {
                nat.append(r);
            }
        });
        if (deleteStale) {
            staleChains.forEach(c -> nat.append("-X ").append(c).append('\n'));
        }
        if (fullSync) {
            canaryAndJumps(nat, "nat");
        }
        if (nat.length() > 0) {
            out.append("*nat\n").append(nat).append("COMMIT\n");
        }
        return out.toString();
    }

    private void canaryAndJumps(StringBuilder out, String table) {
        out.append(':').append(ChainNames.KUBE_PROXY_CANARY).append(" - [0:0]\n");
        for (JumpRule j : missingJumps) {
            if (j.table().equals(table)) {
                out.append("-I ").append(j.from()).append(" 1 ").append(String.join(" ", j.args())).append('\n');
            }
        }
    }
}
