package dev.owl2j.spark;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.model.ModelOptions;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code owl2j batch}: caption, ask or score every row of an image table on Spark. From the owl2j launcher Spark
 * runs in this JVM ({@code --master local[*]} unless told otherwise); under spark-submit this class is the main
 * class of target/owl2j-spark-job.jar and the cluster's master applies (docs/batch.md).
 */
@Command(name = "batch", mixinStandardHelpOptions = true,
        description = "Caption, ask or score every row of an image table (Parquet, JSON lines, CSV or a folder of images) on Apache Spark.")
public final class BatchCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--task", required = true, paramLabel = "caption|ask|score",
            description = "caption: the caption prompt of owl2j caption (greedy); ask: a prompt per row or --prompt; score: log-probabilities of the --candidate answers.")
    String task;

    @Option(names = "--input", required = true, paramLabel = "TABLE|DIR", description = "A Parquet, JSON lines or CSV table, or a folder of images; a path or URI.")
    String input;

    @Option(names = "--input-format", defaultValue = "auto", paramLabel = "auto|parquet|json|csv|images",
            description = "Default: from the name (*.parquet, *.json, *.jsonl, *.csv; a folder of such files), else a folder of images.")
    String inputFormat;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "The output folder (must not exist).")
    String output;

    @Option(names = "--format", defaultValue = "parquet", paramLabel = "parquet|json", description = "Output format (default: ${DEFAULT-VALUE}; json = JSON lines).")
    String format;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: local[*], or the one spark-submit gives).")
    String master;

    @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "A Spark setting (repeatable), e.g. --conf spark.executor.memory=12g.")
    List<String> conf = new ArrayList<>();

    @Option(names = "--id-column", defaultValue = "id", paramLabel = "NAME", description = "Default: ${DEFAULT-VALUE}.")
    String idColumn;

    @Option(names = "--image-column", defaultValue = "image", paramLabel = "NAME", description = "Path/URI (string) or bytes (binary); default: ${DEFAULT-VALUE}.")
    String imageColumn;

    @Option(names = "--prompt-column", defaultValue = "prompt", paramLabel = "NAME", description = "Text, or token ids (array of integers, -200 = the image); default: ${DEFAULT-VALUE}.")
    String promptColumn;

    @Option(names = "--keep", paramLabel = "COLUMN", description = "An input column to copy to the output after the id (repeatable).")
    List<String> keep = new ArrayList<>();

    @Option(names = {"--prompt", "-p"}, paramLabel = "TEXT", description = "ask/score: one prompt for every row (instead of the prompt column).")
    String prompt;

    @Option(names = "--raw", description = "Use prompts as given, without the chat template.")
    boolean raw;

    @Option(names = {"--candidate", "-c", "--candidates"}, arity = "1..*", paramLabel = "TEXT", description = "score: a candidate answer (repeatable), e.g. -c ' good' -c ' poor'.")
    List<String> candidates = new ArrayList<>();

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "Default: 60 for caption (as owl2j caption), 512 for ask (as owl2j run).")
    Integer maxNewTokens;

    @Option(names = "--min-new-tokens", paramLabel = "N", description = "EOS is not allowed before this many tokens (default: 8 for caption, 0 for ask).")
    Integer minNewTokens;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "50", paramLabel = "K", description = "0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling (default: generation_config.json's top_p, else 1).")
    Double topP;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "Each row samples with a generator seeded from this and its id (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--aspect", paramLabel = "pad|resize|crop", description = "How a non-square image becomes square (default: resize for caption, as owl2j caption; pad otherwise).")
    String aspect;

    @Option(names = "--max-batch", defaultValue = "16", paramLabel = "N", description = "Rows decoded together per task (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--partitions", defaultValue = "0", paramLabel = "N",
            description = "Partitions the rows are placed in by id (default: one per " + BatchJob.ROWS_PER_PARTITION + " rows).")
    int partitions;

    @Override
    public Integer call() {
        BatchSettings settings = settings();
        BatchJob.Io io = new BatchJob.Io(input, inputFormat.toLowerCase(Locale.ROOT), output, format.toLowerCase(Locale.ROOT),
                idColumn, imageColumn, promptColumn, keep, partitions);
        boolean inProcess = master != null || System.getProperty("spark.master") == null;
        if (inProcess && System.getProperty("log4j2.configurationFile") == null) {
            // Spark's own default logs every stage at INFO; in a terminal only warnings and the progress line show
            System.setProperty("log4j2.configurationFile", "classpath:owl2j-batch-log4j2.properties");
        }
        SparkSession.Builder builder = SparkSession.builder().appName("owl2j batch");
        if (inProcess) {
            builder.master(master != null ? master : "local[*]")
                    .config("spark.ui.enabled", "false")
                    .config("spark.executor.heartbeatInterval", "2s"); // the progress line's update rate
        }
        for (String kv : conf) {
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new Owl2jException("--conf takes KEY=VALUE, got '" + kv + "'");
            builder.config(kv.substring(0, eq), kv.substring(eq + 1));
        }
        // a session this JVM already runs (a test, a notebook) is used and left running
        boolean ours = SparkSession.getActiveSession().isEmpty() && SparkSession.getDefaultSession().isEmpty();
        SparkSession spark = builder.getOrCreate();
        try {
            BatchJob.Summary s = BatchJob.run(spark, settings, io, System.err);
            System.out.printf(Locale.ROOT, "owl2j batch: %d rows (%d with an error) written to %s in %.1f s, %.3f rows/s%n",
                    s.rows(), s.errors(), output, s.seconds(), s.rowsPerSecond());
            System.out.flush();
        } catch (Exception e) {
            // Spark's own refusals (a path that does not exist, an unreadable table) are user errors; Scala throws
            // them without declaring them
            if (e instanceof org.apache.spark.sql.AnalysisException) throw new Owl2jException(firstLine(e.getMessage()), e);
            if (e instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e);
        } finally {
            if (ours) spark.stop();
        }
        return 0;
    }

    /** The settings the executors get, with the task's defaults filled in and the model's folder made absolute. */
    BatchSettings settings() {
        BatchSettings.Task t = BatchSettings.Task.parse(task);
        boolean caption = t == BatchSettings.Task.CAPTION;
        if (caption && prompt != null) throw new Owl2jException("--prompt is for ask and score; caption uses the caption prompt");
        String model = modelOptions.model;
        if (model != null && !model.isBlank() && Files.isDirectory(Path.of(model))) {
            model = Path.of(model).toAbsolutePath().normalize().toString();
        }
        modelOptions.backendName();
        ModelOptions.parseQuant(modelOptions.quant);
        if (modelOptions.threads != null && modelOptions.threads < 1) throw new Owl2jException("--threads must be at least 1");
        BatchSettings.ModelKey key = new BatchSettings.ModelKey(model, modelOptions.backendName(), modelOptions.device,
                modelOptions.quant, modelOptions.threads);
        return new BatchSettings(t, key, prompt, raw, candidates,
                maxNewTokens != null ? maxNewTokens : caption ? 60 : 512,
                minNewTokens != null ? minNewTokens : caption ? 8 : 0,
                temperature, topK, topP, seed, aspect != null ? aspect : caption ? "resize" : "pad", maxBatch);
    }

    private static String firstLine(String s) {
        if (s == null) return "Spark refused the job";
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).strip();
    }

    /** spark-submit's entry point: the same options; errors print one line and exit 1, as owl2j's. */
    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new BatchCommand());
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Throwable cause = ex instanceof Owl2jException || !(ex.getCause() instanceof Owl2jException) ? ex : ex.getCause();
            commandLine.getErr().println("owl2j: " + (cause instanceof Owl2jException ? cause.getMessage() : "internal error: " + cause));
            if (Boolean.getBoolean("owl2j.debug")) ex.printStackTrace(commandLine.getErr());
            return 1;
        });
        System.exit(cli.execute(args));
    }
}
