package io.switchboard.app.inspect;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.CommandRunner;
import io.switchboard.netfilter.Iptables;
import io.switchboard.netfilter.trace.PacketTracer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code switchboard explain} and {@code switchboard services}: read the live kernel, print. */
public final class InspectCommands {
    private InspectCommands() {
    }

    @Command(name = "explain", description = "Show the path a new connection takes through this node's live rules, and why.")
    public static final class Explain implements Callable<Integer> {
        @Option(names = "--from", required = true, description = "client address, IP or IP:PORT (a local address means the node itself)")
        String from;
        @Parameters(index = "0", description = "destination IP:PORT ([IPv6]:PORT)")
        String to;
        @Option(names = "--proto", description = "tcp (default), udp or sctp")
        String proto = "tcp";
        @Option(names = "--in-interface", description = "the interface the packet arrives on (default: any)")
        String inInterface = "";
        @Option(names = {"-o", "--output"}, description = "text (default) or json")
        String output = "text";
        @Option(names = "--metrics-address", description = "where the proxy serves /debug/services (default 127.0.0.1:10249)")
        String metricsAddress = "127.0.0.1:10249";

        @Override
        public Integer call() throws IOException {
            IpAddress src = IpAddress.parse(host(from));
            String[] dst = hostPort(to);
            IpAddress dstIp = IpAddress.parse(dst[0]);
            Set<IpAddress> local = localAddresses();
            boolean fromNode = local.contains(src) || src.isLoopback();
            PacketTracer.Packet p = fromNode ? PacketTracer.Packet.fromNode(src.toString(), dstIp.toString(), proto, Integer.parseInt(dst[1]))
                    : PacketTracer.Packet.arriving(src.toString(), dstIp.toString(), proto, Integer.parseInt(dst[1]), inInterface);
            String nft = nftTable(dstIp.family());
            Explainer.Result r = nft != null ? Explainer.explainNft(nft, local, p) : Explainer.explain(rules(dstIp.family()), local, p);
            if (r.proxyPort() != null) {
                r = r.withProxyEndpoints(proxyEndpoints(metricsAddress, r.proxyPort(), dstIp.family()));
            }
            System.out.print(output.equals("json") ? Explainer.json(r) : Explainer.text(r));
            return 0;
        }
    }

    @Command(name = "services", description = "List every service port as programmed in this node's kernel right now.")
    public static final class Services implements Callable<Integer> {
        @Option(names = {"-n", "--namespace"}, description = "only this namespace")
        String namespace;
        @Option(names = {"-o", "--output"}, description = "wide (default) or json")
        String output = "wide";
        @Option(names = "--master", description = "compare with this API server (adds a DRIFT column)")
        String master;
        @Option(names = "--kubeconfig", description = "compare with the API server of this kubeconfig (adds a DRIFT column)")
        String kubeconfig;

        @Override
        public Integer call() throws IOException {
            Set<IpAddress> local = localAddresses();
            List<KernelServices.Row> rows = new ArrayList<>();
            java.util.Set<IpFamily> read = new java.util.HashSet<>();
            for (IpFamily f : IpFamily.values()) {
                try {
                    rows.addAll(kernelRows(f, local, namespace));
                    read.add(f);
                } catch (IOException e) {
                    System.err.println("switchboard services: cannot read the " + f.kubernetesName() + " rules: " + e.getMessage());
                }
            }
            if (master != null || kubeconfig != null) {
                try (var client = io.switchboard.informers.ClusterWatcher.connect(kubeconfig == null ? "" : kubeconfig,
                        master == null ? "" : master)) {
                    var api = io.switchboard.informers.ClusterWatcher.list(client);
                    var services = api.services().stream().filter(s -> namespace == null || s.name().namespace().equals(namespace)).toList();
                    rows = Drift.mark(rows, services, api.slices(), read);
                }
            }
            System.out.print(output.equals("json") ? KernelServices.json(rows) : KernelServices.text(rows));
            return 0;
        }
    }

    /**
     * {@code /debug/services}: the service ports as the kernel holds them (both families, read back
     * now) and what the data path holds beyond the rules ({@code proxy}).
     */
    public static String debugServices(java.util.Map<String, Object> proxy) {
        java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
        List<KernelServices.Row> rows = new ArrayList<>();
        try {
            Set<IpAddress> local = localAddresses();
            for (IpFamily f : IpFamily.values()) {
                try {
                    rows.addAll(kernelRows(f, local, null));
                } catch (IOException e) {
                    out.put("error" + f.kubernetesName(), e.getMessage());
                }
            }
        } catch (SocketException e) {
            out.put("error", e.getMessage());
        }
        out.put("kernel", rows);
        out.put("proxy", proxy);
        return Inspect.json(out);
    }

    /** The service rows of one family: from the nftables mode's table when there is one, else from iptables. */
    static List<KernelServices.Row> kernelRows(IpFamily f, Set<IpAddress> local, String namespace) throws IOException {
        String nft = nftTable(f);
        return nft != null ? KernelServices.readNft(nft, f, local, namespace) : KernelServices.read(rules(f), f, local, namespace);
    }

    /**
     * The nftables mode's table of a family ({@code nft list table ip|ip6 kube-proxy}), or null when
     * there is none (or no nft): then the iptables rules are the ones to read.
     */
    static String nftTable(IpFamily family) {
        try {
            CommandRunner.Result r = CommandRunner.SYSTEM.run(List.of("nft", "list", "table", family == IpFamily.IPV4 ? "ip" : "ip6",
                    "kube-proxy"), null, java.time.Duration.ofSeconds(60));
            return r.ok() ? r.stdout() : null;
        } catch (IOException e) {
            return null;
        }
    }

    static String rules(IpFamily family) throws IOException {
        return new Iptables(CommandRunner.SYSTEM, Iptables.detectFlavor(CommandRunner.SYSTEM)).save(family, null);
    }

    /**
     * The endpoints the userspace proxy listening on {@code port} uses for {@code family}, from its
     * {@code /debug/services}; null when the proxy cannot be asked.
     */
    static List<String> proxyEndpoints(String metricsAddress, int port, IpFamily family) {
        try {
            java.net.http.HttpResponse<String> resp = java.net.http.HttpClient.newBuilder()
                    .connectTimeout(java.time.Duration.ofSeconds(2)).build()
                    .send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + metricsAddress + "/debug/services"))
                            .timeout(java.time.Duration.ofSeconds(5)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            var root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(resp.body());
            for (var l : root.path("proxy").path("userspaceListeners")) {
                if (l.path("port").asInt() == port) {
                    List<String> out = new ArrayList<>();
                    l.path("endpoints").path(family.kubernetesName()).forEach(e -> out.add(e.asText()));
                    return out;
                }
            }
            return List.of();
        } catch (IOException | InterruptedException | IllegalArgumentException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return null;
        }
    }

    static Set<IpAddress> localAddresses() throws SocketException {
        Set<IpAddress> out = new HashSet<>();
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                if (!a.isLinkLocalAddress()) {
                    out.add(IpAddress.of(a.getAddress()));
                }
            }
        }
        return out;
    }

    /** The host part of IP or IP:PORT ([IPv6]:PORT, or a bare IPv6 address). */
    static String host(String s) {
        if (s.startsWith("[")) {
            return s.substring(1, s.indexOf(']'));
        }
        int colons = s.length() - s.replace(":", "").length();
        return colons == 1 ? s.substring(0, s.indexOf(':')) : s;
    }

    static String[] hostPort(String s) {
        int i = s.lastIndexOf(':');
        if (i < 0 || (s.indexOf(':') != i && !s.startsWith("["))) {
            throw new IllegalArgumentException("want IP:PORT or [IPv6]:PORT, got \"" + s + "\"");
        }
        return new String[]{host(s), s.substring(i + 1)};
    }
}
