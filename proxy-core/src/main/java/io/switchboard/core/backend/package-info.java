/**
 * The backend SPI: {@code sync(snapshot)}, {@code cleanup()}, {@code shutdown(grace)}, and a
 * provider that probes availability and says why a mode cannot run here.
 */
package io.switchboard.core.backend;
