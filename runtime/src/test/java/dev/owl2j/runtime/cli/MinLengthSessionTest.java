package dev.owl2j.runtime.cli;

import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** EOS is masked until the minimum number of tokens, then allowed (transformers' min_new_tokens). */
class MinLengthSessionTest {
    /** A session whose logits always prefer EOS (id 2), then token 5. */
    static final class EosLovingSession implements Engine.Session {
        int position;

        float[] logits() {
            float[] l = new float[8];
            l[2] = 10;
            l[5] = 5;
            return l;
        }

        @Override
        public float[] prefill(int[] ids, List<float[]> imageTokens) {
            position += ids.length;
            return logits();
        }

        @Override
        public float[] step(int token) {
            position++;
            return logits();
        }

        @Override
        public int position() {
            return position;
        }

        @Override
        public int capacity() {
            return 100;
        }
    }

    @Test
    void eosComesOnlyAfterTheMinimum() {
        Engine.Session s = new CaptionCommand.MinLengthSession(new EosLovingSession(), 2, 3);
        float[] first = s.prefill(new int[]{1}, List.of());
        Generator.Result r = Generator.generate(s, first, SamplingParams.greedy(10), 2, Texts.none(), null, null);
        assertArrayEquals(new int[]{5, 5, 5}, r.tokens());
        Engine.Session plain = new EosLovingSession();
        Generator.Result r0 = Generator.generate(plain, plain.prefill(new int[]{1}, List.of()), SamplingParams.greedy(10), 2,
                Texts.none(), null, null);
        assertArrayEquals(new int[0], r0.tokens());
    }
}
