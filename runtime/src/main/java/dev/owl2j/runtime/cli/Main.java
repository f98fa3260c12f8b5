package dev.owl2j.runtime.cli;

/**
 * The {@code owl2j} launcher's entry point. The root's usage and version ({@code owl2j}, {@code --help},
 * {@code -V}, ...) come from {@link RootHelp} without loading the command classes or building picocli's model;
 * everything else is {@link Owl2jCommand}.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        if (!RootHelp.printIfAsked(args, System.out)) {
            Owl2jCommand.main(args);
        }
    }
}
