package io.switchboard.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The real switchboard process, started inside a namespace with {@code ip netns exec}. */
final class SwitchboardProcess implements AutoCloseable {
    static final Path REPO = Path.of(System.getProperty("switchboard.repo", ".."));
    static final Path JAR = REPO.resolve("app/target/switchboard.jar");

    private final Process process;
    final Path log;

    SwitchboardProcess(String ns, Path log, String... args) throws IOException {
        this(ns, log, Map.of(), args);
    }

    /** With extra environment variables ({@code PATH} entries are put in front of the inherited path). */
    SwitchboardProcess(String ns, Path log, Map<String, String> env, String... args) throws IOException {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR + " is missing; build it with ./mvnw -DskipTests install");
        }
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "java"));
        cmd.addAll(jvmDefaults());
        cmd.addAll(List.of("-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Files.createDirectories(log.getParent());
        this.log = log;
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
        pb.environment().put("MALLOC_ARENA_MAX", "2");
        env.forEach((k, v) -> pb.environment().merge(k, v, (old, extra) -> k.equals("PATH") ? extra + ":" + old : extra));
        this.process = pb.start();
    }

    /** The JVM's process id ({@code ip netns exec} execs java in its own place). */
    long pid() {
        return process.pid();
    }

    /**
     * The shipped JVM defaults (the {@code defaults=} line of bin/switchboard, which the image and
     * the chart repeat), so the flows run the process as operators do.
     */
    static List<String> jvmDefaults() throws IOException {
        String line = Files.readAllLines(REPO.resolve("bin/switchboard")).stream().filter(l -> l.startsWith("defaults="))
                .findFirst().orElseThrow(() -> new IllegalStateException("no defaults= line in bin/switchboard"));
        List<String> out = new ArrayList<>(List.of(line.substring("defaults=\"".length(), line.length() - 1).split(" ")));
        // a class-data-sharing archive of the jar, as the launcher maps one (the QEMU guest gets one
        // recorded on the host: class loading dominates a proxy start under emulation)
        String cds = System.getProperty("switchboard.cdsArchive", "");
        if (!cds.isBlank() && Files.exists(Path.of(cds))) {
            out.addAll(List.of("-XX:SharedArchiveFile=" + cds, "-Xlog:cds=off", "-Xlog:cds+dynamic=off"));
        }
        return out;
    }

    /**
     * Records a class-data-sharing archive of the jar into {@code archive}: one proxy start in a
     * throwaway network namespace (iptables mode, no API server), stopped with SIGTERM once started.
     *
     * @return whether the archive was written
     */
    static boolean recordCdsArchive(Path archive) throws IOException, InterruptedException {
        Files.deleteIfExists(archive);
        String ns = "sbcds" + ProcessHandle.current().pid();
        io.switchboard.testkit.Netns.delete(ns);
        io.switchboard.testkit.Netns.add(ns);
        try {
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "java"));
            String line = Files.readAllLines(REPO.resolve("bin/switchboard")).stream().filter(l -> l.startsWith("defaults="))
                    .findFirst().orElseThrow();
            cmd.addAll(List.of(line.substring("defaults=\"".length(), line.length() - 1).split(" ")));
            cmd.addAll(List.of("-XX:ArchiveClassesAtExit=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off",
                    "-jar", JAR.toString(), "--proxy-mode", "iptables", "--master", "http://127.0.0.1:9",
                    "--hostname-override", "cds", "--cluster-cidr", "10.244.0.0/16"));
            Path log = archive.resolveSibling("cds-record.log");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (p.isAlive() && !Files.readString(log).contains("switchboard started") && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            Thread.sleep(2000);
            p.destroy();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return Files.exists(archive);
        } finally {
            io.switchboard.testkit.Netns.delete(ns);
        }
    }

    boolean alive() {
        return process.isAlive();
    }

    String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** SIGKILL: no shutdown hook, nothing drains, as when the OOM killer or a node crash ends it. */
    void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * SIGTERM to switchboard alone ({@code ip netns exec} execs java, so that is the JVM), then wait;
     * a tool it is running (an iptables-restore) finishes as it would on a node. Whatever is left
     * after 30 s is killed.
     */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
