package dev.owl2j.runtime.synthetic;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * Random weights with a checkpoint's names and shapes, made in memory. The embedded default model writes them
 * to disk; the synthetic 7B benchmark uses them directly, so speed and memory can be measured at the real shapes
 * without the real checkpoint. Deterministic for a seed: the same name always gets the same values.
 *
 * Values: norm weights near 1, biases and matrices small (std about 0.02, like the models' initialisers), so
 * activations stay finite through many layers. Matrices of the decoder may be made directly in a quantized
 * format (random blocks with realistic scales) instead of being quantized from floats.
 */
public final class SyntheticWeights implements TensorSource {
    private final Map<String, long[]> shapes;
    private final Map<String, DType> dtypes;
    /** Each tensor made so far, in memory of its own, so that one can be released (see {@link #release}). */
    private final Map<String, Tensor> made = new LinkedHashMap<>();
    private final Map<String, Arena> arenas = new LinkedHashMap<>();
    private final long seed;
    private final BiFunction<String, long[], Init> initOf;

    /** How one tensor's values are drawn: uniform noise with this mean and standard deviation. */
    public record Init(double mean, double std) {}

    /** The default draw: norm weights near 1 (std 0.05), everything else std 0.02 around 0. */
    public static Init defaultInit(String name, long[] shape) {
        boolean isNormWeight = name.endsWith(".weight") && shape.length == 1 && isNorm(name);
        return isNormWeight ? new Init(1.0, 0.05) : new Init(0.0, 0.02);
    }

    /**
     * @param shapes  name → shape, in checkpoint order
     * @param dtypeOf the storage type for each name (F32, F16, BF16, Q8_0 or Q4_0)
     */
    public SyntheticWeights(Map<String, long[]> shapes, Function<String, DType> dtypeOf, long seed) {
        this(shapes, dtypeOf, seed, SyntheticWeights::defaultInit);
    }

    /** With each tensor's mean and standard deviation chosen by {@code initOf} (float types only). */
    public SyntheticWeights(Map<String, long[]> shapes, Function<String, DType> dtypeOf, long seed,
                            BiFunction<String, long[], Init> initOf) {
        this.initOf = initOf;
        this.shapes = new LinkedHashMap<>(shapes);
        this.dtypes = new LinkedHashMap<>();
        for (String n : shapes.keySet()) {
            dtypes.put(n, dtypeOf.apply(n));
        }
        this.seed = seed;
    }

    /**
     * Random weights for every tensor a checkpoint of {@code cfg} stores ({@link ExpectedTensors}): F16, with the
     * decoder projections made directly in {@code quantOrNull} (Q8_0/Q4_0) when given and their rows split into
     * 32-weight blocks, as a quantized load would convert them.
     */
    public static SyntheticWeights forConfig(Owl2Config cfg, DType quantOrNull, long seed) {
        ExpectedTensors expected = ExpectedTensors.forConfig(cfg);
        return new SyntheticWeights(expected.requiredShapes(), name -> {
            ExpectedTensors.Expected e = expected.get(name);
            return quantOrNull != null && e.kind() == ExpectedTensors.Kind.DECODER_PROJECTION && e.cols() % 32 == 0
                    ? quantOrNull : DType.F16;
        }, seed);
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(shapes.keySet()));
    }

    @Override
    public boolean contains(String name) {
        return shapes.containsKey(name);
    }

    @Override
    public synchronized Tensor get(String name) {
        Tensor t = made.get(name);
        if (t == null) {
            long[] shape = shapes.get(name);
            if (shape == null) {
                throw new Owl2jException("synthetic weights: no tensor named " + name);
            }
            Arena arena = Arena.ofShared();
            t = make(arena, name, shape, dtypes.get(name));
            made.put(name, t);
            arenas.put(name, arena);
        }
        return t;
    }

    /**
     * Frees a tensor's memory once its user keeps a copy of its own (as a real checkpoint's mapped pages are
     * released in that case): the synthetic benchmark's memory figures then count the weights once. The tensor
     * handed out before must not be read again; a later {@link #get} makes it afresh, with the same values.
     */
    public synchronized void release(String name) {
        Arena arena = arenas.remove(name);
        if (arena != null) {
            made.remove(name);
            arena.close();
        }
    }

    /** Bytes of one tensor (made or not). */
    public long byteSize(String name) {
        long[] shape = shapes.get(name);
        if (shape == null) {
            throw new Owl2jException("synthetic weights: no tensor named " + name);
        }
        return dtypes.get(name).bytesFor(Tensor.numel(shape));
    }

    /** Total bytes of all tensors (made or not). */
    public long byteSize() {
        long b = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            b += dtypes.get(e.getKey()).bytesFor(Tensor.numel(e.getValue()));
        }
        return b;
    }

    @Override
    public String formatName() {
        return "synthetic (random weights)";
    }

    @Override
    public synchronized void close() {
        arenas.values().forEach(Arena::close);
        arenas.clear();
        made.clear();
    }

    private Tensor make(Arena arena, String name, long[] shape, DType dtype) {
        long numel = Tensor.numel(shape);
        MemorySegment data = arena.allocate(dtype.bytesFor(numel), 64);
        long nameSeed = seed ^ name.hashCode() * 0x9E3779B97F4A7C15L;
        Init init = initOf.apply(name, shape);
        double mean = init.mean();
        double std = init.std();
        // Rows are filled in parallel chunks, each from its own generator, so the result is deterministic.
        long chunk = 1 << 16;
        if (dtype.isQuantized()) {
            chunk -= chunk % dtype.blockSize;
        }
        long chunks = (numel + chunk - 1) / chunk;
        final long ch = chunk;
        IntStream.range(0, Math.toIntExact(chunks)).parallel().forEach(c -> {
            SplittableRandom r = new SplittableRandom(nameSeed + c * 0x632BE59BD9B4E019L);
            long from = c * ch;
            long to = Math.min(numel, from + ch);
            fill(data, dtype, from, to, mean, std, r);
        });
        return new Tensor(name, dtype, shape, data);
    }

    public static boolean isNorm(String name) {
        return name.contains("norm") || name.contains("ffn_ln") || name.contains("layernorm");
    }

    /** Uniform noise with the given mean and standard deviation (uniform on [-a, a] has std a/√3). */
    private static void fill(MemorySegment d, DType t, long from, long to, double mean, double std, SplittableRandom r) {
        double a = std * Math.sqrt(3);
        switch (t) {
            case F32 -> {
                for (long i = from; i < to; i++) d.set(Tensor.F32_LE, i * 4, (float) (mean + a * (2 * r.nextDouble() - 1)));
            }
            case F16 -> {
                for (long i = from; i < to; i++) d.set(Tensor.I16_LE, i * 2, Float.floatToFloat16((float) (mean + a * (2 * r.nextDouble() - 1))));
            }
            case BF16 -> {
                for (long i = from; i < to; i++) {
                    int bits = Float.floatToRawIntBits((float) (mean + a * (2 * r.nextDouble() - 1)));
                    d.set(Tensor.I16_LE, i * 2, (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16));
                }
            }
            case Q8_0 -> {
                // scale = amax/127 of a block of uniform values in [-a, a]
                short scale = Float.floatToFloat16((float) (a / 127));
                for (long b = from / 32; b < to / 32; b++) {
                    long o = b * 34;
                    d.set(Tensor.I16_LE, o, scale);
                    for (int j = 0; j < 32; j++) d.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) (r.nextInt(255) - 127));
                }
            }
            case Q4_0 -> {
                short scale = Float.floatToFloat16((float) (a / 8));
                for (long b = from / 32; b < to / 32; b++) {
                    long o = b * 18;
                    d.set(Tensor.I16_LE, o, scale);
                    for (int j = 0; j < 16; j++) d.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) r.nextInt(256));
                }
            }
            default -> throw new IllegalArgumentException("synthetic weights cannot be " + t);
        }
    }
}
