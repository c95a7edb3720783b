package io.switchboard.core.sync;

import io.switchboard.core.model.NodeInfo;

/** Receives the proxy's own Node. */
public interface NodeHandler {
    void onNode(NodeInfo node);
}
