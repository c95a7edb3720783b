package io.switchboard.netfilter.netlink;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Generic netlink family resolution against this machine's kernel (no privilege needed). */
class GenlKernelTest {
    private static NetlinkSocket open() throws Exception {
        try {
            return NetlinkSocket.open(NetlinkSocket.NETLINK_GENERIC, Duration.ofSeconds(5));
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            assumeTrue(false, "no libc for jnr-ffi here: " + e);
            throw e;
        }
    }

    @Test
    void theControllerResolvesItselfAndAnUnknownFamilyIsEnoent() throws Exception {
        try (NetlinkSocket s = open()) {
            Genl.Family ctrl = Genl.resolve(s, "nlctrl");
            assertThat(ctrl.id()).isEqualTo(Genl.GENL_ID_CTRL);
            assertThat(ctrl.version()).isPositive();
            assertThatThrownBy(() -> Genl.resolve(s, "no-such-family"))
                    .isInstanceOf(NetlinkException.class)
                    .satisfies(e -> assertThat(((NetlinkException) e).errno()).isEqualTo(Errno.ENOENT))
                    .hasMessageContaining("no-such-family");
        }
    }
}
