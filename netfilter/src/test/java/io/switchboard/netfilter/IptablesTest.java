package io.switchboard.netfilter;

import io.switchboard.core.model.IpFamily;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IptablesTest {
    private final List<List<String>> calls = new ArrayList<>();

    private Iptables with(int exit, String stderr) {
        return new Iptables((cmd, stdin, timeout) -> {
            calls.add(cmd);
            return new CommandRunner.Result(exit, "", stderr);
        }, Iptables.Flavor.LEGACY);
    }

    @Test
    void aChainIsThereOrNot() throws Exception {
        assertThat(with(0, "").chainExists(IpFamily.IPV4, "mangle", "KUBE-PROXY-CANARY")).isTrue();
        assertThat(with(1, "iptables: No chain/target/match by that name.").chainExists(IpFamily.IPV4, "mangle", "X")).isFalse();
        assertThat(calls.get(0)).contains("-w", "5", "-t", "mangle", "-S", "KUBE-PROXY-CANARY");
    }

    /** A busy xtables lock says nothing about the chain: it must not read as "the chain is gone". */
    @Test
    void aBusyLockIsNotAMissingChain() {
        Iptables busy = with(4, "Another app is currently holding the xtables lock. Stopped waiting after 5s.");
        assertThatThrownBy(() -> busy.chainExists(IpFamily.IPV4, "mangle", "KUBE-PROXY-CANARY"))
                .isInstanceOf(Iptables.LockBusyException.class).hasMessageContaining("xtables lock");
        // exit code 4 for another resource problem is an ordinary failure
        assertThat(Iptables.lockBusy(new CommandRunner.Result(4, "", "Could not fetch rule set generation id"))).isFalse();
    }
}
