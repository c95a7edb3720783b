package io.switchboard.benchmarks;

import io.switchboard.backend.iptables.IptablesBackend;
import io.switchboard.backend.nftables.NetlinkNft;
import io.switchboard.backend.nftables.NftablesBackend;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.health.ProxyHealth;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.netfilter.Iptables;
import io.switchboard.testkit.Netns;
import io.switchboard.testkit.TestCluster;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Connection-setup latency through a cluster IP, the data path's cost per new connection: a pod
 * opens and closes new TCP connections to a service whose one endpoint is another pod, with S
 * services programmed (the probe service sorts last, the worst case for the iptables mode's linear
 * KUBE-SERVICES scan). Baseline in the same run: the same connections straight to the pod's
 * address. Usage: {@code ConnectLatencyHarness [connections] [services...]} (default 3000 10 10000).
 */
public final class ConnectLatencyHarness {
    /** One measurement: S services, a mode, connect+close p50/p99 in µs, direct and through the cluster IP. */
    public record Row(int services, String mode, long directP50, long directP99, long vipP50, long vipP99) {
    }

    /** A second address of the client pod, the source of the direct connections. */
    private static final String DIRECT_SOURCE = "10.244.1.250";

    public static void main(String[] args) throws Exception {
        String why = Netns.unavailableReason();
        if (why != null) {
            System.err.println("needs network namespaces: " + why);
            System.exit(2);
        }
        int connections = args.length > 0 ? Integer.parseInt(args[0]) : 3000;
        int[] sizes = args.length > 1 ? Arrays.stream(args).skip(1).mapToInt(Integer::parseInt).toArray() : new int[]{10, 10000};
        System.out.printf("%-9s %-9s %-26s %9s %9s %9s%n", "services", "mode", "path", "p50 µs", "p99 µs", "p50/direct");
        // SWITCHBOARD_MODES=iptables,ipvs picks the modes (ipvs only where the kernel has IPVS: the vm/run guest)
        String modes = System.getenv().getOrDefault("SWITCHBOARD_MODES", "iptables,nftables");
        for (Row r : measure(connections, sizes, List.of(modes.split(",")))) {
            System.out.printf("%-9d %-9s %-26s %9d %9d %9s%n", r.services(), r.mode(), "direct to the pod", r.directP50(),
                    r.directP99(), "1.00");
            System.out.printf("%-9d %-9s %-26s %9d %9d %9.2f%n", r.services(), r.mode(), "cluster IP", r.vipP50(), r.vipP99(),
                    (double) r.vipP50() / r.directP50());
        }
    }

    /** For each size and kernel mode: the backend programs S services, then both paths are timed. */
    public static List<Row> measure(int connections, int[] sizes, List<String> modes) throws Exception {
        List<Row> rows = new java.util.ArrayList<>();
        try (TestCluster cluster = new TestCluster()) {
            cluster.bridgePod("server");
            cluster.bridgePod("client");
            // a server that only accepts and closes, with a deep backlog: the client measures the path, not the server
            java.net.ServerSocket listener = Netns.call(cluster.podNs("server"), () -> new java.net.ServerSocket(8080, 8192));
            Thread acceptor = new Thread(() -> {
                while (!listener.isClosed()) {
                    try {
                        listener.accept().close();
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            }, "acceptor");
            acceptor.setDaemon(true);
            acceptor.start();
            try (listener) {
                String client = cluster.podNs("client");
                // the direct connections leave from an address of their own: from one address, the
                // kernel may give a direct connection a client port that a cluster-IP connection to
                // the same pod had, and IPVS (NAT) would then take the pod's SYN-ACK for a reply of
                // that connection (still in its table for TIME_WAIT) and rewrite it
                Netns.exec(client, "ip", "addr", "add", DIRECT_SOURCE + "/24", "dev", "eth0");
                for (int services : sizes) {
                    for (String mode : modes) {
                        clear(cluster.node());
                        ProxyBackend backend = backend(mode, cluster.node());
                        long t0 = System.nanoTime();
                        backend.sync(snapshot(services, cluster.podIp("server")));
                        progress("%d services programmed in %s mode in %d ms", services, mode, (System.nanoTime() - t0) / 1_000_000);
                        long[][] paths = latencies(client, connections,
                                new InetSocketAddress[]{new InetSocketAddress(DIRECT_SOURCE, 0), new InetSocketAddress(cluster.podIp("client"), 0)},
                                new InetSocketAddress[]{new InetSocketAddress(cluster.podIp("server"), 8080), new InetSocketAddress("10.96.255.250", 80)});
                        long[] direct = paths[0];
                        long[] vip = paths[1];
                        progress("%d services, %s mode: %d connections timed on each path", services, mode, connections);
                        rows.add(new Row(services, mode, direct[0], direct[1], vip[0], vip[1]));
                        backend.shutdown(Duration.ZERO);
                    }
                }
            }
        }
        return rows;
    }

    /**
     * Empties the node namespace between measurements with a handful of commands rather than the
     * backend's {@code --cleanup}: under emulation, cleaning up 10,000 services item by item costs
     * minutes and measures nothing. Rules first (they reference the ipsets), then IPVS's table in
     * one flush, the dummy link with all its addresses, and the ipsets; and the connection tracking
     * table, whose entries of the last mode's connections (translated by rules now gone) would meet
     * the next mode's connections from reused client ports.
     */
    private static void clear(String node) {
        Netns.exec(node, "nft", "flush", "ruleset");
        Netns.exec(node, "conntrack", "-F");
        if (ipvsHere()) {
            Netns.exec(node, "ipvsadm", "-C");
            if (Netns.exec(node, "ip", "-o", "link", "show").contains(" kube-ipvs0:")) {
                Netns.exec(node, "ip", "link", "del", "kube-ipvs0");
            }
            Netns.exec(node, "ipset", "flush");
            Netns.exec(node, "ipset", "destroy");
        }
    }

    private static void progress(String format, Object... args) {
        System.err.printf("[%tT] %s%n", System.currentTimeMillis(), String.format(format, args));
    }

    private static boolean ipvsHere() {
        try (var s = io.switchboard.netfilter.netlink.NetlinkSocket.open(io.switchboard.netfilter.netlink.NetlinkSocket.NETLINK_GENERIC,
                Duration.ofSeconds(5))) {
            io.switchboard.netfilter.netlink.Genl.resolve(s, "IPVS");
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static ProxyBackend backend(String mode, String node) throws java.io.IOException {
        Clock clock = Clock.systemUTC();
        BackendContext ctx = new BackendContext(IptablesScaleHarness.config(), "node-1", Set.of(IpFamily.IPV4), ProxyMetrics.NOOP,
                clock, new ProxyHealth(clock, Duration.ofMinutes(1)));
        if (mode.equals("ipvs")) {
            return ModeScaleHarness.ipvs(ctx, node);
        }
        return mode.equals("iptables") ? new IptablesBackend(ctx, new Iptables(Netns.runner(node), Iptables.Flavor.NFT), null)
                : new NftablesBackend(ctx, NetlinkNft.inNamespace(Netns.runner(node), java.nio.file.Path.of("/run/netns", node)), null);
    }

    /** S-1 services with 10 unreachable endpoints each, and the probe service (last) with the server pod. */
    private static ProxySnapshot snapshot(int services, String serverIp) {
        Scale scale = new Scale(services - 1, 10);
        SortedMap<ServicePortName, ServicePort> svcs = new TreeMap<>(scale.services);
        SortedMap<ServicePortName, List<Endpoint>> eps = new TreeMap<>(scale.endpoints);
        ServicePortName probe = new ServicePortName(new NamespacedName("zz-probe", "probe"), "http", Protocol.TCP);
        svcs.put(probe, ServicePort.builder(probe).clusterIp("10.96.255.250").port(80).build());
        eps.put(probe, List.of(new Endpoint(IpAddress.parse(serverIp), 8080, true, true, false, "node-1", "", Set.of(), Set.of())));
        return ProxySnapshot.build(svcs, eps, NodeInfo.named("node-1"), Set.of(IpFamily.IPV4), Set.of(), true, null);
    }

    /**
     * p50 and p99 in microseconds of connect+close to each target (from its source address), after
     * 300 warm-up rounds. The targets take turns connection by connection, so the JIT, the caches and whatever else the
     * machine is doing weigh on the baseline and the measured path alike.
     */
    private static long[][] latencies(String ns, int n, InetSocketAddress[] sources, InetSocketAddress[] targets) {
        return Netns.call(ns, () -> {
            long[][] t = new long[targets.length][n];
            for (int i = -Math.min(300, n); i < n; i++) {
                for (int k = 0; k < targets.length; k++) {
                    long t0 = System.nanoTime();
                    try (Socket s = new Socket()) {
                        s.bind(sources[k]);
                        s.connect(targets[k], 2000);
                    } catch (java.io.IOException e) {
                        throw new java.io.IOException("connection " + i + " to " + targets[k] + ": " + e.getMessage(), e);
                    }
                    if (i >= 0) {
                        t[k][i] = (System.nanoTime() - t0) / 1000;
                    }
                }
            }
            long[][] p = new long[targets.length][];
            for (int k = 0; k < targets.length; k++) {
                Arrays.sort(t[k]);
                p[k] = new long[]{t[k][n / 2], t[k][n * 99 / 100]};
            }
            return p;
        });
    }
}
