package io.switchboard.app.testing;

import io.switchboard.core.backend.Availability;
import io.switchboard.core.backend.BackendContext;
import io.switchboard.core.backend.BackendProvider;
import io.switchboard.core.backend.ProxyBackend;
import io.switchboard.core.testing.RecordingBackend;

/** Test-only mode "recording": a backend that records snapshots, for wiring tests. */
public final class RecordingBackendProvider implements BackendProvider {
    public static volatile RecordingBackend last;

    @Override
    public String mode() {
        return "recording";
    }

    @Override
    public Availability probe(BackendContext context) {
        return Availability.AVAILABLE;
    }

    @Override
    public ProxyBackend create(BackendContext context) {
        last = new RecordingBackend();
        return last;
    }
}
