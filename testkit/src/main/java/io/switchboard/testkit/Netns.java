package io.switchboard.testkit;

import io.switchboard.netfilter.CommandRunner;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Network namespaces made with {@code ip netns}: commands run inside them through
 * {@code ip netns exec}, and Java code runs inside them on a fresh thread that has joined the
 * namespace with {@code setns(2)} (sockets keep the namespace they were created in; threads started
 * from that thread inherit it).
 */
public final class Netns {
    /** libc calls for setns. */
    public interface LibC {
        int open(String path, int flags);

        int setns(int fd, int nstype);

        int close(int fd);
    }

    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int CLONE_NEWNET = 0x40000000;
    private static volatile LibC libc;

    private Netns() {
    }

    private static LibC libc() {
        if (libc == null) {
            libc = LibraryLoader.create(LibC.class).load("c");
        }
        return libc;
    }

    /** Why namespaces cannot be used here, or null if they can (root, {@code ip} present). */
    public static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "network namespaces need root";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))
                && !Files.isExecutable(Path.of("/usr/bin/ip"))) {
            return "iproute2 (ip) is not installed";
        }
        try {
            CommandRunner.Result r = CommandRunner.SYSTEM.run(List.of("ip", "netns", "list"), null, Duration.ofSeconds(10));
            if (!r.ok()) {
                return "ip netns does not work: " + r.stderr().strip();
            }
        } catch (IOException e) {
            return "ip netns does not work: " + e.getMessage();
        }
        return null;
    }

    /** A command runner whose commands run inside a namespace ({@code ip netns exec}). */
    public static CommandRunner runner(String ns) {
        return (cmd, stdin, timeout) -> {
            List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
            c.addAll(cmd);
            return CommandRunner.SYSTEM.run(c, stdin, timeout);
        };
    }

    /** Runs a command, failing with its stderr if it fails. */
    public static String run(String... command) {
        try {
            CommandRunner.Result r = CommandRunner.SYSTEM.run(List.of(command), null, Duration.ofMinutes(2));
            if (!r.ok()) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + r.stderr().strip());
            }
            return r.stdout();
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + e.getMessage(), e);
        }
    }

    /** Runs a command inside a namespace. */
    public static String exec(String ns, String... command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(Arrays.asList(command));
        return run(cmd.toArray(String[]::new));
    }

    public static void add(String ns) {
        run("ip", "netns", "add", ns);
        exec(ns, "ip", "link", "set", "lo", "up");
    }

    public static void delete(String ns) {
        try {
            CommandRunner.SYSTEM.run(List.of("ip", "netns", "delete", ns), null, Duration.ofSeconds(30));
        } catch (IOException e) {
            // already gone
        }
    }

    /** Runs {@code work} on a new thread inside the namespace and returns its result. */
    public static <T> T call(String ns, Callable<T> work) {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                enter(ns);
                result.set(work.call());
            } catch (Throwable e) {
                error.set(e);
            }
        }, "netns-" + ns);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        if (error.get() != null) {
            if (error.get() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(error.get());
        }
        return result.get();
    }

    /** Moves the calling thread into the namespace (use only on threads you own). */
    public static void enter(String ns) {
        LibC c = libc();
        int fd = c.open("/var/run/netns/" + ns, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            throw new IllegalStateException("cannot open netns " + ns + ": errno " + Runtime.getRuntime(c).getLastError());
        }
        try {
            if (c.setns(fd, CLONE_NEWNET) != 0) {
                throw new IllegalStateException("setns into " + ns + " failed: errno " + Runtime.getRuntime(c).getLastError());
            }
        } finally {
            c.close(fd);
        }
    }
}
