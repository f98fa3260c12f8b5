package dev.owl2j.runtime.model;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.Settings;
import dev.owl2j.model.checkpoint.ModelCheckpoint;
import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.image.ImagePreprocessor;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.Engines;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * A model ready to answer: the engine with its weights, the tokenizer, the image preprocessor and the
 * checkpoint's generation defaults. What run, chat, score and serve share.
 */
public final class LoadedModel implements AutoCloseable {
    private final String id;
    private final Path dir;
    private final ModelCheckpoint checkpoint;
    private final Engine engine;
    private final ImagePreprocessor preprocessor;
    private final boolean embeddedDefault;
    /** The tokenizer being read on a thread of its own while the weights load (null: read on first use). */
    private final FutureTask<Tokenizer> reading;
    private Tokenizer tokenizer;

    private LoadedModel(String id, Path dir, ModelCheckpoint checkpoint, Engine engine, boolean embeddedDefault,
                        FutureTask<Tokenizer> reading) {
        this.id = id;
        this.dir = dir;
        this.checkpoint = checkpoint;
        this.engine = engine;
        this.preprocessor = new ImagePreprocessor(checkpoint.preprocessor());
        this.embeddedDefault = embeddedDefault;
        this.reading = reading;
    }

    /** Loads what the options name; with no --model, the embedded default (and a notice on {@code log}). */
    public static LoadedModel open(ModelOptions options, PrintStream log) {
        Settings settings = Settings.fromSystem();
        if (options.threads != null) {
            if (options.threads < 1) {
                throw new Owl2jException("--threads must be at least 1");
            }
            settings = settings.withThreads(options.threads);
        }
        String backend = options.backendName();
        ModelOptions.Located located = ModelOptions.locate(options.model, log);
        Path dir = located.dir();
        String id = located.id();
        boolean isDefault = located.embeddedDefault();
        FutureTask<Tokenizer> reading = startReadingTokenizer(dir);
        ModelCheckpoint checkpoint = ModelCheckpoint.open(dir);
        try {
            dev.owl2j.model.format.TensorSource source = LoadProgress.wrap(checkpoint.tensors(),
                    weightBytes(checkpoint), "loading " + dir.getFileName());
            Engine engine = Engines.open(source, checkpoint.config(), backend, options.device, options.quantType(), settings);
            LoadProgress.finish(source);
            return new LoadedModel(id, dir, checkpoint, engine, isDefault, reading);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    /**
     * Every command that opens a model reads its tokenizer when it has one (run even with --prompt-ids, for the text
     * it prints), and reading the 32,000-entry vocabulary is as long as loading the embedded default model: so it
     * is read on a daemon thread of its own while the weights load (docs/startup.md). Whatever it throws is thrown
     * where the tokenizer is first asked for, as before.
     */
    private static FutureTask<Tokenizer> startReadingTokenizer(Path dir) {
        if (!hasTokenizerFile(dir)) {
            return null;
        }
        FutureTask<Tokenizer> task = new FutureTask<>(() -> Tokenizer.fromModelDir(dir));
        Thread thread = new Thread(task, "owl2j-tokenizer");
        thread.setDaemon(true);
        thread.start();
        return task;
    }

    private static boolean hasTokenizerFile(Path dir) {
        return Files.isRegularFile(dir.resolve("tokenizer.model")) || Files.isRegularFile(dir.resolve("tokenizer.json"));
    }

    private static long weightBytes(ModelCheckpoint checkpoint) {
        long total = 0;
        for (Path f : checkpoint.report().files()) {
            try {
                total += Files.size(f);
            } catch (java.io.IOException e) {
                // size unknown: no bar
            }
        }
        return total;
    }

    /** For tests and benchmarks: an engine built elsewhere with the files of {@code dir}. */
    public static LoadedModel of(String id, Path dir, ModelCheckpoint checkpoint, Engine engine) {
        return new LoadedModel(id, dir, checkpoint, engine, false, null);
    }

    public String id() {
        return id;
    }

    public Path dir() {
        return dir;
    }

    public Engine engine() {
        return engine;
    }

    public Owl2Config config() {
        return engine.config();
    }

    public ImagePreprocessor preprocessor() {
        return preprocessor;
    }

    public GenerationConfig generation() {
        return checkpoint.generation();
    }

    public boolean isEmbeddedDefault() {
        return embeddedDefault;
    }

    public boolean hasTokenizer() {
        return tokenizer != null || reading != null || hasTokenizerFile(dir);
    }

    /** The tokenizer, read on first use: a checkpoint without one still runs prompts given as ids. */
    public Tokenizer tokenizer() {
        return tokenizer("copy the release's tokenizer.model into it");
    }

    /** {@link #tokenizer()}, with {@code hint} saying what to do when the checkpoint has none. */
    public synchronized Tokenizer tokenizer(String hint) {
        if (tokenizer == null) {
            if (!hasTokenizer()) {
                throw new Owl2jException("model " + dir + " has no tokenizer.model or tokenizer.json: " + hint);
            }
            tokenizer = reading != null ? awaitTokenizer() : Tokenizer.fromModelDir(dir);
        }
        return tokenizer;
    }

    private Tokenizer awaitTokenizer() {
        try {
            return reading.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Owl2jException("interrupted while reading the tokenizer of " + dir);
        } catch (ExecutionException e) {
            // the reading thread's own exception (an Owl2jException for a bad file), as the caller would have got it
            switch (e.getCause()) {
                case RuntimeException r -> throw r;
                case Error err -> throw err;
                default -> throw new IllegalStateException(e.getCause());
            }
        }
    }

    public int eosId() {
        return generation().eosTokenId();
    }

    @Override
    public void close() {
        engine.close();
        checkpoint.close();
    }
}
