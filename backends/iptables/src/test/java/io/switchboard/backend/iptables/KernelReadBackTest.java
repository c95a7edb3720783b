package io.switchboard.backend.iptables;

import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.Iptables;
import io.switchboard.netfilter.trace.RuleSet;
import io.switchboard.testkit.Netns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every golden scenario's rules restored into a real kernel (a fresh network namespace), read back
 * with {@code iptables-save}, parsed, and traced: the kernel's version of the rules must send every
 * flow where the rendered input does.
 */
class KernelReadBackTest {

    static Stream<org.junit.jupiter.params.provider.Arguments> scenarios() {
        return GoldenScenarioTest.matrix().flatMap(s -> Stream.of(Iptables.Flavor.NFT, Iptables.Flavor.LEGACY)
                .map(f -> org.junit.jupiter.params.provider.Arguments.of(s, f)));
    }

    @ParameterizedTest(name = "{0} ({1})")
    @MethodSource("scenarios")
    void readBackTracesTheSame(Scenario s, Iptables.Flavor flavor) throws Exception {
        String why = Netns.unavailableReason();
        Assumptions.assumeTrue(why == null, "real-kernel test skipped: " + why);
        Map<IpFamily, String> rendered = GoldenScenarioTest.render(s);
        String ns = "sbrb" + Integer.toHexString(s.toString().hashCode() & 0xfffff);
        Netns.delete(ns);
        Netns.add(ns);
        try {
            CommandRunner inNs = Netns.runner(ns);
            Iptables iptables = new Iptables(inNs, flavor);
            Map<IpFamily, String> saved = new EnumMap<>(IpFamily.class);
            for (Map.Entry<IpFamily, String> e : rendered.entrySet()) {
                iptables.restore(e.getKey(), e.getValue());
            }
            for (IpFamily f : rendered.keySet()) {
                saved.put(f, iptables.save(f, null));
            }
            assertThat(GoldenScenarioTest.traceAll(s, saved)).as("kernel read-back of " + s)
                    .isEqualTo(GoldenScenarioTest.traceAll(s, rendered));
            for (IpFamily f : rendered.keySet()) {
                RuleSet kernel = RuleSet.parse(saved.get(f));
                assertThat(kernel.danglingJumps()).isEmpty();
                assertThat(kernel.hasChain("mangle", "KUBE-PROXY-CANARY")).isTrue();
                // the same number of rules in each of our chains
                RuleSet ours = RuleSet.parse(rendered.get(f));
                for (String table : List.of("filter", "nat")) {
                    ours.table(table).forEach((chain, rules) ->
                            assertThat(kernel.chain(table, chain)).as(f + " " + table + " " + chain).hasSameSizeAs(rules));
                }
            }
        } finally {
            Netns.delete(ns);
        }
    }

}
