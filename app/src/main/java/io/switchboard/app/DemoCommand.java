package io.switchboard.app;

import io.switchboard.testkit.Echo;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.testkit.Netns;
import io.switchboard.testkit.TestCluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code switchboard demo}: a whole cluster on this machine. An in-process API server (fabric8's CRUD
 * mock) seeded from {@code demo/cluster.yaml}, network namespaces for a node, pods and an outside
 * client, small servers in the pods, and the real proxy process in the node; then requests to each
 * service, a table of who answered, the rules it wrote — and everything removed again.
 */
@Command(name = "demo", description = "Run Switchboard on a small cluster made of network namespaces on this machine (needs root).")
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--proxy-mode", description = "the mode to demo (default iptables)")
    String mode = "iptables";

    @Option(names = "--requests", description = "requests per service address (default 30)")
    int requests = 30;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private static final Map<String, String> PODS = Map.of("10.244.1.10", "web-1", "10.244.1.11", "web-2", "10.244.2.10", "web-3");

    /** Tools the demo and the proxy run, with the Debian package that has each. */
    static final Map<String, String> TOOLS = new java.util.LinkedHashMap<>();

    static {
        TOOLS.put("ip", "iproute2");
        TOOLS.put("bridge", "iproute2");
        TOOLS.put("sysctl", "procps");
        TOOLS.put("iptables-save", "iptables");
        TOOLS.put("iptables-restore", "iptables");
        TOOLS.put("java", "openjdk-17-jre-headless");
    }

    /** The first tool missing from {@code path}, named with its package, or null when all are there. */
    static String missingTool(String path) {
        return missingTool(path, "iptables");
    }

    /** As {@link #missingTool(String)}, with the tools of one proxy mode ({@code nft} for nftables). */
    static String missingTool(String path, String mode) {
        Map<String, String> tools = new java.util.LinkedHashMap<>(TOOLS);
        if (mode.equals("nftables")) {
            tools.put("nft", "nftables");
        }
        if (mode.equals("ipvs")) {
            tools.put("ipvsadm", "ipvsadm");
            tools.put("ipset", "ipset");
        }
        for (Map.Entry<String, String> t : tools.entrySet()) {
            boolean found = false;
            for (String dir : (path == null ? "" : path).split(":")) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, t.getKey()))) {
                    found = true;
                    break;
                }
            }
            if (!found) {
                return "`" + t.getKey() + "` is not installed (or not on PATH): install the Debian package " + t.getValue()
                        + " (apt-get install " + t.getValue() + "); nothing was created";
            }
        }
        return null;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String why = Netns.unavailableReason();
        if (why != null) {
            err.println("switchboard demo: " + why + " (it creates network namespaces and iptables rules); run it with sudo");
            err.flush();
            return 1;
        }
        String missing = missingTool(System.getenv("PATH"), mode);
        if (missing != null) {
            err.println("switchboard demo: " + missing);
            err.flush();
            return 1;
        }
        if (mode.equals("ipvs") && !hasIpvs()) {
            err.println("switchboard demo: this kernel has no IPVS (the ip_vs module is missing or cannot be loaded); nothing"
                    + " was created. Run the demo in a QEMU guest with Debian's kernel, which has it: vm/run -- bin/switchboard"
                    + " demo --proxy-mode ipvs (see vm/README.md)");
            err.flush();
            return 1;
        }
        Path jar = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (!Files.isRegularFile(jar)) {
            err.println("switchboard demo: run it from the built jar (bin/switchboard demo), not from classes");
            err.flush();
            return 1;
        }
        out.println("Building a cluster of network namespaces (node, 3 web pods, a client pod, an outside client)...");
        out.flush();
        List<AutoCloseable> cleanup = new ArrayList<>();
        Process proxy = null;
        TestCluster cluster = new TestCluster();
        Thread hook = new Thread(cluster::close, "demo-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            cluster.bridgePod("web-1");
            cluster.bridgePod("web-2");
            cluster.caliPod("web-3");
            cluster.bridgePod("client");
            for (String pod : List.of("web-1", "web-2", "web-3")) {
                cleanup.add(Echo.tcp(cluster.podNs(pod), "0.0.0.0", 8080, pod));
            }
            String node = cluster.node();
            MockApiServer api = Netns.call(node, MockApiServer::new);
            cleanup.add(api);
            try (InputStream manifests = DemoCommand.class.getResourceAsStream("/demo/cluster.yaml")) {
                int n = Netns.call(node, () -> api.seed(manifests));
                out.printf("API server seeded with %d objects from demo/cluster.yaml%n", n);
            }
            Path log = Files.createTempFile("switchboard-demo", ".log");
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", node, "java", "-jar", jar.toString(), "--master", api.url(),
                    "--hostname-override", "node", "--proxy-mode", mode, "--cluster-cidr", TestCluster.CLUSTER_CIDR,
                    "--iptables-min-sync-period", "100ms", "--healthz-bind-address", "127.0.0.1:10256",
                    "--metrics-bind-address", "127.0.0.1:10249"));
            if (mode.equals("userspace")) {
                // portals DNAT to the node's IP: REDIRECT cannot reach Calico-style pods (no address on cali*)
                cmd.addAll(List.of("--bind-address", TestCluster.NODE_IP));
            }
            proxy = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            out.printf("Started switchboard --proxy-mode=%s in the node namespace (log: %s)%n", mode, log);
            out.flush();
            // emulated guests (vm/run) start a JVM many times slower
            long deadline = System.nanoTime() + (System.getenv("SWITCHBOARD_IN_VM") != null ? 240 : 60) * 1_000_000_000L;
            boolean nft = mode.equals("nftables");
            boolean ipvs = mode.equals("ipvs");
            while (!programmed(node, mode)) {
                if (!proxy.isAlive() || System.nanoTime() > deadline) {
                    err.println("switchboard did not program the node:\n" + Files.readString(log));
                    return 1;
                }
                Thread.sleep(200);
            }
            out.println();
            out.printf("%-16s %-34s %-22s %s%n", "SERVICE", "ADDRESS (from)", "ANSWERED BY", "HITS");
            table(out, "demo/web:http", "10.96.0.10:80 (client pod)", cluster.podNs("client"), "10.96.0.10", 80);
            table(out, "demo/web:http", TestCluster.NODE_IP + ":30080 (client pod)", cluster.podNs("client"), TestCluster.NODE_IP, 30080);
            table(out, "demo/web:http", TestCluster.NODE_IP + ":30080 (outside)", cluster.ext(), TestCluster.NODE_IP, 30080);
            table(out, "demo/web:http", "10.96.0.10:80 (the node)", node, "10.96.0.10", 80);
            table(out, "demo/sticky:http", "10.96.0.20:80 (client pod)", cluster.podNs("client"), "10.96.0.20", 80);
            table(out, "demo/empty:http", "10.96.0.30:80 (client pod)", cluster.podNs("client"), "10.96.0.30", 80);
            out.println();
            if (ipvs) {
                out.println("ipvsadm -Ln in the node (the demo's virtual servers and their real servers):");
                for (String line : Netns.exec(node, "ipvsadm", "-Ln").split("\n")) {
                    out.println("  " + line);
                }
                out.println();
                out.println("ip -o addr show kube-ipvs0 (service addresses bound to the dummy link):");
                for (String line : Netns.exec(node, "ip", "-o", "addr", "show", "dev", "kube-ipvs0").split("\n")) {
                    out.println("  " + line.replaceAll("\\s+", " ").strip());
                }
                out.println();
                out.println("Removing everything the demo created...");
                return 0;
            }
            if (nft) {
                out.println("nft list table ip kube-proxy in the node (service dispatch and service chains):");
                boolean inMap = false;
                for (String line : nftTable(node).split("\n")) {
                    String l = line.strip();
                    inMap = inMap ? !l.equals("}") : l.startsWith("map service-ips") || l.startsWith("map service-nodeports")
                            || l.startsWith("map no-endpoint-services");
                    if (inMap || l.startsWith("chain service-") || l.contains("numgen random")) {
                        out.println("  " + line);
                    }
                }
                out.println();
                explain(out, node, cluster.podIp("client"), nftTable(node), true);
                out.println();
                out.println("Removing everything the demo created...");
                return 0;
            }
            out.println("iptables-save -t nat in the node (service rules):");
            for (String line : Netns.exec(node, "iptables-save", "-t", "nat").split("\n")) {
                if (line.startsWith("-A KUBE-SERVICES") || line.startsWith("-A KUBE-SVC-") || line.startsWith("-A KUBE-NODEPORTS")
                        || line.startsWith("-A KUBE-PORTALS-") || line.startsWith("-A KUBE-NODEPORT-")) {
                    out.println("  " + line);
                }
            }
            out.println();
            explain(out, node, cluster.podIp("client"), Netns.exec(node, "iptables-save"), false);
            out.println();
            out.println("Removing everything the demo created...");
            return 0;
        } finally {
            if (proxy != null) {
                proxy.destroy();
                proxy.waitFor();
            }
            for (int i = cleanup.size() - 1; i >= 0; i--) {
                try {
                    cleanup.get(i).close();
                } catch (Exception e) {
                    err.println("cleanup: " + e.getMessage());
                }
            }
            cluster.close();
            Runtime.getRuntime().removeShutdownHook(hook);
            out.println("Done: namespaces, rules and servers removed.");
            out.flush();
        }
    }

    /** Prints {@code switchboard explain} for the sticky service over the node's live rules. */
    private static void explain(PrintWriter out, String node, String clientIp, String rules, boolean nft) {
        out.println("switchboard explain --from <client pod> 10.96.0.20:80 (the sticky service), from the node's live rules:");
        java.util.Set<io.switchboard.core.model.IpAddress> local = new java.util.HashSet<>();
        for (String line : Netns.exec(node, "ip", "-o", "addr", "show").split("\n")) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length > 3 && !parts[3].startsWith("fe80")) {
                local.add(io.switchboard.core.model.IpAddress.parse(parts[3].substring(0, parts[3].indexOf('/'))));
            }
        }
        var packet = io.switchboard.netfilter.trace.PacketTracer.Packet.arriving(clientIp, "10.96.0.20", "tcp", 80, "cni0");
        var explained = nft ? io.switchboard.app.inspect.Explainer.explainNft(rules, local, packet)
                : io.switchboard.app.inspect.Explainer.explain(rules, local, packet);
        for (String line : io.switchboard.app.inspect.Explainer.text(explained).split("\n")) {
            out.println("  " + line);
        }
    }

    /** Whether the proxy has written the demo's web service in this mode. */
    private static boolean programmed(String node, String mode) {
        return switch (mode) {
            case "nftables" -> nftTable(node).contains("demo/web/tcp/http");
            case "ipvs" -> ipvsTable(node).contains("10.96.0.10:80");
            default -> Netns.exec(node, "iptables-save", "-t", "nat").contains("demo/web:http");
        };
    }

    private static String ipvsTable(String node) {
        try {
            return Netns.exec(node, "ipvsadm", "-Ln");
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** Whether this kernel has IPVS (loading the module if it can). */
    static boolean hasIpvs() {
        for (int attempt = 0; attempt < 2; attempt++) {
            try (var s = io.switchboard.netfilter.netlink.NetlinkSocket.open(io.switchboard.netfilter.netlink.NetlinkSocket.NETLINK_GENERIC,
                    java.time.Duration.ofSeconds(5))) {
                io.switchboard.netfilter.netlink.Genl.resolve(s, "IPVS");
                return true;
            } catch (java.io.IOException | RuntimeException | UnsatisfiedLinkError e) {
                if (attempt == 0) {
                    try {
                        new ProcessBuilder("modprobe", "-q", "ip_vs").redirectErrorStream(true).start().waitFor();
                    } catch (java.io.IOException ignored) {
                        return false;
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                }
            }
        }
        return false;
    }

    private static String nftTable(String node) {
        try {
            return Netns.exec(node, "nft", "list", "table", "ip", "kube-proxy");
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** How long one demo request waits for its answer: longer in the QEMU guest, where everything runs 10-15 times slower. */
    private static final int ANSWER_TIMEOUT_MS = System.getenv("SWITCHBOARD_IN_VM") != null ? 15_000 : 2_000;

    private void table(PrintWriter out, String service, String address, String fromNs, String ip, int port) {
        Map<String, Integer> hits = new TreeMap<>();
        for (int i = 0; i < requests; i++) {
            String who = Echo.tcpHello(fromNs, ip, port, ANSWER_TIMEOUT_MS);
            hits.merge(who, 1, Integer::sum);
        }
        boolean first = true;
        for (Map.Entry<String, Integer> e : hits.entrySet()) {
            String who = e.getKey();
            String label = switch (who) {
                // ipvs: a virtual server without real servers hands the SYN to the node, where nothing listens
                case "REFUSED" -> mode.equals("ipvs") ? "refused (no real servers)" : "refused (no endpoints: REJECT)";
                case "TIMEOUT" -> "timed out";
                default -> who + " (" + ipOf(who) + ")";
            };
            out.printf("%-16s %-34s %-22s %d%n", first ? service : "", first ? address : "", label, e.getValue());
            first = false;
        }
        out.flush();
    }

    private static String ipOf(String pod) {
        return PODS.entrySet().stream().filter(e -> e.getValue().equals(pod)).map(Map.Entry::getKey).findFirst().orElse("?");
    }
}
