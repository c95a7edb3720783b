/**
 * The sync loop: the immutable {@link io.switchboard.core.sync.ProxySnapshot}, the bounded-frequency
 * runner and the controller that turns tracked changes into backend syncs.
 */
package io.switchboard.core.sync;
