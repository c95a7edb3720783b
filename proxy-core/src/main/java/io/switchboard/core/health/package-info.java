/** Health state with kube-proxy's {@code /healthz} and {@code /livez} semantics, on an injected clock. */
package io.switchboard.core.health;
