package io.switchboard.core.sync;

import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.ServiceInfo;

/** Receives translated Service events. Implementations do O(1) work and never block. */
public interface ServiceHandler {
    /** A service was added or updated. */
    void onServiceUpsert(ServiceInfo service);

    /** A service was deleted, or is no longer proxied (e.g. became headless or ExternalName). */
    void onServiceDelete(NamespacedName service);

    /** The initial list of services has been delivered. */
    void onServicesSynced();
}
