/** The validated configuration record tree (kube-proxy's KubeProxyConfiguration). */
package io.switchboard.core.config;
