package io.switchboard.app.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;

/**
 * One JSON object per line, shaped like klog's JSON format ({@code ts} in Unix seconds, {@code v},
 * {@code msg}, {@code err}) plus {@code level}, {@code logger} and {@code thread}.
 */
public final class JsonLayout extends LayoutBase<ILoggingEvent> {
    @Override
    public String doLayout(ILoggingEvent event) {
        StringBuilder sb = new StringBuilder(160);
        long ms = event.getTimeStamp();
        sb.append("{\"ts\":").append(ms / 1000).append('.').append(String.format("%03d", ms % 1000));
        sb.append(",\"level\":\"").append(event.getLevel().toString().toLowerCase(java.util.Locale.ROOT)).append('"');
        sb.append(",\"v\":").append(event.getLevel().isGreaterOrEqual(Level.INFO) ? 0 : 4);
        sb.append(",\"logger\":");
        str(sb, event.getLoggerName());
        sb.append(",\"thread\":");
        str(sb, event.getThreadName());
        sb.append(",\"msg\":");
        str(sb, event.getFormattedMessage());
        IThrowableProxy t = event.getThrowableProxy();
        if (t != null) {
            sb.append(",\"err\":");
            str(sb, ThrowableProxyUtil.asString(t));
        }
        sb.append("}\n");
        return sb.toString();
    }

    private static void str(StringBuilder sb, String s) {
        Json.quote(sb, s);
    }
}
