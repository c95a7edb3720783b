/**
 * Small collection helpers the sync path shares: sorted maps built and read in one forward pass,
 * so that a partial sync at 10,000 services does not pay a tree search per service.
 */
package io.switchboard.core.util;
