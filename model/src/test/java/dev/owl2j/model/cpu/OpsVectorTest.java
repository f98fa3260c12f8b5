package dev.owl2j.model.cpu;

import org.junit.jupiter.api.Test;

import java.util.Random;

/**
 * The vectorised activations and softmax against double-precision scalar formulas, on lengths with vector tails
 * and long enough to be split over threads. Tolerance: 2e-6 relative to max(1, |value|) (float rounding plus the
 * ~1 ulp of the vector exp).
 */
class OpsVectorTest {
    @Test
    void activationsAndSoftmaxMatchDoubleFormulas() {
        Random rnd = new Random(5);
        for (int n : new int[]{1, 15, 17, 1000, 70_001}) {
            float[] x = new float[n];
            float[] up = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) (rnd.nextGaussian() * 6);
                up[i] = (float) rnd.nextGaussian();
            }
            float[] gelu = x.clone();
            Ops.quickGelu(gelu, n);
            float[] silu = x.clone();
            Ops.siluMul(silu, up, n);
            float[] soft = new float[n + 3];
            System.arraycopy(x, 0, soft, 3, n);
            Ops.softmax(soft, 3, n);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : x) max = Math.max(max, v);
            double sum = 0;
            for (float v : x) sum += Math.exp(v - max);
            float[] eGelu = new float[n];
            float[] eSilu = new float[n];
            float[] eSoft = new float[n];
            float[] aSoft = new float[n];
            for (int i = 0; i < n; i++) {
                double v = x[i];
                eGelu[i] = (float) (v / (1 + Math.exp(-1.702 * v)));
                eSilu[i] = (float) (v / (1 + Math.exp(-v)) * up[i]);
                eSoft[i] = (float) (Math.exp(v - max) / sum);
                aSoft[i] = soft[i + 3];
            }
            assertRelClose("quickGelu n=" + n, eGelu, gelu);
            assertRelClose("siluMul n=" + n, eSilu, silu);
            assertRelClose("softmax n=" + n, eSoft, aSoft);
        }
    }

    private static void assertRelClose(String what, float[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++) {
            double tol = 2e-6 * Math.max(1, Math.abs(expected[i]));
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + " got " + actual[i]);
            }
        }
    }
}
