package io.switchboard.backend.iptables;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.Protocol;
import io.switchboard.netfilter.ChainNames;
import io.switchboard.netfilter.trace.PacketTracer;
import io.switchboard.netfilter.trace.RuleSet;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Partial syncs: only changed services' chains are written; stale chains are flushed and deleted. */
class PartialSyncTest {

    @Test
    void partialWritesOnlyChangedServicesAndDeletesStaleChains() throws IOException {
        Scenario s = new Scenario("partial-sync")
                .svc("ns1/a", "p80", Protocol.TCP, 80, "172.30.0.1", b -> { })
                .slice("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.1")
                .svc("ns1/b", "p80", Protocol.TCP, 80, "172.30.0.2", b -> { })
                .slice("ns1/b", "p80", Protocol.TCP, 80, "10.180.0.2", "10.180.0.3");
        RestoreInput full = IptablesRenderer.render(s.fullSnapshot(), s.settings(Set.of(), JumpRule.ALL));
        // the kernel after the full restore, as the tracer models --noflush
        RuleSet kernel = RuleSet.parse(full.text());

        s.slice("ns1/b", "p80", Protocol.TCP, 80, "10.180.0.3", "10.180.0.4");
        RestoreInput partial = IptablesRenderer.render(s.partialSnapshot(), s.settings(full.activeNatChains(), List.of()));
        GoldenScenarioTest.check("partial-sync", partial.text());

        var a = new io.switchboard.core.model.ServicePortName(Scenario.nn("ns1/a"), "p80", Protocol.TCP);
        assertThat(partial.text()).doesNotContain(":" + ChainNames.service(a)).contains("-j " + ChainNames.service(a)).contains("-X KUBE-SEP-");
        assertThat(partial.natRulesWritten()).isLessThan(full.natRulesWritten());
        assertThat(partial.natRules()).isEqualTo(full.natRules() + 0);

        kernel.apply(partial.text());
        assertThat(kernel.danglingJumps()).isEmpty();
        PacketTracer tracer = new PacketTracer(kernel, Set.of(IpAddress.parse(Scenario.NODE_IP)));
        assertThat(tracer.trace(PacketTracer.Packet.arriving("10.0.1.5", "172.30.0.1", "tcp", 80, "cni0")))
                .extracting(Object::toString).containsExactly("10.180.0.1:80");
        assertThat(tracer.trace(PacketTracer.Packet.arriving("10.0.1.5", "172.30.0.2", "tcp", 80, "cni0")))
                .extracting(Object::toString).containsExactly("10.180.0.3:80", "10.180.0.4:80");
        // the full input also carried the canary and the jumps from the built-in chains
        assertThat(full.text()).contains("*mangle\n:KUBE-PROXY-CANARY - [0:0]")
                .contains("-I PREROUTING 1 -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
        assertThat(kernel.chain("nat", "PREROUTING")).hasSize(1);
        assertThat(kernel.chain("filter", "INPUT")).extracting(RuleSet.Rule::target)
                .containsExactly("KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES");
    }

    @Test
    void removedServiceChainsAreDeletedOnFullSyncFromKernelState() {
        Scenario s = new Scenario("x")
                .svc("ns1/a", "p80", Protocol.TCP, 80, "172.30.0.1", b -> { })
                .slice("ns1/a", "p80", Protocol.TCP, 80, "10.180.0.1");
        RestoreInput first = IptablesRenderer.render(s.fullSnapshot(), s.settings(Set.of(), List.of()));
        s.services.update(Scenario.nn("ns1/a"), null);
        RestoreInput second = IptablesRenderer.render(s.fullSnapshot(),
                s.settings(Set.of("KUBE-SVC-OLDOLDOLDOLDOLDO", "KUBE-SERVICES", "KUBE-SEP-OLDOLDOLDOLDOLDO"), List.of()));
        assertThat(second.text()).contains("-X KUBE-SVC-OLDOLDOLDOLDOLDO", "-X KUBE-SEP-OLDOLDOLDOLDOLDO")
                .doesNotContain("-X KUBE-SERVICES");
        assertThat(first.activeNatChains()).isNotEmpty();
        assertThat(second.activeNatChains()).isEmpty();
    }
}
