package io.switchboard.core.backend;

/**
 * Creates backends for one {@code --proxy-mode}. Found with {@link java.util.ServiceLoader}, so the
 * application never imports a backend module.
 */
public interface BackendProvider {
    /** The {@code --proxy-mode} value this provider serves. */
    String mode();

    /** Probes kernel support and tools once, before anything is created. */
    Availability probe(BackendContext context);

    /** Creates the backend; only called after {@link #probe} said it is available. */
    ProxyBackend create(BackendContext context);
}
