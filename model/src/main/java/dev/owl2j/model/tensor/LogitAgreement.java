package dev.owl2j.model.tensor;

import java.util.Locale;

/**
 * How close a quantized model's next-token distributions stay to a reference's, position by position: the mean
 * and largest KL(p_ref ‖ p_quant) of the softmaxed logits (in nats, computed in double) and how often both pick
 * the same top-1 token. The quantization accuracy tables (docs/performance.md) are made of these figures, on the
 * fixture (QuantizedAccuracyTest) and on the synthetic 7B (bench's QuantAccuracyBench).
 */
public final class LogitAgreement {
    private double klSum;
    private double klMax;
    private int agree;
    private int count;

    /** Adds one position: the reference's logits and the quantized model's, of the same length. */
    public void add(float[] ref, float[] quant) {
        if (ref.length != quant.length) {
            throw new IllegalArgumentException(ref.length + " reference logits against " + quant.length);
        }
        double[] p = logSoftmax(ref);
        double[] r = logSoftmax(quant);
        double kl = 0;
        for (int i = 0; i < p.length; i++) {
            kl += Math.exp(p[i]) * (p[i] - r[i]);
        }
        klSum += kl;
        klMax = Math.max(klMax, kl);
        if (argmax(ref) == argmax(quant)) {
            agree++;
        }
        count++;
    }

    public double meanKl() {
        return klSum / count;
    }

    public double maxKl() {
        return klMax;
    }

    /** Positions where both picked the same top-1 token. */
    public int agree() {
        return agree;
    }

    /** Positions added. */
    public int count() {
        return count;
    }

    /** "name: mean KL 1.23e-02, max KL 4.56e-02, top-1 agreement 7/8". */
    public String format(String name) {
        return String.format(Locale.ROOT, "%s: mean KL %.2e, max KL %.2e, top-1 agreement %d/%d", name, meanKl(), klMax, agree, count);
    }

    /** The index of the largest value (the first of equal ones, as runtime's Sampler.argmax). */
    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    private static double[] logSoftmax(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) max = Math.max(max, v);
        double sum = 0;
        for (float v : x) sum += Math.exp(v - max);
        double lse = max + Math.log(sum);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] - lse;
        return out;
    }
}
