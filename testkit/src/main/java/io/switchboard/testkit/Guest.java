package io.switchboard.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs test classes inside the QEMU guest of {@code vm/run} (a kernel with IPVS) in one JVM there,
 * with this JVM's test class path, and reads back what each test did. The host reports each guest
 * test as its own (passed, failed, or skipped with the guest's reason); when no guest can run here
 * ({@code vm/run} exits 77) the reason is returned instead of results.
 */
public final class Guest {
    /** What became of one test in the guest. */
    public enum Status { PASSED, FAILED, SKIPPED }

    /** One test (or a container that was skipped or failed as a whole). */
    public record Result(String id, String name, boolean test, Status status, String message) {
    }

    /** The guest's results, or why there are none. */
    public record Outcome(List<Result> results, int exitCode, String unavailable, String output) {
    }

    private Guest() {
    }

    static String encode(Result r) {
        Base64.Encoder b = Base64.getEncoder();
        return String.join("\t", r.status().name(), r.test() ? "test" : "container",
                b.encodeToString(r.id().getBytes(StandardCharsets.UTF_8)),
                b.encodeToString(r.name().getBytes(StandardCharsets.UTF_8)),
                b.encodeToString((r.message() == null ? "" : r.message()).getBytes(StandardCharsets.UTF_8)));
    }

    static Result decode(String line) {
        String[] f = line.split("\t", -1);
        Base64.Decoder d = Base64.getDecoder();
        return new Result(new String(d.decode(f[2]), StandardCharsets.UTF_8), new String(d.decode(f[3]), StandardCharsets.UTF_8),
                f[1].equals("test"), Status.valueOf(f[0]), new String(d.decode(f[4]), StandardCharsets.UTF_8));
    }

    /** The project's root: the directory holding {@code vm/run}, found upwards from the working directory. */
    public static Path projectRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isExecutable(p.resolve("vm/run"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("vm/run not found above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    /**
     * Runs the classes in the guest. The JVM there gets this JVM's test class path (surefire's
     * {@code surefire.test.class.path}, else {@code java.class.path}), the given JVM arguments and this
     * JVM's working directory; {@code workDir} receives the results and the guest's output.
     *
     * @param timeoutMinutes the whole guest run, boot included
     */
    public static Outcome run(List<String> classes, List<String> jvmArgs, Path workDir, long timeoutMinutes)
            throws IOException, InterruptedException {
        Path root = projectRoot();
        Files.createDirectories(workDir);
        Path results = workDir.resolve("guest-results.tsv").toAbsolutePath();
        Files.deleteIfExists(results);
        Path log = workDir.resolve("guest-output.log").toAbsolutePath();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(root.resolve("vm/run").toString(), "--", java));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", cp, GuestRunner.class.getName(), results.toString()));
        cmd.addAll(classes);
        // the guest works in this JVM's working directory (the module's), so relative paths hold there too
        Process p = new ProcessBuilder(cmd).directory(Path.of("").toAbsolutePath().toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(timeoutMinutes, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
            return new Outcome(read(results), -1, null, tail(log) + "\n(guest run killed after " + timeoutMinutes + " min)");
        }
        int code = p.exitValue();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        if (code == 77) {
            return new Outcome(List.of(), code, out.strip(), out);
        }
        return new Outcome(read(results), code, null, out);
    }

    private static List<Result> read(Path results) throws IOException {
        List<Result> out = new ArrayList<>();
        if (Files.exists(results)) {
            for (String line : Files.readAllLines(results, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.add(decode(line));
                }
            }
        }
        return out;
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "";
        }
        String s = Files.readString(log, StandardCharsets.UTF_8);
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }
}
