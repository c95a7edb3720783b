/** klog-style and JSON log layouts and verbosity handling on Logback. */
package io.switchboard.app.logging;
