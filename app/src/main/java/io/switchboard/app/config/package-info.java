/** Reading and validating the KubeProxyConfiguration file and flags into the core's config records. */
package io.switchboard.app.config;
