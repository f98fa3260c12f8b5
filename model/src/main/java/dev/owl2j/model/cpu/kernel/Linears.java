package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.Settings;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.ReferenceLinear;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Quantizer;
import dev.owl2j.model.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.function.Function;

/**
 * Picks the Vector API kernel for a weight matrix by its dtype. Weights are never copied to F32: F32/F16/BF16 are
 * used in place (a view into the mapped file), stored Q8_0/Q4_0 are repacked into row tiles of the same size
 * ({@link Q8Tiles}, {@link Q4Tiles}) whose source pages are then released, and {@link #quantized} makes one
 * off-heap quantized copy at load. The one exception is a small float matrix (a tiny model's, {@link #isSmall}): it is
 * widened to a float array and multiplied in plain Java ({@link SmallLinear}, for start-up).
 */
public final class Linears {
    /** The decoder's projection matrices (q/k/v/o and the MLP, including the multiway k/v copies). */
    private Linears() {}

    /**
     * N of {@link #isSmall} ({@code owl2j.smallMatrixCols}, default 256; 0 turns {@link SmallLinear} off). The
     * embedded default model's matrices have rows of 64 to 176 values, except its patch embedding (64 × 588, 37,632
     * weights); every real mPLUG-Owl2 matrix has rows of 1024 values or more, except its patch embedding (1024 × 588,
     * 602,112 weights). With N = 256 the first are all small and the second none, with room on both sides. The
     * figures behind it are in docs/startup.md.
     */
    static final int SMALL_COLS = Settings.fromSystem().smallMatrixCols();

    /** The fast kernel for w in its stored dtype (F32, F16, BF16, Q8_0 or Q4_0). */
    public static Linear of(Tensor w) {
        return of(w, true, SMALL_COLS);
    }

    /**
     * With tiles, Q4_0 and Q8_0 matrices are repacked into row tiles ({@link Q4Tiles}, {@link Q8Tiles}) where their
     * switch is on; without, they keep the row-major kernels.
     */
    private static Linear of(Tensor w, boolean tiles, int smallCols) {
        if (w.rank() != 2) {
            throw new Owl2jException("weight " + w.name() + " is not a matrix: " + w.shapeString());
        }
        if (w.dtype().isQuantized() && w.dim(1) % w.dtype().blockSize != 0) {
            throw new Owl2jException("weight " + w.name() + " is " + w.dtype() + " but its " + w.dim(1)
                    + " columns are not a whole number of " + w.dtype().blockSize + "-element blocks");
        }
        if (isSmall(w, smallCols)) {
            Linear small = new SmallLinear(w);
            if (w.data().isMapped()) {
                w.data().unload(); // the widened copy is all that is read from now on
            }
            return small;
        }
        if (tiles && Q4Tiles.wanted(w)) {
            return Q4Tiles.repack(w);
        }
        if (tiles && Q8Tiles.wanted(w)) {
            return Q8Tiles.repack(w);
        }
        if (ColumnPanels.wanted(w, ColumnPanels.MAX_COLS)) {
            return ColumnPanels.split(w, ColumnPanels.MAX_COLS, Linears::kernel);
        }
        return kernel(w);
    }

    /** Whether w is a float matrix (F32, F16, BF16) with rows shorter than n values or fewer than n² weights. */
    static boolean isSmall(Tensor w, int n) {
        DType t = w.dtype();
        return (t == DType.F32 || t == DType.F16 || t == DType.BF16) && (w.dim(1) < n || w.dim(0) * w.dim(1) < (long) n * n);
    }

    /** The Vector API kernel for w as stored, whatever its row length. */
    static Linear kernel(Tensor w) {
        return switch (w.dtype()) {
            case F32 -> new FloatLinears.F32(w);
            case F16 -> new FloatLinears.Half(w, false);
            case BF16 -> new FloatLinears.Half(w, true);
            case Q8_0 -> new Q8Linear(w);
            case Q4_0 -> new Q4Linear(w);
            // other float types (F64) are rare in checkpoints: correct, slow fallback
            case F64 -> new ReferenceLinear(w);
            default -> throw new Owl2jException("weight " + w.name() + " has dtype " + w.dtype() + ", which no kernel handles");
        };
    }

    /**
     * Whether {@link #of} keeps a copy of w's weights of its own (Q4_0 or Q8_0 repacked into row tiles, long rows
     * split into column panels) rather than w's memory itself; the copy's source pages are released when w is mapped from a file.
     * (A {@link SmallLinear} keeps a copy too; this answers for the Vector API kernels, {@link #vectorFactory}.)
     */
    public static boolean copies(Tensor w) {
        return Q4Tiles.wanted(w) || Q8Tiles.wanted(w) || ColumnPanels.wanted(w, ColumnPanels.MAX_COLS);
    }

    /** w quantized at load to q (Q8_0 or Q4_0) into off-heap memory; columns must be a multiple of 32. */
    public static Linear quantized(Tensor w, DType q) {
        return quantized(w, q, true, SMALL_COLS);
    }

    /** {@link #quantized(Tensor, DType)}, with or without row tiles (see {@link #of(Tensor, boolean, int)}). */
    static Linear quantized(Tensor w, DType q, boolean tiles, int smallCols) {
        if (w.dtype() == q) {
            return of(w, tiles, smallCols);
        }
        Linear linear;
        if (tiles && q == DType.Q4_0 && Q4Tiles.ENABLED) {
            // the row-major quantized matrix only lives until it is repacked
            try (Arena scratch = Arena.ofShared()) {
                linear = Q4Tiles.repack(Quantizer.quantize(w, q, scratch));
            }
        } else if (tiles && q == DType.Q8_0 && Q8Tiles.ENABLED) {
            // as for Q4_0
            try (Arena scratch = Arena.ofShared()) {
                linear = Q8Tiles.repack(Quantizer.quantize(w, q, scratch));
            }
        } else if (ColumnPanels.wanted(w, ColumnPanels.MAX_COLS)) {
            // the whole quantized matrix only lives until its panels are copied: freed at once, not by a later GC
            try (Arena scratch = Arena.ofShared()) {
                linear = ColumnPanels.split(Quantizer.quantize(w, q, scratch), ColumnPanels.MAX_COLS, Linears::kernel);
            }
        } else {
            linear = of(Quantizer.quantize(w, q), tiles, smallCols);
        }
        if (w.data().isMapped()) {
            // the float source was read once and is not needed again: its file pages need not stay resident
            w.data().unload();
        }
        return linear;
    }

    /**
     * The linear factory for Owl2Model.load: with quant null every matrix uses {@link #of}; otherwise the decoder's
     * projections ({@code model.layers.N.(self_attn|mlp).*proj*}) stored as floats are quantized to quant, and
     * everything else (vision tower, abstractor, lm_head, already-quantized weights, and matrices whose column count
     * is not a multiple of 32) keeps its stored dtype.
     */
    public static Function<Tensor, Linear> factory(DType quant) {
        return factory(quant, true, SMALL_COLS);
    }

    /**
     * {@link #factory(DType)} with the Vector API kernels for matrices of every size (no {@link SmallLinear}): the
     * fixture's golden tests and the benchmarks use it, so the vector kernels are what they check and measure.
     */
    public static Function<Tensor, Linear> vectorFactory(DType quant) {
        return factory(quant, true, 0);
    }

    /**
     * {@link #factory(DType)} with Q4_0 and Q8_0 matrices either repacked into row tiles where their switch is on
     * ({@link Q4Tiles}: integer kernels, x quantized to Q8_0 for decode; {@link Q8Tiles}: float kernels) or kept
     * row-major with the float kernels; the accuracy test and the layout comparisons use both.
     */
    public static Function<Tensor, Linear> factory(DType quant, boolean tiles) {
        return factory(quant, tiles, SMALL_COLS);
    }

    /** {@link #factory(DType, boolean)} with the float matrices {@link #isSmall} for smallCols in {@link SmallLinear}. */
    public static Function<Tensor, Linear> factory(DType quant, boolean tiles, int smallCols) {
        if (quant != null && quant != DType.Q8_0 && quant != DType.Q4_0) {
            throw new Owl2jException("unsupported quantization " + quant + " (use Q8_0 or Q4_0)");
        }
        return w -> {
            if (quant != null && isDecoderProjection(w.name()) && w.dtype().isFloat() && w.rank() == 2
                    && w.dim(1) % 32 == 0) {
                return quantized(w, quant, tiles, smallCols);
            }
            return of(w, tiles, smallCols);
        };
    }

    /** True for the decoder linear weights that quantized modes convert. */
    public static boolean isDecoderProjection(String name) {
        return ExpectedTensors.isDecoderProjection(name);
    }
}
