package io.switchboard.app;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@code oomScoreAdj}: written to the process's own {@code oom_score_adj}; a failure is logged, not fatal. */
final class OomScore {
    private static final Logger LOG = LoggerFactory.getLogger(OomScore.class);

    private OomScore() {
    }

    /** Returns whether the value is in effect. */
    static boolean apply(Path file, Integer value) {
        if (value == null) {
            return false;
        }
        try {
            String now = Files.readString(file).strip();
            if (!now.equals(String.valueOf(value))) {
                Files.writeString(file, String.valueOf(value));
            }
            LOG.info("oom_score_adj = {}", value);
            return true;
        } catch (IOException | SecurityException e) {
            LOG.warn("cannot set oom_score_adj to {} ({}): the kernel's OOM killer treats this process as any other", value,
                    e.toString());
            return false;
        }
    }
}
