package dev.owl2j.runtime.generation;

/**
 * A generated token's log-probability (natural log) under the model's own distribution, the log-softmax of the
 * raw logits before any penalty, bias, mask or temperature (as OpenAI reports logprobs and as /v1/score computes
 * them), with the most likely alternatives.
 *
 * @param topTokens    the {@code top} most likely tokens, most likely first (ties: lower id first)
 * @param topLogprobs  their log-probabilities
 */
public record TokenLogprob(int token, double logprob, int[] topTokens, double[] topLogprobs) {
    /** The most alternatives a request may ask for (OpenAI's limit). */
    public static final int MAX_TOP = 20;

    /** From the raw logits of the step that chose {@code token}. */
    public static TokenLogprob of(float[] logits, int token, int top) {
        NonFiniteLogitsException.check(logits);
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        double logSum = Math.log(sum);
        int k = Math.max(0, Math.min(top, logits.length));
        int[] ids = new int[k];
        int n = 0;
        // Insertion into a sorted array of k: fine for k <= 20 over a 32000-token vocabulary.
        for (int i = 0; i < logits.length && k > 0; i++) {
            float v = logits[i];
            if (n == k && !(v > logits[ids[k - 1]])) continue;
            int j = n < k ? n++ : k - 1;
            while (j > 0 && v > logits[ids[j - 1]]) {
                ids[j] = ids[j - 1];
                j--;
            }
            ids[j] = i;
        }
        double[] lps = new double[k];
        // the same expression as /v1/score's log-softmax, so both give the same numbers
        for (int i = 0; i < k; i++) lps[i] = logits[ids[i]] - max - logSum;
        return new TokenLogprob(token, logits[token] - max - logSum, ids, lps);
    }
}
