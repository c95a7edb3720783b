package io.switchboard.benchmarks;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.testkit.Netns;
import io.switchboard.testkit.TestCluster;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Data-path benchmark in network namespaces: requests/s and latency (wrk, keep-alive HTTP) and bulk
 * throughput (iperf3) from a client pod to one server pod — directly (the baseline), through the
 * iptables mode's kernel DNAT, through the userspace mode's proxy, and through HAProxy in TCP mode
 * on the node with the same endpoint. Every path runs in the same process, one after the other.
 * Usage: {@code sudo java -cp benchmarks/target/benchmarks.jar io.switchboard.benchmarks.DataPathBenchmark
 * [seconds] [connections]}.
 */
public final class DataPathBenchmark {
    private static final String VIP = "10.96.0.80";
    private static final String HAPROXY_IP = "10.244.1.1";

    record Result(String path, double requestsPerSecond, double p50Ms, double p99Ms, double bulkGbps) {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int connections = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        for (String tool : List.of("wrk", "iperf3", "haproxy")) {
            if (missing(tool)) {
                throw new IllegalStateException(tool + " is missing: apt-get install wrk iperf3 haproxy");
            }
        }
        String why = Netns.unavailableReason();
        if (why != null) {
            throw new IllegalStateException("needs network namespaces: " + why);
        }
        Path jar = Path.of(System.getProperty("switchboard.jar", "app/target/switchboard.jar"));
        print(run(jar, seconds, 3, connections, List.of("iptables", "userspace", "userspace:io_uring"), 1, true), seconds, connections);
    }

    /** Whether a tool is not installed (in /usr/bin or /usr/sbin). */
    static boolean missing(String tool) {
        return !Files.isExecutable(Path.of("/usr/bin/" + tool)) && !Files.isExecutable(Path.of("/usr/sbin/" + tool));
    }

    /**
     * Direct to the pod first (the baseline), then each mode (a real process; {@code mode:transport}
     * picks the userspace transport), then HAProxy when asked; {@code services} counts the measured
     * service and {@code services - 1} others programmed beside it.
     */
    static List<Result> run(Path jar, int seconds, int warmupSeconds, int connections, List<String> modes, int services,
                            boolean haproxy) throws Exception {
        List<Result> results = new ArrayList<>();
        try (TestCluster cluster = new TestCluster()) {
            String server = cluster.bridgePod("server");
            cluster.bridgePod("client");
            String serverNs = cluster.podNs("server");
            String client = cluster.podNs("client");
            MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
            Channel http = Netns.call(serverNs, () -> httpServer(group, 8080));
            Process iperf = new ProcessBuilder("ip", "netns", "exec", serverNs, "iperf3", "-s", "-p", "5201")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            MockApiServer api = Netns.call(cluster.node(), MockApiServer::new);
            KubernetesClient admin = Netns.call(cluster.node(), api::client);
            try {
                Netns.call(cluster.node(), () -> seed(admin, server));
                if (services > 1) {
                    MemoryHarness.seed(cluster.node(), admin, services - 1);
                }
                Thread.sleep(500);
                results.add(measure("direct to the pod", client, server, 8080, server, 5201, seconds, warmupSeconds, connections));
                for (String mode : modes) {
                    Process proxy = startProxy(cluster, jar, api, mode);
                    try {
                        results.add(measure(mode.replace(":", " mode, ") + (mode.contains(":") ? "" : " mode"), client, VIP, 80, VIP, 5201,
                                seconds, warmupSeconds, connections));
                    } finally {
                        stop(proxy);
                        Netns.exec(cluster.node(), "java", "-jar", jar.toString(), "--cleanup", "--hostname-override", "node");
                    }
                }
                if (haproxy) {
                    Process ha = startHaproxy(cluster, server);
                    try {
                        results.add(measure("HAProxy " + haproxyVersion() + " (TCP mode)", client, HAPROXY_IP, 18080, HAPROXY_IP, 15201,
                                seconds, warmupSeconds, connections));
                    } finally {
                        stop(ha);
                    }
                }
            } finally {
                admin.close();
                api.close();
                stop(iperf);
                http.close().sync();
                group.shutdownGracefully().sync();
            }
        }
        return results;
    }

    /** A keep-alive HTTP server answering every request with a small fixed body. */
    private static Channel httpServer(MultiThreadIoEventLoopGroup group, int port) throws InterruptedException, IOException {
        byte[] body = "ok\n".getBytes(StandardCharsets.UTF_8);
        return new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65536),
                                new SimpleChannelInboundHandler<FullHttpRequest>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                                HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
                                        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
                                        HttpUtil.setKeepAlive(r, HttpUtil.isKeepAlive(req));
                                        ctx.writeAndFlush(r);
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        ctx.close();  // wrk resets its connections at the end
                                    }
                                });
                    }
                }).bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), port)).sync().channel();
    }

    private static Void seed(KubernetesClient admin, String server) {
        admin.nodes().resource(new NodeBuilder().withNewMetadata().withName("node").endMetadata()
                .withNewStatus().addNewAddress().withType("InternalIP").withAddress(TestCluster.NODE_IP).endAddress().endStatus()
                .build()).create();
        admin.services().resource(new ServiceBuilder().withNewMetadata().withNamespace("bench").withName("web").endMetadata()
                .withNewSpec().withClusterIP(VIP).addNewPort().withName("http").withPort(80).withProtocol("TCP")
                .withNewTargetPort(8080).endPort().addNewPort().withName("bulk").withPort(5201).withProtocol("TCP")
                .withNewTargetPort(5201).endPort().endSpec().build()).create();
        admin.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata().withNamespace("bench")
                .withName("web-abc").withLabels(Map.of("kubernetes.io/service-name", "web")).endMetadata().withAddressType("IPv4")
                .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
                .addNewPort().withName("bulk").withPort(5201).withProtocol("TCP").endPort()
                .withEndpoints(new EndpointBuilder().withAddresses(server).withNewConditions().withReady(true).endConditions()
                        .withNodeName("node").build()).build()).create();
        return null;
    }

    private static Process startProxy(TestCluster cluster, Path jar, MockApiServer api, String modeAndTransport) throws Exception {
        String mode = modeAndTransport.split(":")[0];
        Path log = Files.createTempFile("sb-datapath-" + mode, ".log");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", cluster.node(), "java", "-jar", jar.toString(),
                "--master", api.url(), "--proxy-mode", mode, "--hostname-override", "node", "--cluster-cidr", TestCluster.CLUSTER_CIDR,
                "--healthz-bind-address", "127.0.0.1:10256", "--metrics-bind-address", "127.0.0.1:10249", "--v", "2"));
        if (mode.equals("userspace")) {
            cmd.addAll(List.of("--bind-address", TestCluster.NODE_IP));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        if (modeAndTransport.contains(":")) {
            pb.environment().put("SWITCHBOARD_USERSPACE_TRANSPORT", modeAndTransport.split(":")[1]);
        }
        Process p = pb.start();
        long deadline = System.nanoTime() + 600_000_000_000L;
        while (!Files.readString(log).contains("sync done")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                stop(p);
                throw new IllegalStateException(mode + " mode did not sync:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        return p;
    }

    private static Process startHaproxy(TestCluster cluster, String server) throws Exception {
        Path cfg = Files.createTempFile("sb-haproxy", ".cfg");
        Files.writeString(cfg, String.join("\n",
                "global", "  maxconn 4096", "defaults", "  mode tcp", "  timeout connect 5s", "  timeout client 60s",
                "  timeout server 60s",
                "listen http", "  bind " + HAPROXY_IP + ":18080", "  server a " + server + ":8080",
                "listen bulk", "  bind " + HAPROXY_IP + ":15201", "  server a " + server + ":5201", ""));
        Path log = Files.createTempFile("sb-haproxy", ".log");
        Process p = new ProcessBuilder("ip", "netns", "exec", cluster.node(), "haproxy", "-db", "-f", cfg.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Thread.sleep(1000);
        if (!p.isAlive()) {
            throw new IllegalStateException("haproxy exited with " + p.exitValue() + ":\n" + Files.readString(log));
        }
        return p;
    }

    private static String haproxyVersion() throws IOException {
        String v = Netns.run("haproxy", "-v").lines().findFirst().orElse("");
        Matcher m = Pattern.compile("version (\\S+)").matcher(v);
        return m.find() ? m.group(1) : "?";
    }

    private static Result measure(String path, String clientNs, String httpIp, int httpPort, String bulkIp, int bulkPort,
                                  int seconds, int warmupSeconds, int connections) throws Exception {
        // warm-up (JIT of the JVM-based paths, connection tables), not measured
        Netns.exec(clientNs, "wrk", "-t2", "-c" + connections, "-d" + warmupSeconds + "s", "http://" + httpIp + ":" + httpPort + "/");
        String wrk = Netns.exec(clientNs, "wrk", "-t2", "-c" + connections, "-d" + seconds + "s", "--latency",
                "http://" + httpIp + ":" + httpPort + "/");
        double rps = Double.parseDouble(group(wrk, "Requests/sec:\\s+([0-9.]+)"));
        double p50 = millis(group(wrk, "\\n\\s+50%\\s+(\\S+)"));
        double p99 = millis(group(wrk, "\\n\\s+99%\\s+(\\S+)"));
        String iperf = Netns.exec(clientNs, "iperf3", "-c", bulkIp, "-p", String.valueOf(bulkPort), "-t", String.valueOf(seconds), "-J");
        String received = iperf.substring(iperf.indexOf("\"sum_received\""));
        double bps = Double.parseDouble(group(received, "\"bits_per_second\":\\s*([0-9.eE+]+)"));
        Result r = new Result(path, rps, p50, p99, bps / 1e9);
        System.out.printf(Locale.ROOT, "%-32s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  bulk %6.2f Gbit/s%n", path, rps, p50, p99, bps / 1e9);
        return r;
    }

    private static String group(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("no " + regex + " in:\n" + text);
        }
        return m.group(1);
    }

    /** wrk's latency text ("812.00us", "1.23ms", "1.01s") in milliseconds. */
    static double millis(String t) {
        if (t.endsWith("us")) {
            return Double.parseDouble(t.substring(0, t.length() - 2)) / 1000;
        }
        if (t.endsWith("ms")) {
            return Double.parseDouble(t.substring(0, t.length() - 2));
        }
        if (t.endsWith("s")) {
            return Double.parseDouble(t.substring(0, t.length() - 1)) * 1000;
        }
        throw new IllegalArgumentException(t);
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }

    private static void print(List<Result> results, int seconds, int connections) throws IOException {
        Result direct = results.get(0);
        Map<String, Result> byPath = new LinkedHashMap<>();
        results.forEach(r -> byPath.put(r.path(), r));
        System.out.println();
        System.out.printf(Locale.ROOT, "## Data path (%s, kernel %s, %d cores; wrk -t2 -c%d -d%ds, iperf3 -t %d)%n",
                Instant.now().toString().substring(0, 10), System.getProperty("os.version"),
                Runtime.getRuntime().availableProcessors(), connections, seconds, seconds);
        System.out.println("| path | requests/s | × direct | p50 ms | p99 ms | bulk Gbit/s | × direct |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.2f | %.3f | %.3f | %.2f | %.2f |%n", r.path(), r.requestsPerSecond(),
                    r.requestsPerSecond() / direct.requestsPerSecond(), r.p50Ms(), r.p99Ms(), r.bulkGbps(),
                    r.bulkGbps() / direct.bulkGbps());
        }
        Result ipt = byPath.get("iptables mode");
        Result us = byPath.get("userspace mode");
        Result uring = byPath.get("userspace mode, io_uring");
        System.out.printf(Locale.ROOT, "%nuserspace io_uring vs epoll: requests/s %.2f×, p99 %.2f×, bulk %.2f×%n",
                uring.requestsPerSecond() / us.requestsPerSecond(), uring.p99Ms() / us.p99Ms(), uring.bulkGbps() / us.bulkGbps());
        Result ha = results.get(results.size() - 1);
        System.out.printf(Locale.ROOT, "%nuserspace vs HAProxy: requests/s %.2f×, p99 %.2f× (target: ≥ 1 and ≤ 1); "
                        + "bulk vs kernel DNAT %.2f× (target ≥ 0.8)%n",
                us.requestsPerSecond() / ha.requestsPerSecond(), us.p99Ms() / ha.p99Ms(), us.bulkGbps() / ipt.bulkGbps());
    }
}
