package io.switchboard.app.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import org.slf4j.LoggerFactory;

/**
 * Configures Logback from {@code --v} and {@code --logging-format}. Verbosity follows klog's
 * habits: 0-1 INFO, 2-3 DEBUG for Switchboard, 4+ TRACE for Switchboard; libraries stay at WARN
 * until 6, then INFO (8+: DEBUG).
 */
public final class LoggingSetup {
    private LoggingSetup() {
    }

    public static void configure(int verbosity, String format) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ctx.reset();
        configure(ctx, verbosity, format);
    }

    static void configure(LoggerContext ctx, int verbosity, String format) {
        LayoutBase<ILoggingEvent> layout = "json".equals(format) ? new JsonLayout() : new KlogLayout();
        layout.setContext(ctx);
        layout.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(ctx);
        encoder.setLayout(layout);
        encoder.start();
        ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
        appender.setContext(ctx);
        appender.setName("stderr");
        appender.setTarget("System.err");
        appender.setEncoder(encoder);
        appender.start();
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(appender);
        root.setLevel(verbosity >= 8 ? Level.DEBUG : verbosity >= 6 ? Level.INFO : Level.WARN);
        ctx.getLogger("io.switchboard").setLevel(levelFor(verbosity));
    }

    static Level levelFor(int verbosity) {
        if (verbosity >= 4) {
            return Level.TRACE;
        }
        if (verbosity >= 2) {
            return Level.DEBUG;
        }
        return Level.INFO;
    }
}
