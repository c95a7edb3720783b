package io.switchboard.app;

import picocli.CommandLine;

/** Entry point of the {@code switchboard} command. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Parses and runs; bad flags exit with 1 (as kube-proxy does), not picocli's default 2. */
    public static int execute(String... args) {
        CommandLine cl = commandLine();
        return cl.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new SwitchboardCommand());
        // kube-proxy's flag parser lets the last of a repeated flag win (list flags accumulate)
        cl.setOverwrittenOptionsAllowed(true);
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("switchboard: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Run 'switchboard --help' for usage.");
            return 1;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("switchboard: " + ex.getMessage());
            return 1;
        });
        return cl;
    }

    /** The version from the jar manifest, or "dev" when run from classes. */
    public static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
