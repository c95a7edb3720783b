package io.switchboard.backend.nftables;

import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.CommandRunner;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code nft} command: transactions through {@code nft -f -} (atomic: all or nothing), and the
 * few read-backs the backend needs. Thin; a fake replaces it in unit tests.
 */
public class Nft {
    private static final Pattern LINE = Pattern.compile("/dev/stdin:(\\d+):");
    private static final Pattern OBJECT = Pattern.compile("^\\t(chain|set|map) (\\S+) \\{", Pattern.MULTILINE);
    private static final Duration TIMEOUT = Duration.ofMinutes(5);
    private final CommandRunner runner;

    public Nft(CommandRunner runner) {
        this.runner = runner;
    }

    /** A rejected transaction: the kernel kept the previous ruleset. */
    public static final class TransactionException extends Exception {
        private static final long serialVersionUID = 1L;
        private final int line;

        public TransactionException(String message, int line) {
            super(message);
            this.line = line;
        }

        /** The first failing line (1-based), or 0 if nft did not say. */
        public int line() {
            return line;
        }
    }

    /** Runs one transaction. */
    public void apply(String input) throws TransactionException, IOException {
        CommandRunner.Result r = runner.run(List.of("nft", "-f", "-"), input, TIMEOUT);
        if (!r.ok()) {
            String msg = r.stderr().strip();
            Matcher m = LINE.matcher(msg);
            int line = m.find() ? Integer.parseInt(m.group(1)) : 0;
            String first = msg.lines().findFirst().orElse("nft exited with " + r.exitCode());
            throw new TransactionException(first, line);
        }
    }

    /** {@code nft --version}, to say at start which nft runs (or why none does). */
    public String version() throws IOException {
        CommandRunner.Result r = runner.run(List.of("nft", "--version"), null, Duration.ofSeconds(10));
        if (!r.ok()) {
            throw new IOException("nft --version failed: " + r.stderr().strip());
        }
        return r.stdout().strip();
    }

    /**
     * The rules of one chain, one line each, or null when the table or the chain does not exist.
     * Here as {@code nft list chain} prints them (trimmed); a rule that dispatches through a verdict
     * map ends in {@code vmap @NAME} in every implementation (what the drift check reads).
     */
    public List<String> chainRules(IpFamily family, String chain) throws IOException {
        CommandRunner.Result r = runner.run(List.of("nft", "list", "chain", NftNames.family(family), NftNames.TABLE, chain),
                null, TIMEOUT);
        if (!r.ok()) {
            if (r.stderr().contains("No such file or directory")) {
                return null;
            }
            throw new IOException("nft list chain failed: " + r.stderr().strip());
        }
        return r.stdout().lines().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("table ") && !l.startsWith("chain ") && !l.equals("}"))
                .toList();
    }

    /**
     * The per-service chains and sets of the family's table (names holding a {@code /}); empty
     * when the table does not exist. Reads declarations only ({@code list chains}, {@code -t list
     * sets}), never rules or elements.
     */
    public Set<String> serviceObjects(IpFamily family) throws IOException {
        Set<String> out = new TreeSet<>();
        String fam = NftNames.family(family);
        for (List<String> cmd : List.of(List.of("nft", "list", "chains", fam), List.of("nft", "-t", "list", "sets", fam))) {
            CommandRunner.Result r = runner.run(cmd, null, TIMEOUT);
            if (!r.ok()) {
                throw new IOException(String.join(" ", cmd) + " failed: " + r.stderr().strip());
            }
            out.addAll(parseObjects(r.stdout()));
        }
        return out;
    }

    /** Names of per-service objects in the {@code kube-proxy} table of a listing. */
    static Set<String> parseObjects(String listing) {
        Set<String> out = new TreeSet<>();
        boolean ours = false;
        for (String line : listing.split("\n")) {
            if (line.startsWith("table ")) {
                ours = line.equals("table ip " + NftNames.TABLE + " {") || line.equals("table ip6 " + NftNames.TABLE + " {");
                continue;
            }
            if (!ours) {
                continue;
            }
            Matcher m = OBJECT.matcher(line);
            if (m.find() && NftNames.isServiceObject(m.group(2))) {
                out.add(m.group(2));
            }
        }
        return out;
    }

    /** Whether a table exists. */
    public boolean tableExists(String family, String table) throws IOException {
        CommandRunner.Result r = runner.run(List.of("nft", "list", "tables", family), null, TIMEOUT);
        if (!r.ok()) {
            throw new IOException("nft list tables failed: " + r.stderr().strip());
        }
        return r.stdout().lines().anyMatch(l -> l.strip().equals("table " + family + " " + table));
    }
}
