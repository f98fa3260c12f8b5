package dev.owl2j.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.format.SafetensorsWriter;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.io.SafeFileWriter;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import dev.owl2j.model.tokenizer.ChatTemplate;
import dev.owl2j.model.tokenizer.PromptTokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.GenerationStats;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.TextStream;
import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ImageFiles;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.runtime.model.Prompts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code owl2j run}: one question about zero or more images, the answer streamed as it is generated. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Answer one prompt about images (each <|image|> in the prompt takes the next --image).")
public final class RunCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    SamplingOptions sampling;

    @Option(names = {"--image", "-i"}, paramLabel = "FILE", description = "An image, in the order of the <|image|> markers.")
    List<Path> images = new java.util.ArrayList<>();

    @Option(names = {"--prompt", "-p"}, paramLabel = "TEXT", description = "The question; the chat template is applied unless --raw. Without any <|image|> marker, the images go at its start.")
    String prompt;

    @Option(names = "--raw", description = "Tokenize the prompt as given, without the chat template.")
    boolean raw;

    @Option(names = "--prompt-ids", paramLabel = "IDS", description = "The prompt as token ids, e.g. 1,3148,1001,-200,... (-200 = next image).")
    String promptIds;

    @Option(names = "--aspect", paramLabel = "pad|resize|crop", defaultValue = "pad",
            description = "How a non-square image becomes square: pad (to a square in the mean colour), resize (stretch) or crop (centre) (default: ${DEFAULT-VALUE}).")
    String aspect;

    @Option(names = "--output", paramLabel = "text|json", defaultValue = "text",
            description = "text: stream the answer; json: one line {\"ids\",\"text\",\"finish_reason\",\"stats\"} at the end.")
    String output;

    @Option(names = "--stats", description = "Print image-encode, prefill and decode speed and peak memory (stderr).")
    boolean stats;

    @Option(names = "--dump-logits", paramLabel = "FILE.safetensors",
            description = "Write the logits of the last prompt position (tensor 'logits', F32 [vocab]); replaces only a regular file, in a directory that exists.")
    Path dumpLogits;

    @Override
    public Integer call() {
        boolean json = switch (output) {
            case "json" -> true;
            case "text" -> false;
            default -> throw new Owl2jException("unknown --output '" + output + "': use text or json");
        };
        if ((prompt == null) == (promptIds == null)) {
            throw new Owl2jException("give exactly one of --prompt TEXT or --prompt-ids IDS");
        }
        AspectMode mode = AspectMode.parse(aspect);
        sampling.check();
        if (dumpLogits != null) {
            SafeFileWriter.checkTarget(dumpLogits); // before the model loads, not after the prefill
        }
        ImageFiles.check(images);
        PrintStream out = System.out;
        PrintStream err = System.err;
        try (LoadedModel model = LoadedModel.open(modelOptions, err)) {
            int[] ids = promptIds != null ? Prompts.parseIds(promptIds)
                    : new PromptTokenizer(model.tokenizer("give the prompt as token ids with --prompt-ids")).encode(raw ? prompt : ChatTemplate.singleTurn(withMarkers(prompt)));
            Prompts.validate(model.config(), ids, images.size(), 0);
            SamplingParams params = sampling.toParams(model.generation(), model.hasTokenizer() ? model.tokenizer() : null);

            Prompts.EncodedImages encoded = Prompts.encode(model, images, mode);
            Engine.Session session = model.engine().newSession();
            long t0 = System.nanoTime();
            float[] logits;
            try (encoded) {
                logits = session.prefillEncoded(ids, encoded.tokens());
            }
            double prefillMs = (System.nanoTime() - t0) / 1e6;
            // read now: generation feeds back every token but the last, so the position afterwards is no measure
            int promptPositions = session.position();
            if (dumpLogits != null) {
                writeLogits(dumpLogits, logits);
            }
            TextStream text = model.hasTokenizer() ? Texts.stream(model.tokenizer()) : Texts.none();
            Generator.Listener listener = json ? null : (id, delta) -> {
                out.print(delta);
                out.flush();
            };
            long t1 = System.nanoTime();
            Generator.Result result = Generator.generate(session, ids, logits, params, model.eosId(), text, listener, null);
            double decodeMs = (System.nanoTime() - t1) / 1e6;
            GenerationStats st = new GenerationStats(encoded.millis(), images.size(), promptPositions, prefillMs,
                    result.tokens().length, decodeMs, GenerationStats.peakRss());
            if (json) {
                out.println(toJson(result, st));
            } else {
                if (!model.hasTokenizer()) {
                    out.print(Texts.idList(result.tokens()));
                }
                out.println();
                if (stats) {
                    err.println(st.format() + " | " + model.engine().description());
                }
            }
            out.flush();
        }
        return 0;
    }

    /**
     * As the original command line does, a question without any {@code <|image|>} gets the markers of all images
     * at its start (the chat template); once the user places markers, their count must match the images exactly.
     */
    private String withMarkers(String question) {
        return PromptTokenizer.countImages(question) == 0 ? PromptTokenizer.IMAGE_MARKER.repeat(images.size()) + question
                : question;
    }

    static String toJson(Generator.Result result, GenerationStats st) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode arr = root.putArray("ids");
        for (int id : result.tokens()) arr.add(id);
        root.put("text", result.text());
        root.put("finish_reason", result.finishReason().name().toLowerCase(java.util.Locale.ROOT));
        ObjectNode s = root.putObject("stats");
        s.put("images", st.images());
        s.put("image_encode_ms", st.imageEncodeMs());
        s.put("prompt_tokens", st.promptTokens());
        s.put("prefill_ms", st.prefillMs());
        s.put("prefill_tokens_per_s", st.prefillTokensPerSecond());
        s.put("generated_tokens", st.generatedTokens());
        s.put("decode_ms", st.decodeMs());
        if (st.hasDecodeRate()) {
            s.put("decode_tokens_per_s", st.decodeTokensPerSecond());
        } else {
            s.putNull("decode_tokens_per_s"); // one generated token: no decode step to time
        }
        s.put("peak_rss_bytes", st.peakRssBytes());
        return root.toString();
    }

    static void writeLogits(Path file, float[] logits) {
        Tensor t = new Tensor("logits", DType.F32, new long[]{logits.length}, MemorySegment.ofArray(logits.clone()));
        SafetensorsWriter.write(file, List.of(t), Map.of());
    }
}
