package dev.owl2j.runtime.server;

import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.runtime.engine.Engine;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Scoring gives the same log-probabilities (1e-4) whether the backend forks caches, only truncates, or can do
 * neither, and they equal a fresh prefill per candidate prefix (HttpApiTest checks the HTTP side).
 */
class ScorerTest {
    /** The fixture engine behind sessions that support only what {@code mode} allows. */
    static Engine limited(Engine inner, boolean truncate) {
        return new Engine() {
            @Override
            public String description() {
                return "limited";
            }

            @Override
            public Owl2Config config() {
                return inner.config();
            }

            @Override
            public float[] encodeImage(float[] pixelValues) {
                return inner.encodeImage(pixelValues);
            }

            @Override
            public Session newSession() {
                Session s = inner.newSession();
                return new Session() {
                    @Override
                    public float[] prefill(int[] ids, List<float[]> imageTokens) {
                        return s.prefill(ids, imageTokens);
                    }

                    @Override
                    public float[] step(int token) {
                        return s.step(token);
                    }

                    @Override
                    public int position() {
                        return s.position();
                    }

                    @Override
                    public int capacity() {
                        return s.capacity();
                    }

                    @Override
                    public void truncate(int position) {
                        if (!truncate) throw new UnsupportedOperationException("no truncate");
                        s.truncate(position);
                    }
                };
            }

            @Override
            public void close() {}
        };
    }

    @Test
    void forkTruncateAndFreshPrefillAgree() {
        Engine engine = TinyFixture.engine();
        int[] prompt = TinyFixture.ids("prompt0");
        List<float[]> images = List.of(engine.encodeImage(TinyFixture.pixels("image0")));
        List<int[]> candidates = List.of(new int[]{1781, 29889}, new int[]{4177}, new int[]{3148, 1001, 29901});
        List<Scorer.CandidateScore> forked = Scorer.score(engine, prompt, images, candidates);
        List<Scorer.CandidateScore> truncated = Scorer.score(limited(engine, true), prompt, images, candidates);
        List<Scorer.CandidateScore> fresh = Scorer.score(limited(engine, false), prompt, images, candidates);
        for (int i = 0; i < candidates.size(); i++) {
            assertArrayEquals(candidates.get(i), forked.get(i).tokens());
            double[] expected = HttpApiTest.recomputed(prompt, images, candidates.get(i));
            assertArrayEquals(expected, forked.get(i).tokenLogprobs(), 1e-4, "fork " + i);
            assertArrayEquals(expected, truncated.get(i).tokenLogprobs(), 1e-4, "truncate " + i);
            assertArrayEquals(expected, fresh.get(i).tokenLogprobs(), 1e-4, "fresh " + i);
            double sum = 0;
            for (double v : expected) sum += v;
            assertEquals(sum, fresh.get(i).logprob(), 1e-3);
        }
    }
}
