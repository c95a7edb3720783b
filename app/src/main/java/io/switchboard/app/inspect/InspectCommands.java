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

        @Override
        public Integer call() throws IOException {
            IpAddress src = IpAddress.parse(host(from));
            String[] dst = hostPort(to);
            IpAddress dstIp = IpAddress.parse(dst[0]);
            Set<IpAddress> local = localAddresses();
            boolean fromNode = local.contains(src) || src.isLoopback();
            PacketTracer.Packet p = fromNode ? PacketTracer.Packet.fromNode(src.toString(), dstIp.toString(), proto, Integer.parseInt(dst[1]))
                    : PacketTracer.Packet.arriving(src.toString(), dstIp.toString(), proto, Integer.parseInt(dst[1]), inInterface);
            Explainer.Result r = Explainer.explain(rules(dstIp.family()), local, p);
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

        @Override
        public Integer call() throws IOException {
            Set<IpAddress> local = localAddresses();
            List<KernelServices.Row> rows = new ArrayList<>();
            for (IpFamily f : IpFamily.values()) {
                try {
                    rows.addAll(KernelServices.read(rules(f), f, local, namespace));
                } catch (IOException e) {
                    System.err.println("switchboard services: cannot read the " + f.kubernetesName() + " rules: " + e.getMessage());
                }
            }
            System.out.print(output.equals("json") ? KernelServices.json(rows) : KernelServices.text(rows));
            return 0;
        }
    }

    static String rules(IpFamily family) throws IOException {
        return new Iptables(CommandRunner.SYSTEM, Iptables.detectFlavor(CommandRunner.SYSTEM)).save(family, null);
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
