package io.switchboard.core.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Golden files for every module's renderer tests: {@code actual} must equal the file;
 * {@code -Dgolden.update=true} (re)writes it instead, for review in the diff. A missing file fails
 * with the command that creates it.
 */
public final class Golden {
    private Golden() {
    }

    public static void check(Path file, String actual) throws IOException {
        if (Boolean.getBoolean("golden.update")) {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, actual, StandardCharsets.UTF_8);
        }
        assertThat(Files.exists(file)).as("golden file %s (create it with -Dgolden.update=true and review it)", file).isTrue();
        assertThat(actual).as(file.getFileName().toString()).isEqualTo(Files.readString(file, StandardCharsets.UTF_8));
    }
}
