package io.switchboard.backend.iptables;

import java.util.Set;

/**
 * One family's rendered {@code iptables-restore} input and what it contains.
 *
 * @param text              the restore input ({@code *mangle}, {@code *filter}, {@code *nat})
 * @param activeNatChains   every per-service nat chain the rules now use (written or kept)
 * @param filterRules       rules in our filter chains after this sync
 * @param natRules          rules in our nat chains after this sync
 * @param filterRulesWritten filter rules in this input
 * @param natRulesWritten   nat rules in this input
 * @param noLocalInternal   service ports with internal policy Local and no local endpoint
 * @param noLocalExternal   service ports with external policy Local and no local endpoint
 */
public record RestoreInput(String text, Set<String> activeNatChains, int filterRules, int natRules,
                           int filterRulesWritten, int natRulesWritten, int noLocalInternal, int noLocalExternal) {
    public RestoreInput {
        activeNatChains = Set.copyOf(activeNatChains);
    }
}
