/**
 * Endpoint selection: readiness, terminating fallback, traffic policies and topology hints,
 * computed once by one pure function for every backend.
 */
package io.switchboard.core.topology;
