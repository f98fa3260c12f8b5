package dev.owl2j.runtime.cli;

import picocli.CommandLine.Help.Ansi;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The answers of the root command that need no parsing: {@code owl2j}, {@code owl2j --help} / {@code -h} /
 * {@code help} (the root's usage) and {@code owl2j -V} / {@code --version}. Building picocli's model of the root
 * command was most of what these cost (its classes are compiled for Java 5, so the JDK's AOT cache cannot keep
 * them linked, and they are read and verified from the jar on every start; see docs/startup.md). The usage text
 * is picocli's own output for the root, stored as a resource in both forms picocli prints (plain and with ANSI
 * styles); {@code RootHelpTest} fails when it differs from what picocli prints now, and says how to regenerate it.
 * Whether to colour is still picocli's decision ({@link Ansi#AUTO}: NO_COLOR, CLICOLOR_FORCE, a terminal, ...).
 */
final class RootHelp {
    /** The stored usage text, without and with ANSI styles; resources next to this class. */
    static final String PLAIN = "root-help.txt";
    static final String STYLED = "root-help.ansi.txt";

    private static final List<String> USAGE = List.of("-h", "--help", "help");
    private static final List<String> VERSION = List.of("-V", "--version");

    private RootHelp() {}

    /**
     * Prints the answer and returns true when {@code args} ask only for the root's usage or the version; returns
     * false (printing nothing) for anything else, which picocli then parses. Also false when picocli's usage width
     * is set ({@code -Dpicocli.usage.width}), which the stored text does not follow.
     */
    static boolean printIfAsked(String[] args, PrintStream out) {
        if (!answers(args)) return false;
        boolean version = args.length == 1 && VERSION.contains(args[0]);
        out.print(answer(args, !version && Ansi.AUTO.enabled()).replace("\n", System.lineSeparator()));
        out.flush();
        return true;
    }

    /** Whether {@code args} are one of the requests answered here. */
    static boolean answers(String[] args) {
        return System.getProperty("picocli.usage.width") == null && (args.length == 0
                || args.length == 1 && (USAGE.contains(args[0]) || VERSION.contains(args[0])));
    }

    /** What {@link #printIfAsked} prints for {@code args} (which {@link #answers}), coloured or not. */
    static String answer(String[] args, boolean coloured) {
        if (args.length == 1 && VERSION.contains(args[0])) return Owl2jCommand.VERSION + "\n";
        return stored(coloured ? STYLED : PLAIN);
    }

    /** A stored usage text ({@link #PLAIN} or {@link #STYLED}), with {@code \n} line ends. */
    static String stored(String name) {
        try (InputStream in = RootHelp.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("the build is missing the resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
