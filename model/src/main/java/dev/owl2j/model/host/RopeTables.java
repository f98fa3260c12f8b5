package dev.owl2j.model.host;

/**
 * cos and sin of the rotary angles (docs/model.md, RoPE): for position p and i in [0, headDim/2),
 * angle = p·θ^(−2i/headDim), computed in double and stored as float, laid out [position][i]. Element i of a
 * head pairs with element i + headDim/2 (rotate-half), so one value per pair is enough.
 */
public final class RopeTables {
    private RopeTables() {}

    /** {cos, sin}, each [positions, headDim/2]. */
    public static float[][] compute(int headDim, double theta, int positions) {
        int half = headDim / 2;
        float[] cos = new float[positions * half];
        float[] sin = new float[positions * half];
        for (int i = 0; i < half; i++) {
            double invFreq = Math.pow(theta, -2.0 * i / headDim);
            for (int p = 0; p < positions; p++) {
                double angle = p * invFreq;
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][]{cos, sin};
    }
}
