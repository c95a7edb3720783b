package io.switchboard.netfilter.netlink;

import java.io.IOException;

/** The kernel answered a request with an errno. */
public final class NetlinkException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int errno;
    private final int seq;

    public NetlinkException(String what, int errno, int seq) {
        super(what + ": " + Errno.describe(errno));
        this.errno = errno;
        this.seq = seq;
    }

    /** The positive errno. */
    public int errno() {
        return errno;
    }

    /** The sequence number of the failing request. */
    public int seq() {
        return seq;
    }
}
