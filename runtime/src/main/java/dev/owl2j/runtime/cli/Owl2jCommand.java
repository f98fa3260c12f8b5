package dev.owl2j.runtime.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.List;
import java.util.Map;

/**
 * The {@code owl2j} command line. Each subcommand lives in its own class in this package and is listed in
 * {@link #COMMANDS}. Every failure prints as one line and exits 1 ({@link ErrorOutput}); a stack trace
 * is shown only with {@code --debug}.
 */
@Command(name = "owl2j",
        mixinStandardHelpOptions = true,
        version = Owl2jCommand.VERSION,
        description = "Run mPLUG-Owl2 (vision-language model) in pure Java.",
        footer = {"", "Every command takes --help. Errors print one line (owl2j: ...) and exit 1."})
public final class Owl2jCommand implements Runnable {
    /**
     * Every subcommand, in the order {@code owl2j --help} lists them; a new command is one line here. Only the
     * command that runs is built by picocli (its options read from the class): the others appear in the root's
     * help as their name and description alone, which cut the start-up work of every command (building all of
     * them was most of what {@code --help} did).
     */
    static final List<Class<?>> COMMANDS = List.of(
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
            KernelsCommand.class);

    /** What {@code -V} prints, for every command. */
    public static final String VERSION = "owl2j 0.1.0";

    /**
     * Never set by picocli ({@link #execute} takes {@code --debug} out first); declared so that every command's
     * help lists it.
     */
    @CommandLine.Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
            description = "On an error, also print its stack trace.")
    boolean debugForHelp;

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

    /**
     * The subcommand the arguments name: the first one that is not an option (the root takes no option values),
     * or the one after {@code help}.
     */
    static String commandNamed(List<String> args) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.startsWith("-")) continue;
            if (a.equals("help")) {
                for (int j = i + 1; j < args.size(); j++) {
                    if (!args.get(j).startsWith("-")) return args.get(j);
                }
                return null;
            }
            return a;
        }
        return null;
    }

    /** {@code help}, the named command in full, every other one by name and description. */
    private static void addCommands(CommandLine cli, String wanted) {
        cli.addSubcommand("help", new CommandLine.HelpCommand());
        for (Class<?> c : COMMANDS) {
            Command a = c.getAnnotation(Command.class);
            CommandLine sub;
            if (a.name().equals(wanted)) {
                sub = new CommandLine(c);
                sub.getCommandSpec().version(VERSION);
            } else {
                CommandLine.Model.CommandSpec stub = CommandLine.Model.CommandSpec.create().name(a.name());
                stub.usageMessage().description(a.description());
                sub = new CommandLine(stub);
            }
            cli.addSubcommand(a.name(), sub);
        }
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /**
     * Registers a subcommand that lives in a module runtime does not depend on (owl2j batch, in spark/, which
     * brings Spark), when it is the command that runs: the launcher puts that module on the class path for it.
     */
    private static void addIfPresent(CommandLine cli, String className) {
        try {
            CommandLine sub = new CommandLine(Class.forName(className).getDeclaredConstructor().newInstance());
            sub.getCommandSpec().version(VERSION);
            cli.addSubcommand(sub);
        } catch (ClassNotFoundException e) {
            // not built, or not on the class path: picocli then says the command is unknown
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create " + className, e);
        }
    }

    /** Runs the CLI and returns the exit code (tests call this instead of main). */
    public static int execute(String... args) {
        return execute(System.getenv(), args);
    }

    /**
     * Runs the CLI with {@code env} in place of the process environment (for tests). {@code --debug} is taken out
     * of the arguments before parsing (anywhere before a {@code --}), so that it works even when the rest does not
     * parse.
     */
    public static int execute(Map<String, String> env, String... args) {
        int end = java.util.Arrays.asList(args).indexOf("--");
        boolean debug = false;
        java.util.List<String> rest = new java.util.ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--debug") && (end < 0 || i < end)) {
                debug = true;
            } else {
                rest.add(args[i]);
            }
        }
        Owl2jCommand root = new Owl2jCommand();
        root.env = Map.copyOf(env);
        CommandLine cli = new CommandLine(root);
        String wanted = commandNamed(rest);
        addCommands(cli, wanted);
        if ("batch".equals(wanted)) {
            addIfPresent(cli, "dev.owl2j.spark.BatchCommand");
        }
        boolean withTrace = debug;
        cli.setParameterExceptionHandler((ex, badArgs) -> {
            if (withTrace) {
                ex.printStackTrace(cli.getErr());
            }
            cli.getErr().println(ErrorOutput.line(ErrorOutput.describe(ex)));
            cli.getErr().flush();
            return 1;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (withTrace) {
                ex.printStackTrace(commandLine.getErr());
            }
            commandLine.getErr().println(ErrorOutput.line(ErrorOutput.describe(ex, commandLine.getCommandSpec().qualifiedName())));
            commandLine.getErr().flush();
            return 1;
        });
        try {
            return cli.execute(rest.toArray(String[]::new));
        } catch (OutOfMemoryError e) {
            // picocli hands Errors through; this one is a limit the user can raise, so it gets the one-line form
            if (debug) {
                e.printStackTrace(cli.getErr());
            }
            cli.getErr().println(ErrorOutput.line("out of memory (" + e.getMessage()
                    + "): raise the heap with OWL2J_HEAP, the KV cache budget with OWL2J_JAVA_OPTS=-Dowl2j.kvCacheGiB=N"));
            cli.getErr().flush();
            return 1;
        } catch (StackOverflowError e) {
            if (debug) {
                e.printStackTrace(cli.getErr());
            }
            cli.getErr().println(ErrorOutput.line(ErrorOutput.describe(e, "owl2j")));
            cli.getErr().flush();
            return 1;
        }
    }
}
