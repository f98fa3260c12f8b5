package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.Devices;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.checkpoint.ExpectedTensors.Expected;
import dev.owl2j.model.checkpoint.ExpectedTensors.Kind;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.VisualTokens;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The whole mPLUG-Owl2 on one OpenCL or CUDA device (docs/model.md): weights uploaded once as stored (optionally
 * Q8_0/Q4_0 for the decoder's linears), KV caches, activations and the visual tokens stay on the device; only
 * token ids, positions, modality flags and logits cross the bus. The components mirror the CPU engine's:
 * {@link VisionEncoder}, {@link VisualAbstractor}, {@link Owl2Decoder} with its {@link DecoderLayer}s, one
 * {@link DeviceSession} per conversation. All device work of one engine is serialized on the engine (one
 * queue/stream).
 */
public final class DeviceEngine implements Engine {
    private final Owl2Config cfg;
    private final ComputeContext ctx;
    private final Kernels k;
    private final DeviceWeights w;
    private final VisionEncoder vision;
    private final VisualAbstractor abstractor;
    private final Owl2Decoder decoder;
    private final String description;
    private final Set<DeviceVisualTokens> openTokens = Collections.newSetFromMap(new IdentityHashMap<>());
    private long batchedSteps;

    /**
     * Loads the model onto device {@code deviceIndex} of {@code api} ("opencl" or "cuda").
     *
     * @param quantOrNull Q8_0 or Q4_0 to quantize the decoder layers' linears at upload, or null to keep them as stored
     * @param tensorCores false keeps prefill in F32 arithmetic on CUDA too (F16-rounded activations cost precision)
     */
    public static DeviceEngine open(TensorSource weights, Owl2Config config, String api, int deviceIndex, DType quantOrNull,
                                    boolean tensorCores) {
        if (quantOrNull != null && quantOrNull != DType.Q8_0 && quantOrNull != DType.Q4_0) {
            throw new Owl2jException("device quantization must be Q8_0 or Q4_0, not " + quantOrNull);
        }
        Device device;
        try {
            device = Devices.get(Api.parse(api), deviceIndex);
        } catch (DeviceException e) {
            throw new Owl2jException(e.getMessage());
        }
        ComputeContext ctx = device.open();
        try {
            return new DeviceEngine(weights, config, ctx, quantOrNull, tensorCores);
        } catch (DeviceException e) {
            ctx.close();
            throw new Owl2jException(device.describe() + ": " + e.getMessage());
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }

    /** {@link #open(TensorSource, Owl2Config, String, int, DType, boolean)} with tensor cores where they exist. */
    public static DeviceEngine open(TensorSource weights, Owl2Config config, String api, int deviceIndex, DType quantOrNull) {
        return open(weights, config, api, deviceIndex, quantOrNull, true);
    }

    /**
     * Nanoseconds the decode plans of a session of a DeviceEngine have spent blocked on the device so far (for
     * the host-overhead figure of DeviceReport: a step's wall time minus this is Java/driver host work), or -1
     * for any other session.
     */
    public static long decodeWaitNanos(Engine.Session session) {
        return session instanceof DeviceSession s ? s.decodeWaitNanos() : -1;
    }

    /**
     * "cuda" when a CUDA device exists, else "vulkan" when a discrete GPU has a Vulkan driver (on AMD and other
     * non-NVIDIA cards Vulkan is usually the better-kept driver), else "opencl" when an OpenCL GPU exists, else "cpu".
     */
    public static String autoBackend() {
        if (!Devices.of(Api.CUDA).isEmpty()) return "cuda";
        for (Device d : Devices.of(Api.VULKAN)) {
            if (d instanceof dev.owl2j.kernels.vulkan.VulkanDevice v && v.discreteGpu()) return "vulkan";
        }
        for (Device d : Devices.of(Api.OPENCL)) {
            if (d.gpu()) return "opencl";
        }
        return "cpu";
    }

    private DeviceEngine(TensorSource source, Owl2Config cfg, ComputeContext ctx, DType quant, boolean tensorCores) {
        this.cfg = cfg;
        this.ctx = ctx;
        checkMemory(source, quant);
        this.k = Kernels.load(ctx);
        this.w = new DeviceWeights(source, ExpectedTensors.forConfig(cfg), ctx);
        LinearKernels lin = new LinearKernels(k, tensorCores);
        this.decoder = new Owl2Decoder(w, cfg, quant, ctx, k, lin);
        this.vision = new VisionEncoder(w, cfg.vision(), ctx, k, lin);
        this.abstractor = new VisualAbstractor(w, cfg, ctx, k, lin);
        Device d = ctx.device();
        this.description = String.format("%s:%d %s, %s weights%s, %.2f GiB on device", d.api().id(), d.index(), d.name(),
                decoder.embedType(), quant != null ? " (decoder linears " + quant + ")" : "", w.uploadedBytes() / (double) (1L << 30));
    }

    /**
     * Fails before any upload when the device cannot hold the weights plus one session's KV cache, or when a
     * weight is bigger than one launch can bind (a kernel reads each weight as one buffer; see docs/gpu.md, Vulkan).
     */
    private void checkMemory(TensorSource source, DType quant) {
        long needed = 0;
        ExpectedTensors expected = ExpectedTensors.forConfig(cfg);
        long maxBinding = ctx.maxBindingBytes();
        for (String name : source.names()) {
            // every stored tensor counts, as if uploaded; one the config does not know is sized as stored
            Tensor t = source.get(name);
            Expected e = expected.get(name);
            boolean matrix = e != null ? e.matrix() : t.rank() >= 2;
            boolean projection = e != null && e.kind() == Kind.DECODER_PROJECTION;
            long bytes = matrix ? DeviceWeights.matrixBytes(t, projection ? quant : null) : t.numel() * 4;
            if (bytes > maxBinding) {
                throw new Owl2jException(String.format("%s binds at most %.1f MiB per buffer but tensor %s takes %.1f MiB on the device"
                                + " (a kernel reads each weight as one buffer; use a device with a larger maxStorageBufferRange)",
                        ctx.device().describe(), maxBinding / 1048576.0, name, bytes / 1048576.0));
            }
            needed += bytes;
        }
        needed += DeviceSession.cacheBytes(cfg) + Owl2Decoder.ropeBytes(cfg) + DecoderActivations.bytes(cfg);
        long free = ctx.freeMemory();
        if (needed > free) {
            throw new Owl2jException(String.format("%s has %.2f GiB free but the model needs %.2f GiB (weights%s + KV cache + activations)",
                    ctx.device().describe(), free / (double) (1L << 30), needed / (double) (1L << 30),
                    quant != null ? " with " + quant + " decoder linears" : ""));
        }
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public Owl2Config config() {
        return cfg;
    }

    public ComputeContext context() {
        return ctx;
    }

    /** The uploaded weights, for a task graph's resident declaration. */
    List<Buffer> weightBuffers() {
        return w.buffers();
    }

    @Override
    public float[] encodeImage(float[] pixelValues) {
        try (VisualTokens tokens = encode(pixelValues)) {
            return tokens.toHost();
        }
    }

    @Override
    public synchronized VisualTokens encode(float[] pixelValues) {
        int floats = abstractor.tokens() * cfg.hiddenSize();
        Buffer out = null;
        try {
            vision.forward(pixelValues);
            out = ctx.allocate(4L * floats);
            abstractor.forward(vision.output(), out);
            // wait here so that a caller timing the encoder (--stats) measures it, not the next prefill's wait
            ctx.finish();
            DeviceVisualTokens tokens = new DeviceVisualTokens(this, k, out, floats);
            openTokens.add(tokens);
            return tokens;
        } catch (DeviceException e) {
            if (out != null) out.close();
            throw new Owl2jException(ctx.device().describe() + ": " + e.getMessage());
        }
    }

    /** Forgets tokens closed by their user (called under the engine's lock). */
    void closed(DeviceVisualTokens tokens) {
        openTokens.remove(tokens);
    }

    @Override
    public Session newSession() {
        return new DeviceSession(this, ctx, decoder, cfg);
    }

    /**
     * One decode step of several sessions of this engine in one set of launches (see {@link Owl2Decoder#stepBatch});
     * other sessions, a repeated session or a single one go through the default one-by-one path.
     */
    @Override
    public List<float[]> stepBatch(List<Session> sessions, int[] tokens) {
        if (sessions.size() != tokens.length) {
            throw new Owl2jException(sessions.size() + " sessions but " + tokens.length + " tokens");
        }
        int n = sessions.size();
        Set<Session> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Session s : sessions) {
            if (!(s instanceof DeviceSession ds) || ds.engine() != this || !distinct.add(s)) {
                return Engine.super.stepBatch(sessions, tokens);
            }
        }
        if (n <= 1) return Engine.super.stepBatch(sessions, tokens);
        List<float[]> out = new ArrayList<>(n);
        for (int i0 = 0; i0 < n; i0 += DecoderActivations.MAX_ROWS) {
            int m = Math.min(DecoderActivations.MAX_ROWS, n - i0);
            DeviceSession[] group = new DeviceSession[m];
            for (int i = 0; i < m; i++) {
                group[i] = (DeviceSession) sessions.get(i0 + i);
                group[i].checkStep(tokens[i0 + i]);
            }
            out.addAll(stepGroup(group, java.util.Arrays.copyOfRange(tokens, i0, i0 + m)));
        }
        return out;
    }

    private synchronized List<float[]> stepGroup(DeviceSession[] group, int[] tokens) {
        int n = group.length;
        batchedSteps++;
        int[] positions = new int[n];
        Buffer[][] keys = new Buffer[n][], values = new Buffer[n][];
        for (int i = 0; i < n; i++) {
            positions[i] = group[i].position();
            keys[i] = group[i].keyCache;
            values[i] = group[i].valueCache;
        }
        try {
            List<float[]> out = decoder.stepBatch(positions, tokens, keys, values);
            for (DeviceSession s : group) s.advance();
            return out;
        } catch (DeviceException e) {
            throw new Owl2jException(ctx.device().describe() + ": " + e.getMessage());
        }
    }

    /** How many batched steps (of two or more sessions) {@link #stepBatch} has run, for tests and metrics. */
    public synchronized long batchedSteps() {
        return batchedSteps;
    }

    @Override
    public synchronized void close() {
        for (DeviceVisualTokens t : new ArrayList<>(openTokens)) t.close();
        vision.close();
        abstractor.close();
        decoder.close();
        if (w != null) w.close();
        ctx.close();
        // the weights belong to whoever opened them (as with CpuEngine): they are not closed here
    }
}
