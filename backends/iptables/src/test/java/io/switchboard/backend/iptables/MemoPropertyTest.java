package io.switchboard.backend.iptables;

import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.TrafficPolicy;
import io.switchboard.core.sync.ProxySnapshot;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded random sequences of service and endpoint changes: a partial render that reuses the
 * previous render's per-service memo writes exactly what a render from scratch writes.
 */
class MemoPropertyTest {

    @ParameterizedTest
    @ValueSource(longs = {3, 17, 2026})
    void memoizedPartialRenderEqualsRenderFromScratch(long seed) {
        Random r = new Random(seed);
        Scenario s = new Scenario("memo");
        for (int i = 0; i < 12; i++) {
            addService(s, r, i);
        }
        RestoreInput previous = IptablesRenderer.render(s.fullSnapshot(), s.settings(Set.of(), List.of()));
        for (int round = 0; round < 30; round++) {
            int i = r.nextInt(14);
            if (r.nextInt(4) == 0) {
                addService(s, r, i);
            } else {
                List<String> eps = new ArrayList<>();
                for (int k = 0; k < r.nextInt(4); k++) {
                    eps.add("10.180." + i + "." + (1 + r.nextInt(6)) + (r.nextBoolean() ? "@local" : ""));
                }
                s.slice("ns/s" + i, "p", Protocol.TCP, 80, eps.toArray(String[]::new));
            }
            ProxySnapshot partial = s.partialSnapshot();
            RenderSettings settings = s.settings(previous.activeNatChains(), List.of());
            RestoreInput fresh = IptablesRenderer.render(partial, settings);
            RestoreInput memoized = IptablesRenderer.render(partial, settings, previous.memo());
            assertThat(memoized.text()).isEqualTo(fresh.text());
            assertThat(memoized.activeNatChains()).isEqualTo(fresh.activeNatChains());
            assertThat(memoized.natRules()).isEqualTo(fresh.natRules());
            assertThat(memoized.noLocalExternal()).isEqualTo(fresh.noLocalExternal());
            previous = memoized;
        }
    }

    private static void addService(Scenario s, Random r, int i) {
        boolean nodePort = r.nextBoolean();
        boolean local = r.nextBoolean();
        s.svc("ns/s" + i, "p", Protocol.TCP, 80, "172.30.1." + (i + 1), b -> {
            if (nodePort) {
                b.nodePort(30000 + i);
                if (local) {
                    b.externalPolicy(TrafficPolicy.LOCAL);
                }
            }
        });
    }

}
