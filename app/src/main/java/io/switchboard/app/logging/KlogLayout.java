package io.switchboard.app.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * klog's one-line header, so log tooling written for kube-proxy keeps working:
 * {@code Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg}. The "file" is the logger's simple class
 * name (Java has no cheap caller lookup) and the thread id is the process id, as klog prints.
 */
public final class KlogLayout extends LayoutBase<ILoggingEvent> {
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("MMdd HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);
    private static final String PID = String.format("%7d", ProcessHandle.current().pid());

    @Override
    public String doLayout(ILoggingEvent event) {
        StringBuilder sb = new StringBuilder(128);
        sb.append(letter(event.getLevel())).append(TS.format(event.getInstant())).append(' ').append(PID).append(' ');
        String logger = event.getLoggerName();
        sb.append(logger.substring(logger.lastIndexOf('.') + 1)).append("] ");
        sb.append(event.getFormattedMessage());
        sb.append('\n');
        IThrowableProxy t = event.getThrowableProxy();
        if (t != null) {
            sb.append(ThrowableProxyUtil.asString(t)).append('\n');
        }
        return sb.toString();
    }

    static char letter(Level level) {
        if (level.isGreaterOrEqual(Level.ERROR)) {
            return 'E';
        }
        if (level.isGreaterOrEqual(Level.WARN)) {
            return 'W';
        }
        return 'I';
    }
}
