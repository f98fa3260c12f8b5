package dev.owl2j.runtime.engine;

import dev.owl2j.model.Settings;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.Parallel;
import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.Owl2Model;
import dev.owl2j.model.cpu.kernel.Linears;
import dev.owl2j.model.cpu.kernel.MallocTrim;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.util.List;
import java.util.function.Function;

/** The whole model on the CPU (module model's Vector API forward). The caller keeps ownership of the weights. */
public final class CpuEngine implements Engine {
    private final Owl2Model model;
    private final String description;
    private final int threads;

    /**
     * Matrices of fewer bytes than this in all skip the C-heap trim after the load: what a load frees is one
     * matrix's scratch at a time, small beside the JVM's own memory for a small model, while finding and linking
     * the native call took 0.16-0.28 s of a one-token run of the embedded default model (docs/startup.md).
     */
    static final long TRIM_FROM_BYTES = 256L << 20;

    /** The default: Vector API kernels over the weights as stored (dev.owl2j.model.cpu.kernel.Linears). */
    public CpuEngine(TensorSource weights, Owl2Config config) {
        this(weights, config, (DType) null);
    }

    /** Vector API kernels, with the decoder's projections quantized at load to quant (Q8_0/Q4_0; null = as stored). */
    public CpuEngine(TensorSource weights, Owl2Config config, DType quant) {
        this(weights, config, Linears.factory(quant), quant == null ? "stored" : quant.name(), Settings.fromSystem());
    }

    public CpuEngine(TensorSource weights, Owl2Config config, Function<Tensor, Linear> linearFactory, String weightType) {
        this(weights, config, linearFactory, weightType, Settings.fromSystem());
    }

    /**
     * The model over {@code weights} with matrices wrapped by {@code linearFactory}, on {@code settings.threads()}
     * threads (the worker pool is process-wide: the first engine of a process sizes it) and chunked prefill.
     */
    public CpuEngine(TensorSource weights, Owl2Config config, Function<Tensor, Linear> linearFactory, String weightType,
                     Settings settings) {
        this.threads = Parallel.start(settings.threads());
        java.util.concurrent.atomic.LongAdder matrixBytes = new java.util.concurrent.atomic.LongAdder();
        this.model = Owl2Model.load(weights, config, w -> {
            Linear linear = linearFactory.apply(w);
            matrixBytes.add(linear.byteSize());
            return linear;
        }, settings.prefillChunk());
        if (matrixBytes.sum() >= TRIM_FROM_BYTES) {
            MallocTrim.releaseFreePages(); // scratch freed while loading (quantized copies) leaves resident holes
        }
        this.description = "cpu, " + threads + " threads, " + weightType + " weights";
    }

    /** Bytes the KV caches of all CPU sessions of this process may hold ({@link Settings#kvCacheBytes}), for error messages. */
    public static long kvCacheBudgetBytes() {
        return dev.owl2j.model.cpu.KVCache.memoryLimit();
    }

    /** Threads the forward pass runs on, the caller included. */
    public int threads() {
        return threads;
    }

    public Owl2Model model() {
        return model;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public Owl2Config config() {
        return model.config();
    }

    @Override
    public float[] encodeImage(float[] pixelValues) {
        return model.encodeImage(pixelValues);
    }

    @Override
    public Session newSession() {
        return wrap(model.newSession());
    }

    @Override
    public Session newSession(int maxPositions) {
        int capacity = Math.min(maxPositions, model.config().maxPositionEmbeddings());
        return new CpuSession(this, model.newSession(capacity, dev.owl2j.model.cpu.Trace.NONE), capacity);
    }

    /** Shares the weight reads across the batch: one matmul per projection over all sessions' rows. */
    @Override
    public List<float[]> stepBatch(List<Session> sessions, int[] tokens) {
        if (sessions.size() == 1) {
            return List.of(sessions.getFirst().step(tokens[0])); // nothing to share
        }
        List<dev.owl2j.model.cpu.Session> inner = new java.util.ArrayList<>(sessions.size());
        for (Session s : sessions) {
            if (!(s instanceof CpuSession cs) || cs.engine() != this) {
                return Engine.super.stepBatch(sessions, tokens);
            }
            inner.add(cs.inner());
        }
        return List.of(model.stepBatch(inner, tokens));
    }

    private record CpuSession(CpuEngine engine, dev.owl2j.model.cpu.Session inner, int capacity) implements Session {
        @Override
        public float[] prefill(int[] ids, List<float[]> imageTokens) {
            return inner.prefill(ids, imageTokens);
        }

        @Override
        public float[] step(int token) {
            return inner.step(token);
        }

        @Override
        public int position() {
            return inner.position();
        }

        @Override
        public java.util.Set<Capability> capabilities() {
            return java.util.EnumSet.of(Capability.TRUNCATE, Capability.FORK);
        }

        @Override
        public void truncate(int position) {
            inner.truncate(position);
        }

        @Override
        public Session fork() {
            return new CpuSession(engine, inner.fork(), capacity);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    private Session wrap(dev.owl2j.model.cpu.Session s) {
        return new CpuSession(this, s, model.config().maxPositionEmbeddings());
    }

    /** The weights belong to whoever opened them (they may outlive this engine); nothing else to free. */
    @Override
    public void close() {
    }
}
