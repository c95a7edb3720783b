/** The metrics interface the core and backends report to; implemented at the application edge. */
package io.switchboard.core.metrics;
