package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.VisualTokens;
import dev.owl2j.runtime.generation.NonFiniteLogitsException;

import java.util.ArrayList;
import java.util.List;

/**
 * Log-probabilities of candidate continuations of one prompt (the /v1/score extension, e.g. rating an image
 * "good" vs "poor"). The shared prompt is prefilled once; each candidate then runs in its own fork of that
 * cache, all candidates advancing together through {@link Engine#stepBatch}. Backends that cannot fork fall
 * back to stepping each candidate and truncating the cache back to the prompt, or, if they cannot truncate
 * either, to a fresh prefill of the prompt per candidate.
 */
public final class Scorer {
    /** One candidate's tokens, their log-probabilities (natural log) and the sum. */
    public record CandidateScore(int[] tokens, double[] tokenLogprobs, double logprob) {}

    private Scorer() {}

    /**
     * Scores each candidate token sequence as a continuation of the prompt. Must run on the thread that owns
     * the engine (the scheduler's decode thread via {@link Scheduler#submitTask}).
     *
     * @param promptIds   prompt ids, -200 per image
     * @param imageTokens visual tokens of each image in placeholder order
     * @param candidates  the token ids of each candidate, each at least one token
     */
    public static List<CandidateScore> score(Engine engine, int[] promptIds, List<float[]> imageTokens, List<int[]> candidates) {
        return scoreEncoded(engine, promptIds, imageTokens.stream().map(VisualTokens::of).toList(), candidates);
    }

    /**
     * {@link #score} with the images as {@link Engine#encode} left them (in device memory on a device engine, so
     * each prefill reads them there). The caller closes them.
     */
    public static List<CandidateScore> scoreEncoded(Engine engine, int[] promptIds, List<? extends VisualTokens> imageTokens,
                                                    List<int[]> candidates) {
        for (int[] c : candidates) {
            if (c.length == 0) throw new Owl2jException("a candidate has no tokens");
        }
        try (Engine.Session prompt = engine.newSession()) {
            float[] promptLogits = prompt.prefillEncoded(promptIds, imageTokens);
            int longest = candidates.stream().mapToInt(c -> c.length).max().orElse(0);
            if (prompt.position() + longest - 1 > prompt.capacity()) {
                throw new Owl2jException("prompt plus candidate is " + (prompt.position() + longest)
                        + " positions, the context holds " + prompt.capacity());
            }
            double[][] lps = new double[candidates.size()][];
            for (int i = 0; i < lps.length; i++) {
                lps[i] = new double[candidates.get(i).length];
                lps[i][0] = logSoftmaxAt(promptLogits, candidates.get(i)[0]);
            }
            List<Engine.Session> forks = forks(prompt, candidates);
            if (forks != null) {
                try {
                    for (int j = 1; j < longest; j++) {
                        List<Engine.Session> batch = new ArrayList<>();
                        List<Integer> which = new ArrayList<>();
                        for (int i = 0; i < candidates.size(); i++) {
                            if (candidates.get(i).length > j) {
                                batch.add(forks.get(i));
                                which.add(i);
                            }
                        }
                        int[] feed = new int[batch.size()];
                        for (int b = 0; b < feed.length; b++) feed[b] = candidates.get(which.get(b))[j - 1];
                        List<float[]> logits = engine.stepBatch(batch, feed);
                        for (int b = 0; b < feed.length; b++) {
                            int i = which.get(b);
                            lps[i][j] = logSoftmaxAt(logits.get(b), candidates.get(i)[j]);
                        }
                    }
                } finally {
                    for (Engine.Session f : forks) if (f != null) f.close();
                }
            } else {
                // No fork: step each candidate on the prompt's session and truncate back; a backend that cannot
                // truncate either gets a fresh prefill of the prompt per further candidate.
                int base = prompt.position();
                boolean reuse = true;
                for (int i = 0; i < candidates.size(); i++) {
                    int[] c = candidates.get(i);
                    if (c.length == 1) continue;
                    Engine.Session s = reuse ? prompt : engine.newSession();
                    try {
                        if (!reuse) s.prefillEncoded(promptIds, imageTokens);
                        for (int j = 1; j < c.length; j++) {
                            lps[i][j] = logSoftmaxAt(s.step(c[j - 1]), c[j]);
                        }
                        if (reuse) {
                            if (prompt.capabilities().contains(Engine.Capability.TRUNCATE)) {
                                prompt.truncate(base);
                            } else {
                                reuse = false;
                            }
                        }
                    } finally {
                        if (s != prompt) s.close();
                    }
                }
            }
            List<CandidateScore> out = new ArrayList<>();
            for (int i = 0; i < lps.length; i++) {
                double sum = 0;
                for (double v : lps[i]) sum += v;
                out.add(new CandidateScore(candidates.get(i).clone(), lps[i], sum));
            }
            return out;
        }
    }

    /** One fork per candidate (null when the backend cannot fork). */
    private static List<Engine.Session> forks(Engine.Session prompt, List<int[]> candidates) {
        if (!prompt.capabilities().contains(Engine.Capability.FORK)) {
            return null;
        }
        List<Engine.Session> out = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
            out.add(candidates.get(i).length > 1 ? prompt.fork() : null);
        }
        return out;
    }

    /**
     * The log-probability of each prompt token given the ones before it (null for the first, which has nothing
     * before it), with {@code top} alternatives: the first token is prefilled, then the others are stepped one by
     * one, each step's logits giving the next token's log-probability (the engine's prefill returns the last
     * position's logits only). For {@code echo} with {@code logprobs} on /v1/completions.
     */
    public static List<dev.owl2j.runtime.generation.TokenLogprob> promptLogprobs(Engine engine, int[] ids, int top) {
        List<dev.owl2j.runtime.generation.TokenLogprob> out = new ArrayList<>(ids.length);
        out.add(null);
        if (ids.length < 2) return out;
        try (Engine.Session s = engine.newSession()) {
            float[] logits = s.prefill(new int[]{ids[0]}, List.of());
            for (int i = 1; i < ids.length; i++) {
                out.add(dev.owl2j.runtime.generation.TokenLogprob.of(logits, ids[i], top));
                if (i + 1 < ids.length) logits = s.step(ids[i]);
            }
        }
        return out;
    }

    /** log softmax(logits)[id], in double for a stable sum. */
    public static double logSoftmaxAt(float[] logits, int id) {
        if (id < 0 || id >= logits.length) {
            throw new Owl2jException("token id " + id + " is outside the vocabulary (0.." + (logits.length - 1) + ")");
        }
        NonFiniteLogitsException.check(logits);
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        return logits[id] - max - Math.log(sum);
    }
}
