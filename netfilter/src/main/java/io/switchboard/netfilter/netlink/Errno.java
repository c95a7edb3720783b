package io.switchboard.netfilter.netlink;

import java.util.Map;

/** Names and texts of the errno values the netlink families answer with (Linux numbering). */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENOBUFS = 105;

    private static final Map<Integer, String> TEXT = Map.ofEntries(
            Map.entry(1, "EPERM (Operation not permitted)"),
            Map.entry(2, "ENOENT (No such file or directory)"),
            Map.entry(4, "EINTR (Interrupted system call)"),
            Map.entry(11, "EAGAIN (Resource temporarily unavailable)"),
            Map.entry(12, "ENOMEM (Cannot allocate memory)"),
            Map.entry(13, "EACCES (Permission denied)"),
            Map.entry(16, "EBUSY (Device or resource busy)"),
            Map.entry(17, "EEXIST (File exists)"),
            Map.entry(19, "ENODEV (No such device)"),
            Map.entry(22, "EINVAL (Invalid argument)"),
            Map.entry(23, "ENFILE (Too many open files in system)"),
            Map.entry(28, "ENOSPC (No space left on device)"),
            Map.entry(31, "EMLINK (Too many links)"),
            Map.entry(34, "ERANGE (Numerical result out of range)"),
            Map.entry(40, "ELOOP (Too many levels of symbolic links)"),
            Map.entry(71, "EPROTO (Protocol error)"),
            Map.entry(90, "EMSGSIZE (Message too long)"),
            Map.entry(93, "EPROTONOSUPPORT (Protocol not supported)"),
            Map.entry(95, "EOPNOTSUPP (Operation not supported)"),
            Map.entry(97, "EAFNOSUPPORT (Address family not supported by protocol)"),
            Map.entry(105, "ENOBUFS (No buffer space available)"));

    private Errno() {
    }

    /** e.g. {@code ENOENT (No such file or directory)}, or {@code errno 123}. */
    public static String describe(int errno) {
        return TEXT.getOrDefault(errno, "errno " + errno);
    }
}
