package dev.owl2j.runtime.engine;

import dev.owl2j.model.Settings;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.kernel.Linears;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import dev.owl2j.runtime.synthetic.SyntheticWeights;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Engines over synthetic weights for the benchmarks ({@code owl2j bench}, bench/): the ordinary engines, with the
 * two things a benchmark of the CPU engine needs on top, kept here so that no benchmark reaches into the CPU
 * forward itself.
 */
public final class BenchEngines {
    private BenchEngines() {}

    /**
     * The CPU engine over {@code weights} with the Vector API kernels. Each synthetic tensor a kernel keeps a copy of
     * (column panels, quantized copies) is released, as a mapped checkpoint's pages are, so memory counts the
     * weights once; with {@code visionLinearNanos}, the vision tower's linears add the wall time of their calls to
     * it (the GEMMs' share of the FMA peak).
     */
    public static CpuEngine cpu(SyntheticWeights weights, Owl2Config cfg, String weightType, Settings settings,
                                LongAdder visionLinearNanos) {
        Function<Tensor, Linear> kernels = releasing(weights, Linears.vectorFactory(null), null);
        Function<Tensor, Linear> factory = w -> {
            Linear linear = kernels.apply(w);
            boolean vision = ExpectedTensors.componentOf(w.name()) == ExpectedTensors.Component.VISION;
            return visionLinearNanos != null && vision ? new TimedLinear(linear, visionLinearNanos) : linear;
        };
        return new CpuEngine(weights, cfg, factory, weightType, settings);
    }

    /**
     * The CPU engine over float {@code weights} with the decoder's projections quantized at load to {@code quant}
     * (Q8_0 or Q4_0; null keeps them as stored), as a real F16 checkpoint loaded with {@code --quant} is: in row
     * tiles with {@code tiles}, else row-major with the float kernels. Each original that a kernel converted or
     * copied is released (bench's QuantAccuracyBench runs one such engine after another).
     */
    public static CpuEngine cpuQuantizedAtLoad(SyntheticWeights weights, Owl2Config cfg, DType quant, boolean tiles,
                                               Settings settings) {
        Function<Tensor, Linear> kernels = tiles ? Linears.vectorFactory(quant) : Linears.factory(quant, false);
        return new CpuEngine(weights, cfg, releasing(weights, kernels, quant), quant == null ? "stored" : quant.name(), settings);
    }

    /**
     * kernels, releasing each synthetic tensor that the kernel made its own copy of (column panels; with quant, the
     * decoder's projections quantized at load): the original is not read again, as a mapped checkpoint's pages are
     * released, so memory counts the weights once.
     */
    private static Function<Tensor, Linear> releasing(SyntheticWeights weights, Function<Tensor, Linear> kernels, DType quant) {
        return w -> {
            Linear linear = kernels.apply(w);
            if (quant != null && ExpectedTensors.isDecoderProjection(w.name()) || Linears.copies(w)) {
                weights.release(w.name());
            }
            return linear;
        };
    }

    /** A linear that adds the wall time of its calls to a counter. */
    private record TimedLinear(Linear inner, LongAdder nanos) implements Linear {
        @Override
        public int rows() {
            return inner.rows();
        }

        @Override
        public int cols() {
            return inner.cols();
        }

        @Override
        public void matvec(float[] x, int xOff, float[] y, int yOff) {
            long t = System.nanoTime();
            inner.matvec(x, xOff, y, yOff);
            nanos.add(System.nanoTime() - t);
        }

        @Override
        public void matmul(float[] x, int n, float[] y) {
            long t = System.nanoTime();
            inner.matmul(x, n, y);
            nanos.add(System.nanoTime() - t);
        }

        @Override
        public long byteSize() {
            return inner.byteSize();
        }
    }
}
