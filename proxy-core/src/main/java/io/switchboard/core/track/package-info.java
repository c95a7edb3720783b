/**
 * Change trackers: per-object pending changes between syncs (first previous, last current,
 * self-reverting changes dropped), merged into service-port and endpoint maps at checkout.
 */
package io.switchboard.core.track;
