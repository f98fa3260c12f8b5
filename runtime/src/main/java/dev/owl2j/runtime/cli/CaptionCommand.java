package dev.owl2j.runtime.cli;

import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.tokenizer.PromptTokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.VisualTokens;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ImageFiles;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.runtime.model.Prompts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code owl2j caption}: one caption per image with the repository's captioning setup (docs/model.md, Tokenizer and prompts: evaluation prompts):
 * the exact evaluation prompt, images stretched to square, greedy, at least 8 and at most 60 new tokens.
 */
@Command(name = "caption", mixinStandardHelpOptions = true,
        description = "Caption each image (the evaluation prompt of the original repository, greedy).")
public final class CaptionCommand implements Callable<Integer> {
    /** The authors' current evaluation prompt, trailing space included. */
    public static final String PROMPT = "USER: <|image|>Provide a one-sentence caption for the provided image. ASSISTANT: ";

    @Mixin
    ModelOptions modelOptions;

    @Parameters(paramLabel = "IMAGE", arity = "1..*", description = "Image files.")
    List<Path> images;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "60", description = "Most tokens per caption (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--min-new-tokens", paramLabel = "N", defaultValue = "8", description = "EOS is not allowed before this many tokens (default: ${DEFAULT-VALUE}).")
    int minNewTokens;

    @Option(names = "--aspect", paramLabel = "pad|resize|crop", defaultValue = "resize",
            description = "How a non-square image becomes square: pad, resize (stretch) or crop (default: ${DEFAULT-VALUE}, as the original evaluations).")
    String aspect;

    @Override
    public Integer call() {
        AspectMode mode = AspectMode.parse(aspect);
        ImageFiles.check(images);
        PrintStream out = System.out;
        try (LoadedModel model = LoadedModel.open(modelOptions, System.err)) {
            int[] ids = new PromptTokenizer(model.tokenizer(ChatCommand.TOKENIZER_HINT)).encode(PROMPT);
            for (Path image : images) {
                Prompts.validate(model.config(), ids, 1, 0);
                try (Prompts.EncodedImages encoded = Prompts.encode(model, List.of(image), mode);
                     Engine.Session session = new MinLengthSession(model.engine().newSession(), model.eosId(), minNewTokens)) {
                    float[] logits = session.prefillEncoded(ids, encoded.tokens());
                    Generator.Result r = Generator.generate(session, logits, SamplingParams.greedy(maxNewTokens), model.eosId(),
                            Texts.stream(model.tokenizer()), null, null);
                    out.println(image.getFileName() + "\t" + r.text().strip());
                    out.flush();
                }
            }
        }
        return 0;
    }

    /** Masks EOS in the logits until {@code min} tokens were generated (transformers' min_new_tokens). */
    static final class MinLengthSession implements Engine.Session {
        private final Engine.Session inner;
        private final int eos;
        private final int min;
        private int generated;

        MinLengthSession(Engine.Session inner, int eos, int min) {
            this.inner = inner;
            this.eos = eos;
            this.min = min;
        }

        private float[] mask(float[] logits) {
            if (generated < min && eos >= 0 && eos < logits.length) {
                logits[eos] = Float.NEGATIVE_INFINITY;
            }
            return logits;
        }

        @Override
        public float[] prefill(int[] ids, List<float[]> imageTokens) {
            return mask(inner.prefill(ids, imageTokens));
        }

        @Override
        public float[] prefillEncoded(int[] ids, List<? extends VisualTokens> images) {
            return mask(inner.prefillEncoded(ids, images));
        }

        @Override
        public float[] step(int token) {
            generated++;
            return mask(inner.step(token));
        }

        @Override
        public int position() {
            return inner.position();
        }

        @Override
        public int capacity() {
            return inner.capacity();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
