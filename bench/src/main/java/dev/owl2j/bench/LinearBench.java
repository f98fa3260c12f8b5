package dev.owl2j.bench;

import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.kernel.Linears;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Quantizer;
import dev.owl2j.model.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The Vector API linear kernels at the model's shapes. Matvec (decode): 4096x4096 (attention projections) and
 * 11008x4096 (MLP gate/up) per weight format. Matmul (prefill, vision): X[128, 4096]·W[4096, 4096]ᵀ and the ViT
 * MLP X[1025, 1024]·W[4096, 1024]ᵀ in F16. Run: java -jar bench/target/benchmarks.jar LinearBench -f 1 -wi 2 -i 3
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class LinearBench {
    /** Decode matvec per weight format. */
    @State(Scope.Benchmark)
    public static class MatvecState {
        @Param({"F16", "BF16", "Q8_0", "Q4_0"})
        public String dtype;

        /** rows x cols of W. */
        @Param({"4096x4096", "11008x4096"})
        public String shape;

        Linear linear;
        float[] x;
        float[] y;

        @Setup
        public void setup() {
            String[] rc = shape.split("x");
            int rows = Integer.parseInt(rc[0]);
            int cols = Integer.parseInt(rc[1]);
            linear = linear(DType.valueOf(dtype), rows, cols);
            x = random(cols, 2);
            y = new float[rows];
        }
    }

    @Benchmark
    public float[] matvec(MatvecState s) {
        s.linear.matvec(s.x, 0, s.y, 0);
        return s.y;
    }

    /** Batched decode: n one-token rows (one per session) against a 4096 x 4096 matrix. */
    @State(Scope.Benchmark)
    public static class BatchState {
        @Param({"Q4_0", "Q8_0", "F16"})
        public String dtype;

        @Param({"1", "2", "4", "8", "16", "32"})
        public int n;

        Linear linear;
        float[] x;
        float[] y;

        @Setup
        public void setup() {
            linear = linear(DType.valueOf(dtype), 4096, 4096);
            x = random(n * 4096, 4);
            y = new float[n * 4096];
        }
    }

    @Benchmark
    public float[] matmulBatch(BatchState s) {
        s.linear.matmul(s.x, s.n, s.y);
        return s.y;
    }

    /** Prefill and vision matmuls, F16 weights. */
    @State(Scope.Benchmark)
    public static class MatmulState {
        /** n x cols x rows: X is [n, cols], W is [rows, cols]. */
        @Param({"128x4096x4096", "1025x1024x4096"})
        public String gemm;

        Linear linear;
        float[] x;
        float[] y;
        int n;

        @Setup
        public void setup() {
            String[] p = gemm.split("x");
            n = Integer.parseInt(p[0]);
            int cols = Integer.parseInt(p[1]);
            int rows = Integer.parseInt(p[2]);
            linear = linear(DType.F16, rows, cols);
            x = random(n * cols, 3);
            y = new float[n * rows];
        }
    }

    @Benchmark
    public float[] matmulF16(MatmulState s) {
        s.linear.matmul(s.x, s.n, s.y);
        return s.y;
    }

    static Linear linear(DType dtype, int rows, int cols) {
        long count = (long) rows * cols;
        DType stored = dtype.isQuantized() ? DType.F16 : dtype;
        MemorySegment data = Arena.ofAuto().allocate(stored.bytesFor(count), 64);
        SplittableRandom r = new SplittableRandom(1);
        for (long i = 0; i < count; i++) {
            float v = (float) (r.nextDouble() * 0.04 - 0.02);
            short h = stored == DType.BF16 ? (short) (Float.floatToRawIntBits(v) >>> 16) : Float.floatToFloat16(v);
            data.set(Tensor.I16_LE, i * 2, h);
        }
        Tensor w = new Tensor("w", stored, new long[]{rows, cols}, data);
        return dtype.isQuantized() ? Linears.of(Quantizer.quantize(w, dtype)) : Linears.of(w);
    }

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }
}
