package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.ExecutionPlan;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.host.Splice;
import dev.owl2j.runtime.engine.DeviceSampling;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.VisualTokens;

import java.util.ArrayList;
import java.util.List;

/**
 * One conversation on a {@link DeviceEngine}: its KV cache on the device (keys after RoPE and values of every
 * layer, [max_position_embeddings, kv width] each) and its decode plans, built on the first step and replayed.
 * All device work runs under the engine's lock.
 */
final class DeviceSession implements Engine.Session, DeviceSampling {
    private final DeviceEngine engine;
    private final ComputeContext ctx;
    private final Owl2Decoder decoder;
    private final int vocab, capacity, hidden, tokensPerImage;
    final Buffer[] keyCache, valueCache;
    private final Buffer stepParams;
    /** {position, token, then a sampling block (Kernels.packSampling) whose last int is the picked token}. */
    private final int[] stepHost = new int[2 + Kernels.SAMPLE_PARAMS];
    private final int[] sampledHost = new int[2 + Kernels.SAMPLE_PARAMS];
    private final float[] stepLogits;
    private ExecutionPlan decodePlan, sampledPlan;
    private int position;
    private boolean closed;

    DeviceSession(DeviceEngine engine, ComputeContext ctx, Owl2Decoder decoder, Owl2Config cfg) {
        this.engine = engine;
        this.ctx = ctx;
        this.decoder = decoder;
        this.vocab = cfg.vocabSize();
        this.capacity = cfg.maxPositionEmbeddings();
        this.hidden = cfg.hiddenSize();
        this.tokensPerImage = cfg.tokensPerImage();
        this.stepLogits = new float[vocab];
        int layers = cfg.numHiddenLayers();
        long cacheBytes = (long) capacity * cfg.numKeyValueHeads() * cfg.headDim() * 4;
        this.keyCache = new Buffer[layers];
        this.valueCache = new Buffer[layers];
        synchronized (engine) {
            try {
                for (int l = 0; l < layers; l++) {
                    keyCache[l] = ctx.allocate(cacheBytes);
                    valueCache[l] = ctx.allocate(cacheBytes);
                }
                stepParams = ctx.allocate(4L * stepHost.length);
            } catch (DeviceException e) {
                freeCaches();
                throw new Owl2jException(ctx.device().describe() + ": no room for another session's KV cache (" + e.getMessage() + ")");
            }
        }
    }

    /** Device bytes of one session's KV cache, for the engine's memory check. */
    static long cacheBytes(Owl2Config cfg) {
        return 2L * cfg.numHiddenLayers() * cfg.maxPositionEmbeddings() * cfg.numKeyValueHeads() * cfg.headDim() * 4;
    }

    DeviceEngine engine() {
        return engine;
    }

    @Override
    public float[] prefill(int[] tokenIds, List<float[]> imageTokens) {
        List<VisualRows> rows = new ArrayList<>(imageTokens.size());
        int[] floats = new int[imageTokens.size()];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = imageTokens.get(i).length;
            rows.add(VisualRows.host(imageTokens.get(i), hidden));
        }
        return prefill(tokenIds, floats, rows);
    }

    @Override
    public float[] prefillEncoded(int[] tokenIds, List<? extends VisualTokens> images) {
        List<VisualRows> rows = new ArrayList<>(images.size());
        int[] floats = new int[images.size()];
        for (int i = 0; i < floats.length; i++) {
            VisualTokens v = images.get(i);
            floats[i] = v.floats();
            // tokens of this engine are read in device memory; any others are uploaded from a host copy
            rows.add(v instanceof DeviceVisualTokens d && d.engine() == engine ? d : VisualRows.host(v.toHost(), hidden));
        }
        return prefill(tokenIds, floats, rows);
    }

    private float[] prefill(int[] tokenIds, int[] imageFloats, List<VisualRows> images) {
        Splice plan = Splice.plan(tokenIds, imageFloats, tokensPerImage, hidden, vocab);
        if (position + plan.length() > capacity) {
            throw new Owl2jException("the conversation needs " + (position + plan.length()) + " positions but the context holds " + capacity);
        }
        synchronized (engine) {
            try {
                for (int c0 = 0; c0 < plan.length(); c0 += DecoderActivations.MAX_ROWS) {
                    int n = Math.min(DecoderActivations.MAX_ROWS, plan.length() - c0);
                    boolean last = c0 + n == plan.length();
                    decoder.prefillChunk(plan, images, c0, n, position, keyCache, valueCache, last);
                    position += n;
                }
                return decoder.readLogits();
            } catch (DeviceException e) {
                throw new Owl2jException(ctx.device().describe() + ": " + e.getMessage());
            }
        }
    }

    /** Fails before any device work when the token or the position is out of range. */
    void checkStep(int token) {
        Splice.checkToken(token, vocab);
        if (position + 1 > capacity) {
            throw new Owl2jException("the conversation needs " + (position + 1) + " positions but the context holds " + capacity);
        }
    }

    @Override
    public java.util.Set<Engine.Capability> capabilities() {
        return java.util.EnumSet.of(Engine.Capability.DEVICE_SAMPLING);
    }

    @Override
    public int stepSampled(int token, double temperature, int topK, double topP, double uniform) {
        checkStep(token);
        synchronized (engine) {
            try {
                if (sampledPlan == null) sampledPlan = plan(true);
                stepHost[0] = position;
                stepHost[1] = token;
                Kernels.packSampling(stepHost, 2, temperature, topK, topP, uniform);
                sampledPlan.run();
                position++;
                int picked = sampledHost[2 + Kernels.SAMPLE_PARAMS - 1];
                if (picked < 0 || picked >= vocab) {
                    throw new Owl2jException("device sampling found no token with a nonzero probability");
                }
                return picked;
            } catch (DeviceException e) {
                throw new Owl2jException(ctx.device().describe() + ": " + e.getMessage());
            }
        }
    }

    @Override
    public float[] step(int token) {
        checkStep(token);
        synchronized (engine) {
            try {
                if (decodePlan == null) decodePlan = plan(false);
                stepHost[0] = position;
                stepHost[1] = token;
                decodePlan.run();
                position++;
                return stepLogits.clone();
            } catch (DeviceException e) {
                throw new Owl2jException(ctx.device().describe() + ": " + e.getMessage());
            }
        }
    }

    private ExecutionPlan plan(boolean sampled) {
        return decoder.decodePlan(stepParams, stepHost, keyCache, valueCache, engine.weightBuffers(), sampled, sampledHost, stepLogits);
    }

    /** Nanoseconds this session's decode plans have spent blocked on the device. */
    long decodeWaitNanos() {
        synchronized (engine) {
            return (decodePlan == null ? 0 : decodePlan.deviceWaitNanos()) + (sampledPlan == null ? 0 : sampledPlan.deviceWaitNanos());
        }
    }

    /** Advances the position after a batched step wrote this session's next row. */
    void advance() {
        position++;
    }

    @Override
    public int position() {
        return position;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    private void freeCaches() {
        for (Buffer b : keyCache) if (b != null) b.close();
        for (Buffer b : valueCache) if (b != null) b.close();
    }

    @Override
    public void close() {
        synchronized (engine) {
            if (closed) return;
            closed = true;
            if (decodePlan != null) decodePlan.close();
            if (sampledPlan != null) sampledPlan.close();
            freeCaches();
            if (stepParams != null) stepParams.close();
        }
    }
}
