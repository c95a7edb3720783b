package io.switchboard.backend.userspace;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.ServicePortName;

/**
 * One address a service port is reached at, and the local proxy port that serves it.
 *
 * @param name      the service port
 * @param ip        the cluster, external or load-balancer IP; null for the NodePort
 * @param port      the service port, or the node port when {@code ip} is null
 * @param proxyPort the local port the proxy listens on for this traffic
 * @param open      whether the port has endpoints: without, no portal is written and
 *                  traffic to a service IP is rejected instead
 */
public record Portal(ServicePortName name, IpAddress ip, int port, int proxyPort, boolean open) {
    public boolean nodePort() {
        return ip == null;
    }
}
