package io.switchboard.core.sync;

import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.NamespacedName;

/** Receives translated EndpointSlice events. Implementations do O(1) work and never block. */
public interface EndpointSliceHandler {
    void onSliceUpsert(EndpointSliceInfo slice);

    /** @param slice the slice's own namespace/name */
    void onSliceDelete(NamespacedName slice);

    /** The initial list of slices has been delivered. */
    void onSlicesSynced();
}
