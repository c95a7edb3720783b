/**
 * The {@code switchboard} command: kube-proxy's flags and config file, wiring of informers, core
 * and backend, and the healthz and metrics HTTP servers.
 */
package io.switchboard.app;
