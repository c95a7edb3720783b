package io.switchboard.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The built image tarball: unpacked layer by layer into a directory, checked for the binaries the
 * iptables mode calls, and run with chroot (the nearest thing to a container runtime here).
 */
class ImageIT {
    private static Path root;
    private static JsonNode config;

    @BeforeAll
    static void unpack() throws Exception {
        Path tar = Path.of(System.getProperty("image.tar"));
        assertThat(tar).exists();
        Path work = Files.createTempDirectory("sbimage");
        run(List.of("tar", "-xf", tar.toString(), "-C", work.toString()));
        ObjectMapper json = new ObjectMapper();
        JsonNode manifest = json.readTree(work.resolve("manifest.json").toFile()).get(0);
        config = json.readTree(work.resolve(manifest.get("Config").asText()).toFile());
        root = work.resolve("rootfs");
        Files.createDirectories(root);
        for (JsonNode layer : manifest.get("Layers")) {
            run(List.of("tar", "-xf", work.resolve(layer.asText()).toString(), "-C", root.toString()));
        }
    }

    @AfterAll
    static void clean() throws Exception {
        if (root != null) {
            run(List.of("rm", "-rf", root.getParent().toString()));
        }
    }

    @Test
    void hasTheJreAndTheToolsTheModesCall() {
        for (String bin : List.of("usr/bin/java", "usr/sbin/iptables-restore", "usr/sbin/ip6tables-restore",
                "usr/sbin/iptables-save", "usr/sbin/nft", "usr/sbin/conntrack", "usr/sbin/ip")) {
            assertThat(Files.exists(root.resolve(bin)) || Files.isSymbolicLink(root.resolve(bin))).as(bin).isTrue();
        }
        JsonNode c = config.get("config");
        assertThat(c.get("Entrypoint").toString()).contains("io.switchboard.app.Main");
        // the JVM defaults come as environment variables, so that a pod can replace them
        assertThat(c.get("Env").toString()).contains("JAVA_TOOL_OPTIONS=-XX:+UseSerialGC", "-XX:MaxRAMPercentage=60",
                "MALLOC_ARENA_MAX=2");
        assertThat(c.get("User").asText()).isEqualTo("0");
    }

    @Test
    void runsUnderChroot() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "chroot needs root");
        List<String> entry = new ArrayList<>();
        config.get("config").get("Entrypoint").forEach(n -> entry.add(n.asText()));
        Path proc = root.resolve("proc");
        Files.createDirectories(proc);
        run(List.of("mount", "-t", "proc", "proc", proc.toString()));
        try {
            List<String> cmd = new ArrayList<>(List.of("chroot", root.toString()));
            cmd.addAll(entry);
            cmd.add("--version");
            assertThat(run(cmd)).startsWith("switchboard ");
            assertThat(run(List.of("chroot", root.toString(), "iptables", "--version"))).contains("iptables v");
        } finally {
            run(List.of("umount", proc.toString()));
        }
    }

    private static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + out).isZero();
        return out;
    }
}
