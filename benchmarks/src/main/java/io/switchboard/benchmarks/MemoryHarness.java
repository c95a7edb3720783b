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
            long idle = rss(ns, jar, api, 0, null);
            seed(ns, admin, services);
            long churnSeconds = Long.getLong("switchboard.churnSeconds", 0);
            Runnable churn = churnSeconds <= 0 ? null : () -> churn(ns, admin, services, churnSeconds);
            long loaded = rss(ns, jar, api, services, churn);
            System.out.printf("java options: [%s]%nRSS idle (0 services): %d MB%nRSS with %d services x 10 endpoints, synced: %d MB%n",
                    System.getProperty("switchboard.javaOpts", ""), idle / 1024, services, loaded / 1024);
        } finally {
            admin.close();
            api.close();
            Netns.delete(ns);
        }
    }

    /**
     * With {@code -Dswitchboard.diagnose=DIR}: writes the process's NMT summary (when the options
     * enable it), a heap class histogram, its thread list and /proc status into DIR.
     */
    private static void diagnose(long pid, String tag) throws Exception {
        String dir = System.getProperty("switchboard.diagnose");
        if (dir == null) {
            return;
        }
        Path out = Files.createDirectories(Path.of(dir));
        Files.copy(Path.of("/proc/" + pid + "/status"), out.resolve(tag + "-status.txt"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        jcmd(pid, out.resolve(tag + "-nmt.txt"), "VM.native_memory", "summary");
        jcmd(pid, out.resolve(tag + "-histo.txt"), "GC.class_histogram");
        jcmd(pid, out.resolve(tag + "-threads.txt"), "Thread.print");
        jcmd(pid, out.resolve(tag + "-heap.txt"), "GC.heap_info");
    }

    private static void jcmd(long pid, Path to, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("jcmd", Long.toString(pid)));
        cmd.addAll(List.of(command));
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(to.toFile()).start().waitFor();
    }

    /**
     * Process start → first sync done, split at the log lines that mark each phase: JVM start and
     * set-up (to the backend's first line), client and informers (to "watching"), the initial
     * lists (to both "synced" lines), then the first sync. Times are the klog timestamps (UTC).
     */
    private static void startBreakdown(java.time.LocalTime started, String log, int services) {
        String[][] marks = {
                {"jvm start, flags, backend probe", "iptables mode:"},
                {"http endpoints, client, informers", "watching Services"},
                {"initial lists (both synced)", "] services synced|endpoint slices synced"},
                {"first sync", "services=" + services + ","},
        };
        java.time.LocalTime prev = started;
        StringBuilder out = new StringBuilder("start breakdown (" + services + " services):");
        for (String[] m : marks) {
            java.time.LocalTime at = null;
            for (String needle : m[1].split("\\|")) {
                var line = log.lines().filter(l -> l.contains(needle) && l.length() > 21).findFirst();
                if (line.isPresent()) {
                    java.time.LocalTime t = java.time.LocalTime.parse(line.get().substring(6, 21));
                    at = at == null || t.isAfter(at) ? t : at;
                }
            }
            if (at == null) {
                continue;
            }
            out.append(String.format("%n  %-36s %6d ms", m[0], java.time.Duration.between(prev, at).toMillis()));
            prev = at;
        }
        out.append(String.format("%n  %-36s %6d ms", "total: process start -> first sync", java.time.Duration.between(started, prev).toMillis()));
        System.out.println(out);
    }

    /** {@code ip netns exec NS java [-Dswitchboard.javaOpts] -jar JAR}, to which the caller adds flags. */
    static List<String> javaCommand(String ns, Path jar) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "java"));
        String opts = System.getProperty("switchboard.javaOpts", "");
        if (!opts.isBlank()) {
            cmd.addAll(List.of(opts.trim().split("\\s+")));
        }
        cmd.addAll(List.of("-jar", jar.toString()));
        return cmd;
    }

    /**
     * Creates {@code services} Services (ns0..ns49/svcN, cluster IPs in 172.30.0.0/16) with one
     * EndpointSlice of 10 ready endpoints each, through the API.
     */
    static void seed(String ns, KubernetesClient admin, int services) {
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
    }

    /**
     * A bounded burst loop: every second, 10 bursts of 10 slice updates (one endpoint address
     * replaced in each), 100 changes per second in all, for the given time.
     */
    private static void churn(String ns, KubernetesClient admin, int services, long seconds) {
        java.util.Random r = new java.util.Random(42);
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        int changes = 0;
        try {
            while (System.nanoTime() < end) {
                for (int i = 0; i < 10; i++) {
                    int s = r.nextInt(services);
                    String name = "svc" + s;
                    int e = r.nextInt(10);
                    String ip = "10.200." + r.nextInt(256) + "." + (1 + r.nextInt(250));
                    Netns.call(ns, () -> admin.discovery().v1().endpointSlices().inNamespace("ns" + (s % 50))
                            .withName(name + "-abc").edit(sl -> {
                                sl.getEndpoints().get(e).setAddresses(List.of(ip));
                                return sl;
                            }));
                    changes++;
                }
                Thread.sleep(100);
            }
        } catch (Exception ex) {
            throw new IllegalStateException("churn failed after " + changes + " changes", ex);
        }
        System.out.printf("churn: %d slice changes in %d s%n", changes, seconds);
    }

    private static long vmRss(long pid) throws java.io.IOException {
        return ControlPlaneSuite.vmRssKb(pid);
    }

    /**
     * Starts switchboard, waits until it synced {@code services}, returns VmRSS in kB; with a churn
     * loop, also prints the RSS after it (and the largest RSS seen during it).
     */
    private static long rss(String ns, Path jar, MockApiServer api, int services, Runnable churn) throws Exception {
        Path log = Files.createTempFile("sbmem", ".log");
        List<String> cmd = javaCommand(ns, jar);
        cmd.addAll(List.of("--master", api.url(), "--hostname-override", "node-1",
                "--healthz-bind-address", "127.0.0.1:0", "--metrics-bind-address", "127.0.0.1:0", "--v", "2"));
        java.time.LocalTime started = java.time.LocalTime.now(java.time.ZoneOffset.UTC);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + 600_000_000_000L;
            while (System.nanoTime() < deadline) {
                String text = Files.readString(log);
                if (text.contains("services=" + services + ",")) {
                    Thread.sleep(5000);
                    text.lines().filter(l -> l.contains("services=" + services + ",")).findFirst()
                            .ifPresent(l -> System.out.println("first sync: " + l));
                    startBreakdown(started, text, services);
                    long rss = vmRss(p.pid());
                    diagnose(p.pid(), services + "svc");
                    if (churn != null) {
                        long pid = p.pid();
                        long[] peak = {0};
                        long churnStart = System.nanoTime();
                        Thread sampler = new Thread(() -> {
                            long nextReport = 60;
                            while (!Thread.currentThread().isInterrupted()) {
                                try {
                                    long now = vmRss(pid);
                                    peak[0] = Math.max(peak[0], now);
                                    long s = (System.nanoTime() - churnStart) / 1_000_000_000L;
                                    if (s >= nextReport) {
                                        // the trend: a plateau, or growth with the number of changes
                                        System.out.printf("churn at %d s: RSS %d MB%n", s, now / 1024);
                                        nextReport += 60;
                                    }
                                    Thread.sleep(1000);
                                } catch (Exception e) {
                                    return;
                                }
                            }
                        });
                        sampler.start();
                        churn.run();
                        Thread.sleep(10_000);
                        sampler.interrupt();
                        sampler.join();
                        System.out.printf("RSS after the churn: %d MB (largest seen during it: %d MB)%n",
                                vmRss(pid) / 1024, peak[0] / 1024);
                        diagnose(pid, services + "svc-after-churn");
                    }
                    return rss;
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
