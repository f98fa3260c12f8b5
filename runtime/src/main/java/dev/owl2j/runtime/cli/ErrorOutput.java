package dev.owl2j.runtime.cli;

import dev.owl2j.kernels.DeviceException;
import dev.owl2j.model.Owl2jException;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a user sees when something goes wrong: one line, {@code owl2j: <message>}, for every kind of failure.
 * Every message that reaches a terminal passes through {@link #line}, which escapes control characters (a file
 * name or a hub answer may hold a newline, an ANSI escape or a NUL byte, and none of them may break the line or
 * drive the terminal); internal exception class names are never shown, only with {@code --debug} in the stack
 * trace.
 */
public final class ErrorOutput {
    private ErrorOutput() {}

    /** {@code "owl2j: " + message}, escaped, on one line. */
    public static String line(String message) {
        return "owl2j: " + escape(message);
    }

    /**
     * Control characters (C0, DEL, C1), Unicode format characters (bidirectional overrides, zero-width ones) and
     * line or paragraph separators as visible escapes: {@code \n}, {@code \t}, {@code \r}, {@code \0}, else
     * a hex escape such as {@code \x1b} (four hex digits after a backslash and 'u' above U+00FF). A backslash stays as it is: the output is for reading, not for parsing.
     */
    public static String escape(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (needsEscape(cp)) {
                b.append(escapeChar(cp));
            } else {
                b.appendCodePoint(cp);
            }
            i += n;
        }
        return b.toString();
    }

    private static boolean needsEscape(int cp) {
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            return true;
        }
        int type = Character.getType(cp);
        // a surrogate here is an unpaired one (codePointAt joins pairs)
        return type == Character.FORMAT || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
                || type == Character.SURROGATE;
    }

    private static String escapeChar(int c) {
        return switch (c) {
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            case 0 -> "\\0";
            default -> c < 0x100 ? String.format(Locale.ROOT, "\\x%02x", c)
                    : c < 0x10000 ? String.format(Locale.ROOT, "\\u%04x", c) : String.format(Locale.ROOT, "\\U%08x", c);
        };
    }

    /**
     * The message for a failure while a command ran. User errors ({@link Owl2jException}) say what is wrong
     * themselves; file-system and device failures name the file or the device and the system's reason; anything
     * else is a bug in Owl2J, said as such.
     */
    public static String describe(Throwable t, String command) {
        Throwable e = unwrap(t);
        if (e instanceof Owl2jException) {
            return e.getMessage();
        }
        if (e instanceof UncheckedIOException u && u.getCause() != null) {
            e = u.getCause();
        }
        if (e instanceof NoSuchFileException f) {
            return "no such file or directory: " + f.getFile();
        }
        if (e instanceof AccessDeniedException f) {
            return "permission denied: " + f.getFile();
        }
        if (e instanceof FileSystemException f) {
            return (f.getFile() == null ? "" : f.getFile() + ": ") + (f.getReason() == null ? "file system error" : f.getReason());
        }
        if (e instanceof IOException io) {
            return "input/output error" + (io.getMessage() == null ? "" : ": " + io.getMessage());
        }
        if (e instanceof DeviceException d) {
            String m = d.getMessage() == null ? "" : d.getMessage();
            int nl = m.indexOf('\n');
            return "device error: " + (nl < 0 ? m : m.substring(0, nl) + " (the full log: run with --debug)");
        }
        if (e instanceof StackOverflowError) {
            return "internal error in " + command + ": the input is nested too deeply to process";
        }
        return "internal error in " + command + " (a bug in Owl2J; run again with --debug to see where, and please report it)";
    }

    /** The user error inside wrappers (picocli's execution exception, a worker's ExecutionException). */
    private static Throwable unwrap(Throwable t) {
        Throwable e = t;
        for (int i = 0; i < 8 && e != null; i++) {
            if (e instanceof Owl2jException) {
                return e;
            }
            e = e.getCause();
        }
        return t instanceof CommandLine.ExecutionException && t.getCause() != null ? t.getCause() : t;
    }

    /**
     * One line for a command line that picocli could not parse, naming the option, what it expects and where the
     * full help is.
     */
    public static String describe(CommandLine.ParameterException ex) {
        String help = "see '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'";
        return parseProblem(ex) + "; " + help;
    }

    private static String parseProblem(CommandLine.ParameterException ex) {
        if (ex instanceof CommandLine.UnmatchedArgumentException u) {
            List<String> parts = new ArrayList<>();
            for (String arg : u.getUnmatched()) {
                parts.add(arg.startsWith("-") ? "unknown option '" + arg + "'" : "unexpected argument '" + arg + "'");
            }
            String s = parts.isEmpty() ? "unexpected argument" : String.join(", ", parts);
            List<String> suggestions = u.getSuggestions();
            if (!suggestions.isEmpty()) {
                s += " (did you mean " + String.join(" or ", suggestions.subList(0, Math.min(3, suggestions.size()))) + "?)";
            }
            return s;
        }
        if (ex instanceof CommandLine.MissingParameterException m && !m.getMissing().isEmpty()) {
            List<String> names = new ArrayList<>();
            for (ArgSpec a : m.getMissing()) {
                names.add(a instanceof OptionSpec o ? o.longestName() + " " + o.paramLabel() : a.paramLabel());
            }
            boolean oneOf = m.getMissing().stream().allMatch(a -> a.group() != null && a.group().exclusive())
                    && names.size() > 1;
            String list = oneOf
                    ? "one of " + String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast()
                    : String.join(" and ", names);
            return ex.getCommandLine().getCommandName() + " needs " + list;
        }
        ArgSpec arg = ex.getArgSpec();
        String value = ex.getValue();
        String message = ex.getMessage() == null ? "" : ex.getMessage();
        if (arg instanceof OptionSpec o && value != null && message.startsWith("Invalid value")) {
            return o.longestName() + " takes " + expected(o) + ", not '" + value + "'";
        }
        if (arg != null && !(arg instanceof OptionSpec) && value != null && message.startsWith("Invalid value")) {
            return arg.paramLabel() + " must be " + expected(arg) + ", not '" + value + "'";
        }
        String first = message.startsWith("Error: ") ? message.substring(7) : message;
        String joined = first.lines().map(String::strip).filter(l -> !l.isEmpty()).reduce((a, b) -> a + "; " + b)
                .orElse("bad command line");
        return joined.endsWith(".") ? joined.substring(0, joined.length() - 1) : joined;
    }

    /** What a value of the option's type looks like, with its label (N, T, FILE, ...). */
    private static String expected(ArgSpec a) {
        Class<?> type = a.type();
        String label = a.paramLabel();
        if (type == int.class || type == Integer.class) {
            return label + ", a whole number up to " + Integer.MAX_VALUE;
        }
        if (type == long.class || type == Long.class) {
            return label + ", a whole number up to " + Long.MAX_VALUE;
        }
        if (type == double.class || type == Double.class || type == float.class || type == Float.class) {
            return label + ", a number such as 0.7";
        }
        if (type.isEnum()) {
            List<String> names = new ArrayList<>();
            for (Object c : type.getEnumConstants()) names.add(c.toString().toLowerCase(Locale.ROOT));
            return "one of " + String.join(", ", names);
        }
        return label;
    }
}
