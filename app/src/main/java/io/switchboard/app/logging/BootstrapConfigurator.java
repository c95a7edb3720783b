package io.switchboard.app.logging;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * Logback's first configuration, in code: klog lines on stderr, Switchboard at INFO, libraries at
 * WARN, until {@link LoggingSetup} applies the flags. Replaces a {@code logback.xml}, whose XML
 * parser and Joran interpreter loaded about 500 classes (metaspace and start time) to say the same.
 * A {@code logback-test.xml} on the class path (the test suites') still takes precedence.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class BootstrapConfigurator extends ContextAwareBase implements Configurator {
    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (getClass().getClassLoader().getResource("logback-test.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        LoggingSetup.configure(context, 0, "text");
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
