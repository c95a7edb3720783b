/**
 * Operator tools over the live kernel state: {@code switchboard explain} (the path a new connection
 * takes through the rules) and {@code switchboard services} (every service port as programmed).
 * Pure: rule text in, plain words or JSON out; the commands read the kernel and print.
 */
package io.switchboard.app.inspect;
