/** JMH benchmarks and scale harnesses; run on demand, never as tests. */
package io.switchboard.benchmarks;
