package io.switchboard.e2e;

import io.switchboard.testkit.Guest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The IPVS-mode tests, run where IPVS exists: Debian's kernel under QEMU ({@code vm/run}), all in
 * one JVM there. Each test the guest ran is reported here as its own dynamic test, with the guest's
 * outcome (a skip keeps the guest's reason); when no guest can run on this machine the whole set
 * is skipped with {@code vm/run}'s reason, never passed.
 */
class IpvsGuestTest {
    /** Test classes tagged {@code ipvs-kernel}: excluded from every host run, run here in the guest. */
    static final List<String> GUEST_CLASSES = List.of(
            "io.switchboard.backend.ipvs.IpvsKernelTest",
            "io.switchboard.e2e.IpvsConformanceTest",
            "io.switchboard.e2e.IpvsDemoTest");

    /**
     * {@code -Dswitchboard.guest.only=CLASS#method,...} runs only those (a shorter guest run while
     * working on one flow); every run of the suite runs them all.
     */
    @TestFactory
    List<DynamicTest> ipvsTestsInTheGuest() throws Exception {
        String only = System.getProperty("switchboard.guest.only", "");
        List<String> classes = only.isBlank() ? GUEST_CLASSES : List.of(only.split(","));
        // -Dswitchboard.guest.long=true adds the slow flows (IpvsConformanceTest.notRun): ten restarts,
        // the bad input and the restart with over a thousand services
        boolean longRun = Boolean.getBoolean("switchboard.guest.long");
        List<String> jvm = new ArrayList<>(List.of("-Xss1m", "-Dswitchboard.guest.long=" + longRun));
        // the flows' own knobs given here (-Dswitchboard.badInput=10000, -Dswitchboard.apiErrorSeconds=60,
        // ...) reach the guest's JVM too
        System.getProperties().stringPropertyNames().stream().sorted()
                .filter(k -> k.startsWith("switchboard.") && !k.startsWith("switchboard.guest."))
                .forEach(k -> jvm.add("-D" + k + "=" + System.getProperty(k)));
        // class loading dominates a proxy start under emulation: the guest's proxies map an archive
        // recorded here (the guest runs this machine's JDK and jar, so it matches)
        Path cds = Path.of("target/ipvs-guest/switchboard.jsa").toAbsolutePath();
        java.nio.file.Files.createDirectories(cds.getParent());
        try {
            if (SwitchboardProcess.recordCdsArchive(cds)) {
                jvm.add("-Dswitchboard.cdsArchive=" + cds);
            }
        } catch (IOException | RuntimeException e) {
            // without one the guest's proxies only start more slowly
            System.out.println("no class-data-sharing archive for the guest: " + e);
        }
        // about 20 minutes here for the CI set (the emulated guest runs Java 10-15 times slower)
        Guest.Outcome o = Guest.run(classes, jvm, Path.of("target/ipvs-guest").toAbsolutePath(), longRun ? 150 : 40);
        Assumptions.assumeTrue(o.unavailable() == null, () -> "no QEMU guest here: " + o.unavailable());
        System.out.println(o.output());
        List<DynamicTest> tests = new ArrayList<>();
        for (Guest.Result r : o.results()) {
            tests.add(DynamicTest.dynamicTest("[guest] " + r.name() + (r.test() ? "" : " (whole class)"), () -> {
                switch (r.status()) {
                    case PASSED -> { }
                    case SKIPPED -> throw new TestAbortedException("skipped in the guest: " + r.message());
                    case FAILED -> throw new AssertionFailedError("failed in the guest:\n" + r.message());
                }
            }));
        }
        tests.add(DynamicTest.dynamicTest("[guest] the guest run finished", () -> {
            if (o.results().isEmpty() || (o.exitCode() != 0 && o.exitCode() != 1)) {
                throw new AssertionFailedError("the guest run ended with exit code " + o.exitCode()
                        + " (70: the guest died, see vm/README.md) after " + o.results().size() + " results:\n" + o.output());
            }
        }));
        return tests;
    }
}
