package io.switchboard.core.backend;

/** A sync (or cleanup) that did not reach the kernel; the previous state is still in place. */
public class SyncException extends Exception {
    private static final long serialVersionUID = 1L;

    public SyncException(String message) {
        super(message);
    }

    public SyncException(String message, Throwable cause) {
        super(message, cause);
    }
}
