package io.switchboard.testkit;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs JUnit test classes in this JVM and writes one line per test to a results file, for a host
 * that ran this JVM somewhere it cannot see into (the QEMU guest of {@code vm/run}): see
 * {@link Guest}. Usage: {@code GuestRunner RESULTS-FILE CLASS...}, where a {@code CLASS#method} runs only
 * that method (its class's set-up included); exits 1 if a test failed.
 */
public final class GuestRunner {
    private GuestRunner() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: GuestRunner RESULTS-FILE CLASS...");
            System.exit(64);
        }
        Path results = Path.of(args[0]);
        List<String> lines = new ArrayList<>();
        AtomicInteger failed = new AtomicInteger();
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (int i = 1; i < args.length; i++) {
            request.selectors(args[i].contains("#") ? DiscoverySelectors.selectMethod(args[i])
                    : DiscoverySelectors.selectClass(args[i]));
        }
        LauncherDiscoveryRequest r = request.build();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(r, new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                record(id, Guest.Status.SKIPPED, reason);
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                switch (result.getStatus()) {
                    case SUCCESSFUL -> {
                        if (id.isTest()) {
                            record(id, Guest.Status.PASSED, "");
                        }
                    }
                    case ABORTED -> record(id, Guest.Status.SKIPPED, result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
                    case FAILED -> {
                        failed.incrementAndGet();
                        record(id, Guest.Status.FAILED, result.getThrowable().map(GuestRunner::trace).orElse("failed"));
                    }
                }
            }

            private void record(TestIdentifier id, Guest.Status status, String message) {
                String name = id.getLegacyReportingName();
                String owner = id.getParentId().isPresent() ? id.getUniqueId() : name;
                lines.add(Guest.encode(new Guest.Result(owner, name, id.isTest(), status, message)));
                String at = java.time.LocalTime.now().format(java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss"));
                System.out.println("[guest] " + at + " " + status + " " + name + (status == Guest.Status.PASSED ? "" : ": " + firstLine(message)));
                try {
                    Files.write(results, lines, StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });
        Files.write(results, lines, StandardCharsets.UTF_8);
        System.exit(failed.get() == 0 ? 0 : 1);
    }

    static String firstLine(String s) {
        int nl = s == null ? -1 : s.indexOf('\n');
        return s == null ? "" : nl < 0 ? s : s.substring(0, nl);
    }

    static String trace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        String s = w.toString();
        return s.length() > 8000 ? s.substring(0, 8000) : s;
    }
}
