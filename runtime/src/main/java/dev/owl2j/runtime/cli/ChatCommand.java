package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.tokenizer.ChatTemplate;
import dev.owl2j.model.tokenizer.PromptTokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.GenerationStats;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ImageFiles;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.runtime.model.Prompts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code owl2j chat}: a multi-turn conversation on one KV cache. Each new turn is appended to the cache (the
 * previous answer, its EOS, then the next "USER: ... ASSISTANT:"), so earlier turns are never recomputed.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Interactive multi-turn chat. Commands: /image FILE (attach to the next message), /reset, /exit.")
public final class ChatCommand implements Callable<Integer> {
    /** What chat, caption and score say about a checkpoint without a tokenizer (they take text, never ids). */
    static final String TOKENIZER_HINT = "this command needs one (copy the release's tokenizer.model into the folder,"
            + " or use 'owl2j run --prompt-ids')";

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    SamplingOptions sampling;

    @Option(names = {"--image", "-i"}, paramLabel = "FILE", description = "Images attached to the first message.")
    List<Path> images = new ArrayList<>();

    @Option(names = "--aspect", paramLabel = "pad|resize|crop", defaultValue = "pad",
            description = "How a non-square image becomes square: pad (to a square in the mean colour), resize (stretch) or crop (centre) (default: ${DEFAULT-VALUE}).")
    String aspect;

    @Option(names = "--stats", description = "Print speed figures after each answer (stderr).")
    boolean stats;

    @Override
    public Integer call() throws IOException {
        AspectMode mode = AspectMode.parse(aspect);
        sampling.check();
        ImageFiles.check(images);
        PrintStream out = System.out;
        PrintStream err = System.err;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (LoadedModel model = LoadedModel.open(modelOptions, err)) {
            PromptTokenizer prompts = new PromptTokenizer(model.tokenizer(TOKENIZER_HINT));
            List<Path> pending = new ArrayList<>();
            for (Path p : images) pending.add(checkImage(p));
            Conversation conv = new Conversation(model);
            err.println("owl2j chat: " + model.engine().description() + ". Type a message; /image FILE, /reset, /exit.");
            while (true) {
                out.print("USER: ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit") || line.strip().equals("/quit")) {
                    break;
                }
                line = line.strip();
                if (line.isEmpty()) continue;
                if (line.startsWith("/image ")) {
                    try {
                        pending.add(checkImage(imagePath(line.substring(7).strip())));
                        err.println("(image attached to your next message)");
                    } catch (Owl2jException e) {
                        err.println(ErrorOutput.line(e.getMessage()));
                    }
                    continue;
                }
                if (line.equals("/reset")) {
                    conv.close();
                    conv = new Conversation(model);
                    pending.clear();
                    err.println("(conversation cleared)");
                    continue;
                }
                if (line.startsWith("/")) {
                    err.println(ErrorOutput.line("unknown command " + line.split("\\s+")[0] + " (use /image FILE, /reset, /exit)"));
                    continue;
                }
                String message = PromptTokenizer.countImages(line) > 0 ? line
                        : PromptTokenizer.IMAGE_MARKER.repeat(pending.size()) + line;
                out.print("ASSISTANT:");
                out.flush();
                try {
                    GenerationStats st = conv.turn(prompts, message, pending, mode, sampling, (id, delta) -> {
                        out.print(delta);
                        out.flush();
                    });
                    pending.clear();
                    out.println();
                    if (stats) err.println(st.format());
                } catch (Owl2jException e) {
                    out.println();
                    err.println(ErrorOutput.line(e.getMessage()));
                }
            }
            conv.close();
        }
        return 0;
    }

    private static Path checkImage(Path p) {
        ImageFiles.check(p);
        return p;
    }

    private static Path imagePath(String typed) {
        try {
            return Path.of(typed);
        } catch (java.nio.file.InvalidPathException e) {
            throw new Owl2jException("not a file name: " + typed);
        }
    }

    /** One conversation: its KV cache and what has been fed into it. */
    static final class Conversation implements AutoCloseable {
        private final LoadedModel model;
        private final Engine.Session session;
        /** Tokens generated last turn and not yet fed back (the last one, when generation stopped on a limit). */
        private int[] unfed = new int[0];
        private boolean started;

        Conversation(LoadedModel model) {
            this.model = model;
            this.session = model.engine().newSession();
        }

        GenerationStats turn(PromptTokenizer prompts, String message, List<Path> images, AspectMode mode,
                             SamplingOptions sampling, Generator.Listener listener) {
            int[] ids;
            if (!started) {
                ids = prompts.encode(ChatTemplate.singleTurn(message));
            } else {
                // the chat template: "... ASSISTANT: A1</s>USER: Q2 ASSISTANT:" — the answer is in the cache already
                int[] next = prompts.encodeContinuation(ChatTemplate.nextTurn(message));
                ids = new int[unfed.length + 1 + next.length];
                System.arraycopy(unfed, 0, ids, 0, unfed.length);
                ids[unfed.length] = model.eosId();
                System.arraycopy(next, 0, ids, unfed.length + 1, next.length);
            }
            Prompts.validate(model.config(), ids, images.size(), session.position());
            Prompts.EncodedImages encoded = Prompts.encode(model, images, mode);
            long t0 = System.nanoTime();
            int before = session.position();
            float[] logits;
            try (encoded) {
                logits = session.prefillEncoded(ids, encoded.tokens());
            }
            double prefillMs = (System.nanoTime() - t0) / 1e6;
            started = true;
            long t1 = System.nanoTime();
            int start = session.position();
            Generator.Result r = Generator.generate(session, ids, logits, sampling.toParams(model.generation(), model.tokenizer()), model.eosId(),
                    Texts.stream(model.tokenizer()), listener, null);
            int fed = session.position() - start;
            unfed = java.util.Arrays.copyOfRange(r.tokens(), fed, r.tokens().length);
            return new GenerationStats(encoded.millis(), images.size(), start - before, prefillMs, r.tokens().length,
                    (System.nanoTime() - t1) / 1e6, GenerationStats.peakRss());
        }

        @Override
        public void close() {
            session.close();
        }
    }
}
