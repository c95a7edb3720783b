package io.switchboard.backend.nftables;

import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.netlink.Attributes;
import io.switchboard.netfilter.netlink.Errno;
import io.switchboard.netfilter.netlink.NetlinkException;
import io.switchboard.netfilter.netlink.MessageBuilder;
import io.switchboard.netfilter.netlink.NetlinkSocket;
import io.switchboard.netfilter.netlink.Replies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * {@link Nft} whose transactions go to the kernel as one nf_tables netlink batch
 * ({@link NftNetlink}) instead of through {@code nft -f}: no process, no listing of the table
 * first, cost in proportion to what is sent. Atomic as {@code nft -f} is: the kernel applies the
 * whole batch or nothing, and names the first failing message, which maps back to its line. The
 * read-backs a sync needs (the per-service object names, the services chain's dispatch rules) are
 * netlink dumps too; {@link #tableExists} and {@link #version} still run {@code nft}.
 *
 * <p>Fault injection for tests: when the environment variable {@value #FAULT_ENV} names a file that
 * exists, every transaction line matching one of the file's lines (regular expressions) is sent
 * with an element key one byte short, which the kernel rejects (EINVAL), as it would a rule it
 * cannot take.
 */
public class NetlinkNft extends Nft {
    static final String FAULT_ENV = "SWITCHBOARD_NETLINK_FAULT";
    private static final Logger LOG = LoggerFactory.getLogger(NetlinkNft.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final NftNetlink compiler;
    private final Path faultFile;
    private final Path netns;

    public NetlinkNft(CommandRunner runner) {
        this(runner, faultFile(), null);
    }

    /** @param netns a network namespace file to program instead of the process's own (tests) */
    NetlinkNft(CommandRunner runner, Path faultFile, Path netns) {
        super(runner);
        this.netns = netns;
        this.compiler = new NftNetlink(Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffffL));
        this.faultFile = faultFile;
    }

    /** A writer for the network namespace of {@code netns} (e.g. {@code /run/netns/NAME}), reads through {@code runner}. */
    public static NetlinkNft inNamespace(CommandRunner runner, Path netns) {
        return new NetlinkNft(runner, null, netns);
    }

    private static Path faultFile() {
        String f = System.getenv(FAULT_ENV);
        return f == null || f.isBlank() ? null : Path.of(f);
    }

    /** Loads libc for netlink; throws when it cannot (the caller falls back to {@code nft -f}). */
    public static void probe() {
        NetlinkSocket.libc();
    }

    @Override
    public void apply(String input) throws TransactionException, IOException {
        long t0 = System.nanoTime();
        NftNetlink.Batch batch;
        try {
            synchronized (compiler) {
                batch = compiler.compile(input, NetlinkSocket.nextSeq(), corruption());
            }
        } catch (NftNetlink.CompileException e) {
            throw new TransactionException(e.getMessage(), e.line());
        }
        try (NetlinkSocket sock = NetlinkSocket.open(NetlinkSocket.NETLINK_NETFILTER, TIMEOUT, netns)) {
            sock.buffers(batch.bytes().length + (1 << 20), 4 << 20);
            long t1 = System.nanoTime();
            // the kernel processes the whole batch (and commits it) inside this call
            sock.send(batch.bytes());
            long t2 = System.nanoTime();
            LOG.debug("nf_tables batch: {} messages, {} bytes; compiled in {} ms, applied in {} ms", batch.messages(),
                    batch.bytes().length, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
            // sequence numbers only need to be unique on this socket, which is the batch's own
            int sentinel = batch.firstSeq() + batch.messages();
            // a request after the batch: every answer to the batch arrives before the answer to it
            sock.send(new MessageBuilder(64).nfMessage((NftNetlink.NFNL_SUBSYS_NFTABLES << 8) | NftNetlink.GETGEN,
                    MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_ACK, sentinel, 0, 0).toBytes());
            int firstErrno = 0;
            int firstLine = 0;
            byte[] buf = new byte[1 << 18];
            while (true) {
                List<Replies.Message> answers;
                try {
                    answers = sock.receive(buf);
                } catch (NetlinkException e) {
                    if (e.errno() == Errno.ENOBUFS) {
                        // only failures are answered: so many that the socket's queue overflowed
                        throw new TransactionException("netlink: the kernel rejected the batch with more errors than could be read"
                                + (firstErrno != 0 ? "; the first: " + Errno.describe(firstErrno) + " at line " + firstLine : ""),
                                firstLine);
                    }
                    throw e;
                }
                for (Replies.Message m : answers) {
                    if (!m.isError()) {
                        continue;
                    }
                    if (m.requestSeq() == sentinel) {
                        if (firstErrno != 0) {
                            throw failure(input, firstErrno, firstLine);
                        }
                        return;
                    }
                    if (m.errno() != 0 && firstErrno == 0) {
                        firstErrno = m.errno();
                        firstLine = batch.line(m.requestSeq());
                    }
                }
            }
        }
    }

    /**
     * The per-service chains and sets of the family's table, from netlink dumps of chains and sets
     * (names only; anonymous sets skipped); empty when the table does not exist.
     */
    @Override
    public Set<String> serviceObjects(IpFamily family) throws IOException {
        Set<String> out = new TreeSet<>();
        dump(NftNetlink.GETCHAIN, family, null, m -> {
            Attributes a = m.attributes(4);
            Attributes.Attr table = a.first(1);
            Attributes.Attr name = a.first(3);
            if (table != null && name != null && table.string().equals(NftNames.TABLE) && NftNames.isServiceObject(name.string())) {
                out.add(name.string());
            }
        });
        dump(NftNetlink.GETSET, family, null, m -> {
            Attributes a = m.attributes(4);
            Attributes.Attr table = a.first(1);
            Attributes.Attr name = a.first(2);
            Attributes.Attr flags = a.first(3);
            boolean anonymous = flags != null && (flags.u32() & 1) != 0;
            if (!anonymous && table != null && name != null && table.string().equals(NftNames.TABLE)
                    && NftNames.isServiceObject(name.string())) {
                out.add(name.string());
            }
        });
        return out;
    }

    /**
     * One line per rule of the chain (a netlink dump of that chain only): {@code vmap @NAME} when
     * the rule ends in a verdict-map lookup, else the names of its expressions; null when the
     * table or the chain does not exist.
     */
    @Override
    public List<String> chainRules(IpFamily family, String chain) throws IOException {
        List<String> out = new ArrayList<>();
        try {
            // a dump filtered by a chain that does not exist is empty, so ask for the chain first
            request(NftNetlink.GETCHAIN, family, b -> b.attrString(1, NftNames.TABLE).attrString(3, chain));
            dump(NftNetlink.GETRULE, family, b -> b.attrString(1, NftNames.TABLE).attrString(2, chain), m -> {
                Attributes.Attr exprs = m.attributes(4).first(4);
                if (exprs == null) {
                    out.add("");
                    return;
                }
                List<String> names = new ArrayList<>();
                String vmap = null;
                for (Attributes.Attr e : exprs.children().all()) {
                    Attributes.Attr name = e.children().first(1);
                    Attributes.Attr data = e.children().first(2);
                    String n = name == null ? "?" : name.string();
                    names.add(n);
                    vmap = null;
                    if (n.equals("lookup") && data != null) {
                        Attributes.Attr dreg = data.children().first(3);
                        Attributes.Attr set = data.children().first(1);
                        if (dreg != null && dreg.u32() == 0 && set != null) {
                            vmap = "vmap @" + set.string();
                        }
                    }
                }
                out.add(vmap != null ? String.join(" ", names.subList(0, names.size() - 1)) + " " + vmap : String.join(" ", names));
            });
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENOENT) {
                return null;
            }
            throw e;
        }
        return out;
    }

    /** One request (not a dump); returns once the kernel acknowledged it, throws its errno. */
    private void request(int type, IpFamily family, Consumer<MessageBuilder> attrs) throws IOException {
        try (NetlinkSocket sock = NetlinkSocket.open(NetlinkSocket.NETLINK_NETFILTER, TIMEOUT, netns)) {
            int seq = NetlinkSocket.nextSeq();
            MessageBuilder b = new MessageBuilder(256).nfMessage((NftNetlink.NFNL_SUBSYS_NFTABLES << 8) | type,
                    MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_ACK, seq, family == IpFamily.IPV4 ? 2 : 10, 0);
            attrs.accept(b);
            sock.send(b.toBytes());
            byte[] buf = new byte[1 << 16];
            while (true) {
                for (Replies.Message m : sock.receive(buf)) {
                    if (m.isError() && m.requestSeq() == seq) {
                        if (m.errno() != 0) {
                            throw new NetlinkException("nf_tables request", m.errno(), seq);
                        }
                        return;
                    }
                }
            }
        }
    }

    /** A dump request of nf_tables objects of a family; each answer message to {@code each}. */
    private void dump(int type, IpFamily family, Consumer<MessageBuilder> attrs, Consumer<Replies.Message> each) throws IOException {
        try (NetlinkSocket sock = NetlinkSocket.open(NetlinkSocket.NETLINK_NETFILTER, TIMEOUT, netns)) {
            sock.buffers(1 << 20, 8 << 20);
            int seq = NetlinkSocket.nextSeq();
            MessageBuilder b = new MessageBuilder(256).nfMessage((NftNetlink.NFNL_SUBSYS_NFTABLES << 8) | type,
                    MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_DUMP, seq, family == IpFamily.IPV4 ? 2 : 10, 0);
            if (attrs != null) {
                attrs.accept(b);
            }
            sock.send(b.toBytes());
            byte[] buf = new byte[1 << 20];
            while (true) {
                for (Replies.Message m : sock.receive(buf)) {
                    if (m.seq() != seq) {
                        continue;
                    }
                    if (m.isDone()) {
                        return;
                    }
                    if (m.isError()) {
                        if (m.errno() != 0) {
                            throw new NetlinkException("nf_tables dump", m.errno(), seq);
                        }
                        return;
                    }
                    each.accept(m);
                }
            }
        }
    }

    private static TransactionException failure(String input, int errno, int line) {
        String statement = line > 0 ? input.lines().skip(line - 1).findFirst().orElse("") : "(batch framing)";
        String msg = "netlink: " + Errno.describe(errno) + " at line " + line + ": " + statement;
        LOG.debug("nf_tables batch rejected: {}", msg);
        return new TransactionException(msg, line);
    }

    private Predicate<String> corruption() {
        if (faultFile == null || !Files.exists(faultFile)) {
            return null;
        }
        try {
            List<Pattern> patterns = Files.readAllLines(faultFile).stream().filter(l -> !l.isBlank()).map(Pattern::compile).toList();
            return line -> line.startsWith("add element") && patterns.stream().anyMatch(p -> p.matcher(line).find());
        } catch (IOException e) {
            return null;
        }
    }
}
