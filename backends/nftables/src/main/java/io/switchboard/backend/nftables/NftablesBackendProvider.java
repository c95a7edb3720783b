package io.switchboard.backend.nftables;

import io.switchboard.core.backend.Availability;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.BackendProvider;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.conntrack.NetlinkConntrack;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.TreeSet;

/**
 * {@code --proxy-mode=nftables}. The probe runs {@code nft --version} and a check-only
 * transaction that creates a table with a verdict map and a {@code numgen} rule in each family,
 * so a missing {@code nft}, or a kernel without nf_tables or its modules, is named at start.
 */
public final class NftablesBackendProvider implements BackendProvider {
    private static final Logger LOG = LoggerFactory.getLogger(NftablesBackendProvider.class);

    @Override
    public String mode() {
        return "nftables";
    }

    @Override
    public Availability probe(BackendContext context) {
        Nft nft = new Nft(CommandRunner.SYSTEM);
        try {
            LOG.info("nftables mode: {}", nft.version());
        } catch (IOException e) {
            return Availability.unavailable("nftables mode needs the nft command (Debian package nftables): " + e.getMessage());
        }
        for (IpFamily f : new TreeSet<>(context.families())) {
            String fam = NftNames.family(f);
            String probe = "add table " + fam + " kube-proxy-probe\n"
                    + "add map " + fam + " kube-proxy-probe m { type inet_proto . inet_service : verdict ; }\n"
                    + "add chain " + fam + " kube-proxy-probe c { type nat hook prerouting priority -100 ; }\n"
                    + "add rule " + fam + " kube-proxy-probe c numgen random mod 2 vmap { 0 : accept, 1 : accept }\n"
                    + "add rule " + fam + " kube-proxy-probe c meta l4proto . th dport vmap @m\n";
            try {
                var r = CommandRunner.SYSTEM.run(java.util.List.of("nft", "--check", "-f", "-"), probe,
                        java.time.Duration.ofSeconds(30));
                if (!r.ok()) {
                    return Availability.unavailable("the kernel does not take kube-proxy's nftables rules ("
                            + f.kubernetesName() + "): " + r.stderr().strip());
                }
            } catch (IOException e) {
                return Availability.unavailable("cannot run nft: " + e.getMessage());
            }
        }
        return Availability.AVAILABLE;
    }

    @Override
    public ProxyBackend create(BackendContext context) {
        Nft nft;
        try {
            NetlinkNft.probe();
            nft = new NetlinkNft(CommandRunner.SYSTEM);
            LOG.info("nftables mode: transactions go to the kernel as nf_tables netlink batches");
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("nftables mode: netlink is unavailable ({}); transactions go through nft -f", e.toString());
            nft = new Nft(CommandRunner.SYSTEM);
        }
        return new NftablesBackend(context, nft, NetlinkConntrack.loadOrNull());
    }
}
