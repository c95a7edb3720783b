package io.switchboard.netfilter;

import io.switchboard.core.model.IpFamily;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * iptables / ip6tables through their command-line tools: one {@code iptables-restore --noflush
 * --counters} per sync, {@code iptables-save} to read state back. Works with the nf_tables and the
 * legacy backend; the flavour follows what the node already uses (see {@link #detectFlavor}).
 */
public final class Iptables {
    private static final Logger LOG = LoggerFactory.getLogger(Iptables.class);
    private static final Pattern FAILED_LINE = Pattern.compile("line:? (\\d+)");
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    /** Which iptables binaries to call. */
    public enum Flavor {
        /** whatever {@code iptables} points to on this system */
        DEFAULT(""),
        NFT("-nft"),
        LEGACY("-legacy");

        private final String suffix;

        Flavor(String suffix) {
            this.suffix = suffix;
        }
    }

    private final CommandRunner runner;
    private final Flavor flavor;

    public Iptables(CommandRunner runner, Flavor flavor) {
        this.runner = runner;
        this.flavor = flavor;
    }

    public Flavor flavor() {
        return flavor;
    }

    private String tool(IpFamily family, String what) {
        String base = family == IpFamily.IPV4 ? "iptables" : "ip6tables";
        return base + flavor.suffix + what;
    }

    /** A failed restore: the kernel kept its previous rules. */
    public static final class RestoreException extends Exception {
        private static final long serialVersionUID = 1L;
        private final int line;

        RestoreException(String message, int line) {
            super(message);
            this.line = line;
        }

        /** The failing input line (1-based), or 0 if the tool did not say. */
        public int line() {
            return line;
        }
    }

    /**
     * Applies restore input atomically per table, keeping other chains ({@code --noflush}) and
     * counters, waiting for the xtables lock.
     */
    public void restore(IpFamily family, String input) throws RestoreException, IOException {
        List<String> cmd = List.of(tool(family, "-restore"), "-w", "5", "-W", "100000", "--noflush", "--counters");
        CommandRunner.Result r = runner.run(cmd, input, TIMEOUT);
        if (!r.ok()) {
            String msg = r.stderr().strip();
            Matcher m = FAILED_LINE.matcher(msg);
            int line = m.find() ? Integer.parseInt(m.group(1)) : 0;
            throw new RestoreException(tool(family, "-restore") + " failed (exit " + r.exitCode() + "): " + msg, line);
        }
    }

    /** {@code iptables-save} of all tables (or one). */
    public String save(IpFamily family, String table) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(tool(family, "-save")));
        if (table != null) {
            cmd.add("-t");
            cmd.add(table);
        }
        CommandRunner.Result r = runner.run(cmd, null, TIMEOUT);
        if (!r.ok()) {
            throw new IOException(String.join(" ", cmd) + " failed: " + r.stderr().strip());
        }
        return r.stdout();
    }

    /**
     * Another process held the xtables lock (iptables-legacy) for longer than the tool waited: the
     * command did nothing, and says nothing about the rules.
     */
    public static final class LockBusyException extends IOException {
        LockBusyException(String message) {
            super(message);
        }
    }

    /** Exit code 4 with the lock message: iptables' "resource problem", here the xtables lock. */
    static boolean lockBusy(CommandRunner.Result r) {
        return r.exitCode() == 4 && r.stderr().contains("xtables lock");
    }

    /**
     * Whether a chain exists in a table.
     *
     * @throws LockBusyException if the xtables lock stayed held for the 5 s the tool waits: a
     *                           missing chain and a busy lock must not look alike (the canary check
     *                           would read the second as "someone flushed the tables")
     */
    public boolean chainExists(IpFamily family, String table, String chain) throws IOException {
        CommandRunner.Result r = runner.run(List.of(tool(family, ""), "-w", "5", "-t", table, "-S", chain, "1"), null, TIMEOUT);
        if (lockBusy(r)) {
            throw new LockBusyException(tool(family, "") + ": " + r.stderr().strip());
        }
        return r.ok();
    }

    /**
     * Checks that the tools run for each family and can read the nat table: the version lines
     * ({@code "iptables v1.8.9 (nf_tables) (IPv4)"}, primary family first), or an exception
     * naming the tool that cannot be used.
     */
    public List<String> probe(java.util.Set<IpFamily> families) throws IOException {
        List<String> out = new java.util.ArrayList<>();
        for (IpFamily f : new java.util.TreeSet<>(families)) {
            try {
                String v = version(f);
                save(f, "nat");
                // the sync runs the restore tool: name it now if it is missing, not at the first sync
                CommandRunner.Result r = runner.run(List.of(tool(f, "-restore"), "--version"), null, Duration.ofSeconds(10));
                if (!r.ok()) {
                    throw new IOException(tool(f, "-restore") + " --version failed: " + r.stderr().strip());
                }
                out.add(v + " (" + f.kubernetesName() + ")");
            } catch (IOException e) {
                throw new IOException("cannot use " + (f == IpFamily.IPV4 ? "iptables" : "ip6tables")
                        + " (is it installed, and does the process have CAP_NET_ADMIN?): " + e.getMessage(), e);
            }
        }
        return out;
    }

    /**
     * Removes chains from the kernel: every chain of {@code tables} that {@code ours} accepts is
     * flushed and deleted, and every rule elsewhere that jumps to one is deleted, in one restore.
     * Does nothing when there is nothing to remove.
     */
    public void removeChains(IpFamily family, List<String> tables, java.util.function.Predicate<String> ours)
            throws IOException, RestoreException {
        io.switchboard.netfilter.trace.RuleSet kernel = io.switchboard.netfilter.trace.RuleSet.parse(save(family, null));
        StringBuilder in = new StringBuilder();
        for (String table : tables) {
            StringBuilder deletes = new StringBuilder();
            StringBuilder flushes = new StringBuilder();
            for (var c : kernel.table(table).entrySet()) {
                if (ours.test(c.getKey())) {
                    flushes.append(':').append(c.getKey()).append(" - [0:0]\n");
                    deletes.append("-X ").append(c.getKey()).append('\n');
                    continue;
                }
                for (var r : c.getValue()) {
                    String t = r.target();
                    if (t != null && ours.test(t)) {
                        deletes.insert(0, "-D " + c.getKey() + " " + io.switchboard.netfilter.trace.RuleSet.join(r.args()) + "\n");
                    }
                }
            }
            if (flushes.length() + deletes.length() > 0) {
                in.append('*').append(table).append('\n').append(flushes).append(deletes).append("COMMIT\n");
            }
        }
        if (in.length() > 0) {
            restore(family, in.toString());
        }
    }

    /** Which of these jumps the family's nat and filter tables lack (read back with iptables-save). */
    public List<Jump> missingJumps(IpFamily family, List<Jump> jumps) throws IOException {
        io.switchboard.netfilter.trace.RuleSet kernel;
        try {
            kernel = io.switchboard.netfilter.trace.RuleSet.parse(save(family, "nat") + save(family, "filter"));
        } catch (IllegalArgumentException e) {
            throw new IOException("cannot parse the rules read back: " + e.getMessage(), e);
        }
        List<Jump> missing = new ArrayList<>();
        for (Jump j : jumps) {
            if (kernel.chain(j.table(), j.from()).stream().noneMatch(r -> j.target().equals(r.target()))) {
                missing.add(j);
            }
        }
        return missing;
    }

    /** The tool's version line, or an exception saying why it cannot run. */
    public String version(IpFamily family) throws IOException {
        CommandRunner.Result r = runner.run(List.of(tool(family, ""), "--version"), null, Duration.ofSeconds(10));
        if (!r.ok()) {
            throw new IOException(tool(family, "") + " --version failed: " + r.stderr().strip());
        }
        return r.stdout().strip();
    }

    /**
     * Picks the flavour the node already uses, like kube-proxy's iptables-wrapper: the one whose
     * tables hold more KUBE- rules (else more rules at all); the system default if neither tool is there.
     */
    public static Flavor detectFlavor(CommandRunner runner) {
        String forced = System.getenv("SWITCHBOARD_IPTABLES_FLAVOR");
        if (forced != null && !forced.isEmpty()) {
            return Flavor.valueOf(forced.toUpperCase(java.util.Locale.ROOT));
        }
        long[] nft = count(runner, "iptables-nft-save");
        long[] legacy = count(runner, "iptables-legacy-save");
        if (nft == null || legacy == null) {
            return Flavor.DEFAULT;
        }
        if (legacy[0] > nft[0] || (legacy[0] == nft[0] && legacy[1] > nft[1])) {
            LOG.info("iptables: the node uses the legacy backend ({} KUBE rules, {} rules)", legacy[0], legacy[1]);
            return Flavor.LEGACY;
        }
        return nft[0] + nft[1] > 0 ? Flavor.NFT : Flavor.DEFAULT;
    }

    private static long[] count(CommandRunner runner, String tool) {
        try {
            CommandRunner.Result r = runner.run(List.of(tool), null, Duration.ofSeconds(30));
            if (!r.ok()) {
                return null;
            }
            long kube = r.stdout().lines().filter(l -> l.startsWith("-A") && l.contains("KUBE-")).count();
            long all = r.stdout().lines().filter(l -> l.startsWith("-A")).count();
            return new long[]{kube, all};
        } catch (IOException e) {
            return null;
        }
    }
}
