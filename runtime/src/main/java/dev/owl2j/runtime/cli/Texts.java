package dev.owl2j.runtime.cli;

import dev.owl2j.model.tokenizer.StreamingDecoder;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.generation.TextStream;

/** Adapters between the tokenizer's streaming decoder and the generation loop. */
final class Texts {
    private Texts() {}

    static TextStream stream(Tokenizer tokenizer) {
        StreamingDecoder d = tokenizer.newStreamingDecoder();
        return new TextStream() {
            @Override
            public String push(int id) {
                return d.accept(id);
            }

            @Override
            public String flush() {
                return d.finish();
            }
        };
    }

    /** For checkpoints without a tokenizer (prompts as ids): no text, the ids are printed instead. */
    static TextStream none() {
        return new TextStream() {
            @Override
            public String push(int id) {
                return "";
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }

    static String idList(int[] ids) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) b.append(',');
            b.append(ids[i]);
        }
        return b.toString();
    }
}
