package dev.owl2j.runtime.generation;

import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits in the order transformers 4.31 applies its warpers (docs/model.md, Generation):
 * temperature, top-k, top-p, softmax, multinomial draw. Greedy when temperature is 0. Before them the logits go
 * through the request's {@link LogitProcessing} (bias, penalties, a constraint's mask), which keeps per-sequence
 * state: one sampler per generated sequence.
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;
    private final LogitProcessing processing;
    private final TokenConstraint constraint;
    private final Map<Integer, Integer> counts = new HashMap<>(); // generated tokens (presence, frequency)
    private final BitSet seen = new BitSet(); // prompt and generated tokens (repetition penalty)
    private int generated;

    public Sampler(SamplingParams params) {
        this(params, new int[0]);
    }

    /** {@code promptIds}: the prompt, for the repetition penalty (image markers, negative ids, are skipped). */
    public Sampler(SamplingParams params, int[] promptIds) {
        this.params = params;
        this.random = params.seed() == null ? new SplittableRandom() : new SplittableRandom(params.seed());
        this.processing = params.processing();
        this.constraint = processing.constraint() == null ? null : processing.constraint().start();
        for (int id : promptIds) if (id >= 0) seen.set(id);
    }

    /** Chooses the next token from the model's logits (processed as the parameters say) and records it. */
    public int next(float[] logits) {
        float[] l = processing.isNone() ? logits : process(logits);
        int id = pick(l, params, nextUniform());
        accept(id);
        return id;
    }

    /** True when the logits are used as the model gave them, so a device may pick the token itself. */
    public boolean usesRawLogits() {
        return processing.isNone();
    }

    /** The logits after bias, penalties and the constraint's mask (a copy; {@code raw} is not changed). */
    public float[] process(float[] raw) {
        NonFiniteLogitsException.check(raw); // before the mask adds its own -infinity
        float[] l = raw.clone();
        for (Map.Entry<Integer, Double> e : processing.logitBias().entrySet()) {
            if (e.getKey() < l.length) l[e.getKey()] += e.getValue().floatValue();
        }
        float rp = (float) processing.repetitionPenalty();
        if (rp != 1f) {
            for (int id = seen.nextSetBit(0); id >= 0 && id < l.length; id = seen.nextSetBit(id + 1)) {
                l[id] = l[id] < 0 ? l[id] * rp : l[id] / rp;
            }
        }
        float presence = (float) processing.presencePenalty();
        float frequency = (float) processing.frequencyPenalty();
        if (presence != 0 || frequency != 0) {
            for (Map.Entry<Integer, Integer> e : counts.entrySet()) {
                if (e.getKey() < l.length) l[e.getKey()] -= e.getValue() * frequency + presence;
            }
        }
        if (constraint != null) {
            constraint.mask(l, params.maxNewTokens() - generated);
        }
        return l;
    }

    /** Records a token chosen elsewhere (after {@link #process}), for the penalties and the constraint. */
    public void accept(int id) {
        generated++;
        counts.merge(id, 1, Integer::sum);
        seen.set(id);
        if (constraint != null) constraint.accept(id);
    }

    /**
     * The uniform number the next draw uses, taken from this sampler's generator; greedy decoding draws
     * nothing (0 is returned and the generator does not advance). A device that samples on its own gets this
     * number so that it picks what {@link #next} would have.
     */
    public double nextUniform() {
        return params.isGreedy() ? 0 : random.nextDouble();
    }

    /**
     * The token {@link #next} picks for these logits when the draw is {@code u} (ignored when greedy). Logits
     * holding NaN or +infinity raise {@link NonFiniteLogitsException} instead of picking an arbitrary token.
     */
    public static int pick(float[] logits, SamplingParams params, double u) {
        NonFiniteLogitsException.check(logits);
        if (params.isGreedy()) {
            return argmax(logits);
        }
        double[] probs = probabilities(logits, params.temperature(), params.topK(), params.topP());
        double acc = 0;
        int last = -1;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] > 0) {
                acc += probs[i];
                last = i;
                if (u < acc) {
                    return i;
                }
            }
        }
        return last; // rounding left u above the total: the last kept token
    }

    /** Index of the largest logit; the lowest index wins ties (torch.argmax). */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * The distribution the draw uses: zero for filtered tokens. Top-k keeps every token whose logit is at
     * least the k-th largest (ties kept, as TopKLogitsWarper). Top-p sorts ascending and removes the tokens
     * whose cumulative probability is at most 1 - top_p, always keeping the most likely one (TopPLogitsWarper).
     */
    public static double[] probabilities(float[] logits, double temperature, int topK, double topP) {
        int n = logits.length;
        double[] scaled = new double[n];
        for (int i = 0; i < n; i++) {
            scaled[i] = logits[i] / temperature;
        }
        boolean[] removed = new boolean[n];
        if (topK > 0 && topK < n) {
            double[] sorted = scaled.clone();
            Arrays.sort(sorted);
            double kth = sorted[n - topK];
            for (int i = 0; i < n; i++) {
                removed[i] = scaled[i] < kth;
            }
        }
        double[] probs = softmax(scaled, removed);
        if (topP < 1.0) {
            // Only tokens that survived top-k matter: filtered ones have probability 0 and never change the sum.
            int kept = 0;
            for (boolean r : removed) if (!r) kept++;
            Integer[] order = new Integer[kept];
            for (int i = 0, j = 0; i < n; i++) if (!removed[i]) order[j++] = i;
            // ascending by probability; stable so equal probabilities keep index order
            Arrays.sort(order, (a, b) -> Double.compare(probs[a], probs[b]));
            double cum = 0;
            for (int j = 0; j < kept - 1; j++) { // the most likely token is always kept
                int i = order[j];
                cum += probs[i];
                if (cum <= 1 - topP) {
                    removed[i] = true;
                }
            }
            return softmax(scaled, removed);
        }
        return probs;
    }

    private static double[] softmax(double[] x, boolean[] removed) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < x.length; i++) {
            if (!removed[i] && x[i] > max) max = x[i];
        }
        double sum = 0;
        double[] p = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            if (!removed[i]) {
                p[i] = Math.exp(x[i] - max);
                sum += p[i];
            }
        }
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }
}
