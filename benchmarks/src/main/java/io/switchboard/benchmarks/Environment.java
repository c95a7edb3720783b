package io.switchboard.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The machine a benchmark ran on, for its summary: CPU, memory, kernel, JVM and tool versions. */
final class Environment {
    private static Map<String, String> cached;

    private Environment() {
    }

    static synchronized Map<String, String> describe() {
        if (cached != null) {
            return cached;
        }
        Map<String, String> m = new LinkedHashMap<>();
        m.put("CPU", cpu() + ", " + Runtime.getRuntime().availableProcessors() + " cores");
        m.put("memory", memory());
        m.put("kernel", "Linux " + first(List.of("uname", "-r")));
        m.put("JVM", System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + " ("
                + System.getProperty("java.vendor") + ")");
        m.put("iptables", first(List.of("iptables", "--version")));
        m.put("nft", first(List.of("nft", "--version")));
        m.put("wrk", first(List.of("wrk", "-v")).replaceAll(" \\[.*", ""));
        m.put("iperf3", first(List.of("iperf3", "--version")).replaceAll(" \\(.*", ""));
        cached = m;
        return m;
    }

    private static String cpu() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse("unknown CPU");
        } catch (Exception e) {
            return "unknown CPU";
        }
    }

    private static String memory() {
        try {
            return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024 / 1024 + " GiB").findFirst().orElse("?");
        } catch (Exception e) {
            return "?";
        }
    }

    /** The first line a command prints (stdout and stderr), or "not installed". */
    private static String first(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            p.waitFor(10, TimeUnit.SECONDS);
            return out.isEmpty() ? "?" : out.lines().findFirst().orElse("?");
        } catch (Exception e) {
            return "not installed";
        }
    }
}
