package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.Map;

/**
 * The {@code owl2j} command line. Each subcommand lives in its own class in this package and is listed in
 * {@code subcommands} below. User errors ({@link Owl2jException}) print as one line and exit 1; a stack trace
 * is shown only with {@code --debug}.
 */
@Command(name = "owl2j",
        mixinStandardHelpOptions = true,
        version = "owl2j 0.1.0",
        description = "Run mPLUG-Owl2 (vision-language model) in pure Java.",
        subcommands = {
                CommandLine.HelpCommand.class,
                PullCommand.class,
                RunCommand.class,
                ChatCommand.class,
                CaptionCommand.class,
                ScoreCommand.class,
                PreprocessCommand.class,
                InspectCommand.class,
                ConvertCommand.class,
                TokenizeCommand.class,
                ServeCommand.class,
                DevicesCommand.class,
                BenchCommand.class,
        })
public final class Owl2jCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The environment subcommands read (HF_TOKEN, OWL2J_HOME, ...); tests pass their own. */
    private Map<String, String> env = System.getenv();

    /** The environment variables this run sees. */
    public Map<String, String> env() {
        return env;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns the exit code (tests call this instead of main). */
    public static int execute(String... args) {
        return execute(System.getenv(), args);
    }

    /** Runs the CLI with {@code env} in place of the process environment (for tests). */
    public static int execute(Map<String, String> env, String... args) {
        boolean debug = java.util.Arrays.asList(args).contains("--debug");
        String[] rest = java.util.Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
        Owl2jCommand root = new Owl2jCommand();
        root.env = Map.copyOf(env);
        CommandLine cli = new CommandLine(root);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Throwable cause = ex;
            if (!(cause instanceof Owl2jException) && cause.getCause() instanceof Owl2jException o) {
                cause = o;
            }
            if (debug) {
                ex.printStackTrace(commandLine.getErr());
            }
            if (cause instanceof Owl2jException) {
                commandLine.getErr().println("owl2j: " + cause.getMessage());
            } else {
                commandLine.getErr().println("owl2j: internal error: " + cause
                        + (debug ? "" : " (run with --debug for details)"));
            }
            commandLine.getErr().flush();
            return 1;
        });
        try {
            return cli.execute(rest);
        } catch (OutOfMemoryError e) {
            // picocli hands Errors through; this one is a limit the user can raise, so it gets the one-line form
            if (debug) {
                e.printStackTrace(cli.getErr());
            }
            cli.getErr().println("owl2j: out of memory: " + e.getMessage()
                    + " (raise the heap with OWL2J_HEAP, the KV cache budget with OWL2J_JAVA_OPTS=-Dowl2j.kvCacheGiB=N)");
            cli.getErr().flush();
            return 1;
        }
    }
}
