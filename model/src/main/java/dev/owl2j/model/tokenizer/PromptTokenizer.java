package dev.owl2j.model.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Prompt text to ids with image sentinels, as {@code mm_utils.tokenizer_image_token} of the reference (docs/model.md, Tokenizer and prompts):
 * the prompt is cut at every {@value #IMAGE_MARKER}; each chunk is tokenized on its own with BOS (an empty chunk
 * gives nothing); if the first chunk starts with BOS, one BOS is emitted and every chunk loses its own BOS;
 * consecutive chunks are joined by one {@value #IMAGE_TOKEN}. A prompt that starts with the marker therefore keeps
 * the BOS of the chunk after the image (as the reference does).
 */
public final class PromptTokenizer {
    public static final int IMAGE_TOKEN = -200;
    public static final String IMAGE_MARKER = "<|image|>";

    private final Tokenizer tokenizer;

    public PromptTokenizer(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Ids of a whole prompt: BOS, text ids, {@link #IMAGE_TOKEN} per marker. */
    public int[] encode(String prompt) {
        return encode(prompt, true);
    }

    /**
     * Ids of text that continues an existing sequence (a later chat turn appended to a KV cache): the same
     * per-chunk rule, but no BOS anywhere, as the reference's tokens for that part of the re-rendered conversation.
     */
    public int[] encodeContinuation(String text) {
        return encode(text, false);
    }

    private int[] encode(String prompt, boolean withBos) {
        List<String> chunks = split(prompt);
        List<int[]> ids = new ArrayList<>(chunks.size());
        for (String c : chunks) {
            ids.add(c.isEmpty() ? new int[0] : tokenizer.encode(c, withBos));
        }
        Tokenizer.IntList out = new Tokenizer.IntList(prompt.length() + 2);
        int offset = 0;
        int[] first = ids.getFirst();
        if (withBos && first.length > 0 && first[0] == tokenizer.bosId()) {
            offset = 1;
            out.add(first[0]);
        }
        for (int k = 0; k < ids.size(); k++) {
            if (k > 0) {
                out.add(IMAGE_TOKEN);
            }
            int[] x = ids.get(k);
            for (int i = Math.min(offset, x.length); i < x.length; i++) {
                out.add(x[i]);
            }
        }
        return out.toArray();
    }

    /** Number of image markers in the prompt (= images it needs). */
    public static int countImages(String prompt) {
        return split(prompt).size() - 1;
    }

    /** Python's {@code str.split(IMAGE_MARKER)}: keeps empty chunks at both ends and between adjacent markers. */
    static List<String> split(String prompt) {
        List<String> chunks = new ArrayList<>();
        int from = 0;
        while (true) {
            int at = prompt.indexOf(IMAGE_MARKER, from);
            if (at < 0) {
                chunks.add(prompt.substring(from));
                return chunks;
            }
            chunks.add(prompt.substring(from, at));
            from = at + IMAGE_MARKER.length();
        }
    }
}
