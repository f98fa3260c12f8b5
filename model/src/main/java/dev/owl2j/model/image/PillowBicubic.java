package dev.owl2j.model.image;

/**
 * Pillow 9.4's {@code Image.resize(size, Image.BICUBIC)} on an RGB image, reproduced bit for bit.
 *
 * <p>Hand-written rather than taken from a Java imaging library because the reference feeds the vision tower
 * with Pillow's exact uint8 output (docs/model.md, Image preprocessing), and no Java resampler reproduces Pillow's integer arithmetic.
 * The algorithm is that of Pillow's {@code libImaging/Resample.c}:
 * <ul>
 *   <li>a separable filter (Keys cubic, a = -0.5, support 2) whose support is widened by the scale factor
 *       when downscaling (antialiasing); one set of weights per output column / row, normalised to sum 1 in
 *       double, then turned into fixed point with {@link #PRECISION_BITS} fraction bits;</li>
 *   <li>the horizontal pass first (only over the source rows the vertical pass will read), then the
 *       vertical pass; each pass accumulates in a 32-bit int starting at one half, shifts right and clamps
 *       to 0..255, so the intermediate image is rounded to uint8;</li>
 *   <li>a pass is skipped when its size does not change, and an unchanged size returns a copy.</li>
 * </ul>
 */
public final class PillowBicubic {
    /** Fraction bits of the fixed-point weights: 32 bits minus 8 for the pixel value minus 2 of headroom. */
    static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 2.0;

    private PillowBicubic() {}

    /** Resizes the whole image to width x height. */
    public static RgbImage resize(RgbImage in, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("target size must be positive: " + width + "x" + height);
        }
        boolean needHorizontal = width != in.width();
        boolean needVertical = height != in.height();
        if (!needHorizontal && !needVertical) {
            return new RgbImage(in.width(), in.height(), in.rgb().clone());
        }
        Coefficients horiz = coefficients(in.width(), 0f, in.width(), width);
        Coefficients vert = coefficients(in.height(), 0f, in.height(), height);

        byte[] src = in.rgb();
        int srcWidth = in.width();
        int rowOffset = 0;
        if (needHorizontal) {
            // Only the source rows that some output row reads are filtered horizontally.
            int first = vert.bounds[0];
            int last = vert.bounds[(height - 1) * 2] + vert.bounds[(height - 1) * 2 + 1];
            src = horizontal(src, srcWidth, first, last - first, horiz, width);
            srcWidth = width;
            rowOffset = first;
        }
        if (!needVertical) {
            return new RgbImage(width, height, src);
        }
        return new RgbImage(srcWidth, height, vertical(src, srcWidth, rowOffset, vert, height));
    }

    /** Fixed-point weights for one axis: output i reads {@code bounds[2i+1]} inputs from {@code bounds[2i]}. */
    record Coefficients(int ksize, int[] bounds, int[] weights) {}

    static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0.0) x = -x;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    /** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the input range [in0, in1) of inSize pixels. */
    static Coefficients coefficients(int inSize, float in0, float in1, int outSize) {
        // (in1 - in0) is a float subtraction in the C code before widening; keep that order.
        double scale = (double) (in1 - in0) / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = SUPPORT * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        double[] pre = new double[outSize * ksize];
        int[] bounds = new int[outSize * 2];
        for (int xx = 0; xx < outSize; xx++) {
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            double ss = 1.0 / filterScale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            int base = xx * ksize;
            for (int x = 0; x < xmax; x++) {
                double w = bicubic((x + xmin - center + 0.5) * ss);
                pre[base + x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                if (ww != 0.0) pre[base + x] /= ww;
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        int[] weights = new int[pre.length];
        double one = 1 << PRECISION_BITS;
        for (int i = 0; i < pre.length; i++) {
            weights[i] = pre[i] < 0 ? (int) (-0.5 + pre[i] * one) : (int) (0.5 + pre[i] * one);
        }
        return new Coefficients(ksize, bounds, weights);
    }

    /** Pillow's clip8: drop the fraction bits (arithmetic shift) and clamp to 0..255. */
    static int clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    private static byte[] horizontal(byte[] src, int srcWidth, int firstRow, int rows, Coefficients c, int outWidth) {
        byte[] out = new byte[rows * outWidth * 3];
        int half = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < rows; y++) {
            int srcRow = (y + firstRow) * srcWidth * 3;
            int outRow = y * outWidth * 3;
            for (int xx = 0; xx < outWidth; xx++) {
                int xmin = c.bounds[xx * 2];
                int n = c.bounds[xx * 2 + 1];
                int k = xx * c.ksize;
                // int accumulators wrap like the C INT32 ones; the weights keep them far from overflow.
                int s0 = half, s1 = half, s2 = half;
                int p = srcRow + xmin * 3;
                for (int x = 0; x < n; x++, p += 3) {
                    int w = c.weights[k + x];
                    s0 += (src[p] & 0xff) * w;
                    s1 += (src[p + 1] & 0xff) * w;
                    s2 += (src[p + 2] & 0xff) * w;
                }
                int o = outRow + xx * 3;
                out[o] = (byte) clip8(s0);
                out[o + 1] = (byte) clip8(s1);
                out[o + 2] = (byte) clip8(s2);
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] src, int width, int rowOffset, Coefficients c, int outHeight) {
        byte[] out = new byte[outHeight * width * 3];
        int half = 1 << (PRECISION_BITS - 1);
        int stride = width * 3;
        for (int yy = 0; yy < outHeight; yy++) {
            int ymin = c.bounds[yy * 2] - rowOffset;
            int n = c.bounds[yy * 2 + 1];
            int k = yy * c.ksize;
            int outRow = yy * stride;
            for (int xx = 0; xx < stride; xx++) {
                int s = half;
                int p = ymin * stride + xx;
                for (int y = 0; y < n; y++, p += stride) {
                    s += (src[p] & 0xff) * c.weights[k + y];
                }
                out[outRow + xx] = (byte) clip8(s);
            }
        }
        return out;
    }
}
