package io.switchboard.benchmarks;

import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.testkit.MockApiServer;
import io.switchboard.testkit.Netns;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * RSS of the real switchboard process holding S services × 10 endpoints: the CRUD mock API server
 * and the proxy run in one network namespace; the proxy uses the iptables mode. Prints VmRSS once
 * the proxy has synced every service, next to the RSS of the same process idle with no services
 * (the baseline measured in the same run). Usage: {@code MemoryHarness [services]}.
 */
public final class MemoryHarness {
    public static void main(String[] args) throws Exception {
        int services = args.length > 0 ? Integer.parseInt(args[0]) : 10000;
        Path jar = Path.of(System.getProperty("switchboard.jar", "app/target/switchboard.jar"));
        String ns = "sbmem";
        Netns.delete(ns);
        Netns.add(ns);
        MockApiServer api = Netns.call(ns, MockApiServer::new);
        KubernetesClient admin = Netns.call(ns, api::client);
        try {
            long idle = rss(ns, jar, api, 0);
            Netns.call(ns, () -> {
                for (int s = 0; s < services; s++) {
                    String name = "svc" + s;
                    admin.services().resource(new ServiceBuilder().withNewMetadata().withNamespace("ns" + (s % 50)).withName(name)
                            .endMetadata().withNewSpec().withClusterIP("172.30." + (s / 250) + "." + (s % 250 + 1))
                            .addNewPort().withName("http").withPort(80).withProtocol("TCP").endPort().endSpec().build()).create();
                    List<io.fabric8.kubernetes.api.model.discovery.v1.Endpoint> eps = new ArrayList<>();
                    for (int e = 0; e < 10; e++) {
                        int n = s * 10 + e;
                        eps.add(new EndpointBuilder().withAddresses("10." + (n >> 16 & 255) + "." + (n >> 8 & 255) + "." + (n & 255))
                                .withNewConditions().withReady(true).endConditions().withNodeName("node-" + (n % 100)).build());
                    }
                    admin.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata()
                            .withNamespace("ns" + (s % 50)).withName(name + "-abc")
                            .withLabels(Map.of("kubernetes.io/service-name", name)).endMetadata().withAddressType("IPv4")
                            .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort().withEndpoints(eps).build()).create();
                }
                return null;
            });
            long loaded = rss(ns, jar, api, services);
            System.out.printf("java options: [%s]%nRSS idle (0 services): %d MB%nRSS with %d services x 10 endpoints, synced: %d MB%n",
                    System.getProperty("switchboard.javaOpts", ""), idle / 1024, services, loaded / 1024);
        } finally {
            admin.close();
            api.close();
            Netns.delete(ns);
        }
    }

    /** Starts switchboard, waits until it synced {@code services}, returns VmRSS in kB. */
    private static long rss(String ns, Path jar, MockApiServer api, int services) throws Exception {
        Path log = Files.createTempFile("sbmem", ".log");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "java"));
        String opts = System.getProperty("switchboard.javaOpts", "");
        if (!opts.isBlank()) {
            cmd.addAll(List.of(opts.trim().split("\\s+")));
        }
        cmd.addAll(List.of("-jar", jar.toString(), "--master", api.url(), "--hostname-override", "node-1",
                "--healthz-bind-address", "127.0.0.1:0", "--metrics-bind-address", "127.0.0.1:0", "--v", "2"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + 600_000_000_000L;
            while (System.nanoTime() < deadline) {
                String text = Files.readString(log);
                if (text.contains("services=" + services + ",")) {
                    Thread.sleep(5000);
                    System.gc();
                    for (String line : Files.readAllLines(Path.of("/proc/" + p.pid() + "/status"))) {
                        if (line.startsWith("VmRSS:")) {
                            return Long.parseLong(line.replaceAll("[^0-9]", ""));
                        }
                    }
                }
                if (!p.isAlive()) {
                    throw new IllegalStateException("switchboard exited: " + text);
                }
                Thread.sleep(500);
            }
            throw new IllegalStateException("switchboard did not sync " + services + " services in time");
        } finally {
            p.destroy();
            p.waitFor();
        }
    }
}
