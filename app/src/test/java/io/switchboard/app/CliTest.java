package io.switchboard.app;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

class CliTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void version() {
        assertThat(run("--version")).isZero();
        assertThat(out.toString()).startsWith("switchboard ");
    }

    @Test
    void helpListsKubeProxyFlags() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString()).contains("--proxy-mode", "--iptables-sync-period", "--nodeport-addresses",
                "--healthz-bind-address", "--metrics-bind-address", "--cleanup", "--detect-local-mode", "--config");
    }

    @Test
    void unknownFlagExitsOne() {
        assertThat(run("--no-such-flag")).isEqualTo(1);
        assertThat(err.toString()).contains("Unknown option: '--no-such-flag'");
    }

    @Test
    void badValueExitsOneNamingFieldAndValue() {
        assertThat(run("--iptables-masquerade-bit=99")).isEqualTo(1);
        assertThat(err.toString()).contains("iptables.masqueradeBit", "\"99\"");
    }

    @Test
    void aRepeatedFlagTakesItsLastValueAsKubeProxyDoes() {
        CommandLine cl = Main.commandLine();
        cl.parseArgs("--cluster-cidr=10.0.0.0/8", "--cluster-cidr=10.244.0.0/16,fd00:10:244::/48",
                "--iptables-masquerade-bit=3", "--iptables-masquerade-bit=5");
        SwitchboardCommand parsed = cl.getCommand();
        assertThat(parsed.clusterCidr).isEqualTo("10.244.0.0/16,fd00:10:244::/48");
        assertThat(parsed.masqueradeBit).isEqualTo(5);
    }

    @Test
    void nonNumericIntegerFlag() {
        assertThat(run("--iptables-masquerade-bit=x")).isEqualTo(1);
        assertThat(err.toString()).contains("--iptables-masquerade-bit");
    }

    @Test
    void aModeWhoseKernelSupportIsMissingFailsAtStartWithReasonAndWhereToRunIt() throws Exception {
        try (var s = io.switchboard.netfilter.netlink.NetlinkSocket.open(io.switchboard.netfilter.netlink.NetlinkSocket.NETLINK_GENERIC,
                java.time.Duration.ofSeconds(5))) {
            io.switchboard.netfilter.netlink.Genl.resolve(s, "IPVS");
            org.junit.jupiter.api.Assumptions.abort("this kernel has IPVS: the mode would start");
        } catch (io.switchboard.netfilter.netlink.NetlinkException e) {
            // no IPVS here, as on the CI machine
        }
        assertThat(run("--proxy-mode=ipvs", "--hostname-override=n1", "--master=http://127.0.0.1:1",
                "--healthz-bind-address=127.0.0.1:0", "--metrics-bind-address=127.0.0.1:0")).isEqualTo(1);
        assertThat(err.toString()).contains("this kernel has no IPVS", "vm/run -- bin/switchboard demo --proxy-mode ipvs");
    }

    @Test
    void anUnknownModeFailsAtStart() {
        assertThat(run("--proxy-mode=kernelspace", "--hostname-override=n1", "--master=http://127.0.0.1:1",
                "--healthz-bind-address=127.0.0.1:0", "--metrics-bind-address=127.0.0.1:0")).isEqualTo(1);
        assertThat(err.toString()).contains("kernelspace");
    }
}
