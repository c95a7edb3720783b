/** The healthz ({@code /healthz}, {@code /livez}) and metrics ({@code /metrics}) HTTP servers. */
package io.switchboard.app.http;
