package dev.owl2j.runtime.model;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.tokenizer.PromptTokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.VisualTokens;

import java.util.ArrayList;
import java.util.List;

/**
 * Checks a prompt before it reaches the engine: ids inside the vocabulary, as many images as placeholders, and
 * the whole thing inside the context. The original code silently drops extra images; we refuse instead.
 */
public final class Prompts {
    private Prompts() {}

    /** Parses "1,3148,-200,29901" (spaces allowed); -200 stands for the next image. */
    public static int[] parseIds(String csv) {
        String[] parts = csv.trim().split("[,\\s]+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new Owl2jException("--prompt-ids: '" + parts[i] + "' is not an integer id");
            }
        }
        if (parts.length == 0 || csv.isBlank()) {
            throw new Owl2jException("--prompt-ids is empty");
        }
        return ids;
    }

    public static int countImages(int[] ids) {
        int n = 0;
        for (int id : ids) {
            if (id == PromptTokenizer.IMAGE_TOKEN) n++;
        }
        return n;
    }

    /**
     * Validates ids against the model: every id a known token or -200, one image per -200, and
     * {@code alreadyUsed + length + reserve} positions inside the context.
     */
    public static void validate(Owl2Config cfg, int[] ids, int images, int alreadyUsed) {
        for (int id : ids) {
            if (id != PromptTokenizer.IMAGE_TOKEN && (id < 0 || id >= cfg.vocabSize())) {
                throw new Owl2jException("unknown token id " + id + " (the vocabulary has ids 0.." + (cfg.vocabSize() - 1)
                        + ", and -200 marks an image)");
            }
        }
        int markers = countImages(ids);
        if (markers != images) {
            throw new Owl2jException("the prompt has " + markers + " image placeholder" + (markers == 1 ? "" : "s")
                    + " (" + PromptTokenizer.IMAGE_MARKER + " or -200) but " + images + " image" + (images == 1 ? " was" : "s were")
                    + " given");
        }
        int positions = positions(cfg, ids);
        if (alreadyUsed + positions > cfg.maxPositionEmbeddings()) {
            throw new Owl2jException("the prompt needs " + positions + " positions (" + (ids.length - markers) + " text tokens + "
                    + markers + " image" + (markers == 1 ? "" : "s") + " x " + cfg.tokensPerImage() + ")"
                    + (alreadyUsed > 0 ? " after " + alreadyUsed + " already used" : "")
                    + " but the context holds " + cfg.maxPositionEmbeddings());
        }
    }

    /** Decoder positions the ids take once each -200 is replaced by the visual tokens. */
    public static int positions(Owl2Config cfg, int[] ids) {
        int markers = countImages(ids);
        return ids.length - markers + markers * cfg.tokensPerImage();
    }

    /**
     * Images in order, preprocessed and encoded, with the time taken. The tokens stay where the engine computed
     * them (device memory on a device engine) until {@link Engine.Session#prefillEncoded} reads them; close to free them.
     */
    public record EncodedImages(List<VisualTokens> tokens, double millis) implements AutoCloseable {
        /** Host copies, for callers that need the floats (scoring forks sessions from one host prefill). */
        public List<float[]> toHost() {
            return VisualTokens.toHost(tokens);
        }

        @Override
        public void close() {
            for (VisualTokens t : tokens) t.close();
        }
    }

    public static EncodedImages encode(LoadedModel model, List<java.nio.file.Path> images, AspectMode aspect) {
        long t0 = System.nanoTime();
        List<VisualTokens> out = new ArrayList<>();
        try {
            for (java.nio.file.Path p : images) {
                float[] pixels = model.preprocessor().pixelValues(ImageFiles.read(p), p.toString(), aspect);
                out.add(model.engine().encode(pixels));
            }
        } catch (RuntimeException e) {
            for (VisualTokens t : out) t.close();
            throw e;
        }
        return new EncodedImages(out, (System.nanoTime() - t0) / 1e6);
    }
}
