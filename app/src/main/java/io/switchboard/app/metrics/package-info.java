/** kube-proxy's Prometheus metrics (exact names) plus JVM and process metrics. */
package io.switchboard.app.metrics;
