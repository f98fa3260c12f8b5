package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.CheckpointReport;
import dev.owl2j.model.checkpoint.ModelCheckpoint;
import dev.owl2j.runtime.model.ModelOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code owl2j inspect [--model DIR|ID] [--output json] [--strict]}: what a checkpoint holds and whether it is complete. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a checkpoint's format, files, dtypes, parameters per component and missing/unexpected tensors.")
public final class InspectCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR|ID", description = ModelOptions.MODEL_HELP)
    String model;

    @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "text", description = "text or json (default: ${DEFAULT-VALUE}).")
    String output;

    @Option(names = "--strict", description = "Fail when the checkpoint holds tensors the config does not expect.")
    boolean strict;

    @Override
    public Integer call() {
        if (!output.equals("text") && !output.equals("json")) {
            throw new Owl2jException("--output must be text or json, got " + output);
        }
        Path dir = ModelOptions.locate(model, System.err).dir();
        try (ModelCheckpoint mc = ModelCheckpoint.open(dir, strict)) {
            CheckpointReport r = mc.report();
            PrintWriter out = spec.commandLine().getOut();
            if (output.equals("json")) {
                out.println(r.toJson());
            } else {
                out.println("model: " + mc.dir().toAbsolutePath());
                out.print(r.toText());
            }
            out.flush();
        }
        return 0;
    }
}
