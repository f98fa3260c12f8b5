package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.Devices;
import dev.owl2j.kernels.ExecutionPlan;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.kernels.Kernels.Layout;
import dev.owl2j.kernels.Launch;
import dev.owl2j.kernels.TaskGraph;
import dev.owl2j.kernels.WeightType;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.checkpoint.ExpectedTensors.AbstractorLayerNames;
import dev.owl2j.model.checkpoint.ExpectedTensors.AbstractorNames;
import dev.owl2j.model.checkpoint.ExpectedTensors.DecoderLayerNames;
import dev.owl2j.model.checkpoint.ExpectedTensors.Expected;
import dev.owl2j.model.checkpoint.ExpectedTensors.Kind;
import dev.owl2j.model.checkpoint.ExpectedTensors.VisionLayerNames;
import dev.owl2j.model.checkpoint.ExpectedTensors.VisionNames;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.config.Owl2Config.AbstractorConfig;
import dev.owl2j.model.config.Owl2Config.VisionConfig;
import dev.owl2j.model.cpu.SinCosPositions;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import dev.owl2j.runtime.engine.DeviceSampling;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.engine.device.DeviceWeights.Mat;

import java.util.ArrayList;
import java.util.List;

/**
 * The whole mPLUG-Owl2 on one OpenCL or CUDA device (docs/model.md): weights uploaded once as stored (optionally
 * Q8_0/Q4_0 for the decoder's linears), KV caches and activations stay on the device, and only token ids,
 * positions, modality flags, the visual tokens the Engine API hands around, and logits cross the bus.
 * A decode step is a {@link TaskGraph} built once per session and replayed ({@link ExecutionPlan}); prefill
 * and the image encoder launch their kernels directly because their lengths vary. The math follows the CPU
 * forward (module model, package cpu) step by step. All device work of one engine is
 * serialized on the engine (one queue/stream).
 */
public final class DeviceEngine implements Engine {
    private static final int WAYS = 2;
    /** Prefill positions per pass; longer prompts run in several chunks over the same KV cache. */
    private static final int MAX_CHUNK = 256;
    /** Fewer rows than this go through the float matmul even where tensor cores exist (mma tiles are 8 tokens). */
    private static final int TENSOR_CORE_MIN_TOKENS = 8;
    /** -Dowl2j.tensorCores=false keeps prefill in F32 arithmetic on CUDA too (F16-rounded activations cost precision). */
    private static final boolean TENSOR_CORES = !"false".equalsIgnoreCase(System.getProperty("owl2j.tensorCores"));

    private final Owl2Config cfg;
    private final TensorSource source;
    private final ComputeContext ctx;
    private final Kernels k;
    private final DeviceWeights w;
    private final String description;
    private final List<Buffer> scratch = new ArrayList<>();

    // ---- decoder ----
    private final int hidden, heads, kvHeads, headDim, kvDim, qDim, inter, vocab, layersN, capacity;
    private final float eps;
    private final WeightType embedType;
    private final Buffer embedTokens;
    private final DecoderLayer[] layers;
    private final Buffer finalNorm;
    private final Mat lmHead;
    private final Buffer ropeCos, ropeSin;
    // decoder activations, [MAX_CHUNK, width]
    private final Buffer x, a, q, kk, vv, attn, tmp, gate, up, lastHidden, logits, ids, modality, params;
    /** Scratch of the sampling kernel (one per engine: device work is serialized on the engine). */
    private final Buffer sampleWork;
    /** Batched decode: {positions of the n sessions, then their tokens}; logits [n, vocab] grown on demand. */
    private final Buffer batchParams;
    private Buffer batchLogits;
    private int batchLogitsRows;
    private long batchedSteps;

    private record DecoderLayer(Buffer[] inputNorm, Mat qProj, Mat[] kProj, Mat[] vProj, Mat oProj,
                                Buffer[] postNorm, Mat gateProj, Mat upProj, Mat downProj) {}

    // ---- vision encoder and abstractor ----
    private final VisionConfig vc;
    private final AbstractorConfig ac;
    private final Mat patchEmbed;
    private final Buffer clsToken, positionEmbedding, preLnW, preLnB, postLnW, postLnB;
    private final VisionBlock[] blocks;
    private final Buffer queryEmbeds, visualFcBias;
    private final Mat visualFc;
    private final float[] vitEos;
    private final AbstractorLayer[] absLayers;

    private record VisionBlock(Buffer ln1W, Buffer ln1B, Mat qkv, Buffer qkvB, Mat dense, Buffer denseB,
                               Buffer ln2W, Buffer ln2B, Mat fc1, Buffer fc1B, Mat fc2, Buffer fc2B) {}

    private record AbstractorLayer(Buffer norm1W, Buffer norm1B, Buffer normkW, Buffer normkB, Buffer qPos, Buffer kPos,
                                   Mat query, Buffer queryB, Mat key, Buffer keyB, Mat value, Buffer valueB,
                                   Mat outProj, Buffer outProjB, Buffer norm2W, Buffer norm2B,
                                   Mat w1, Buffer w1B, Mat w3, Buffer w3B, Buffer ffnLnW, Buffer ffnLnB, Mat w2, Buffer w2B) {}

    private Buffer vPatches, vX, vA, vQkv, vAttn, vMlp, absH, absC, absWithPos, absQ, absK, absV, absAttn, absTmp,
            absGate, absUp, absOut, dummyParams;

    /**
     * Loads the model onto device {@code deviceIndex} of {@code api} ("opencl" or "cuda").
     *
     * @param quantOrNull Q8_0 or Q4_0 to quantize the decoder layers' linears at upload, or null to keep them as stored
     */
    public static DeviceEngine open(TensorSource weights, Owl2Config config, String api, int deviceIndex, DType quantOrNull) {
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
            return new DeviceEngine(weights, config, ctx, quantOrNull);
        } catch (DeviceException e) {
            ctx.close();
            throw new Owl2jException(device.describe() + ": " + e.getMessage());
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }

    /**
     * Nanoseconds the decode plans of a session of a DeviceEngine have spent blocked on the device so far (for
     * the host-overhead figure of DeviceReport: a step's wall time minus this is Java/driver host work), or -1
     * for any other session.
     */
    public static long decodeWaitNanos(Engine.Session session) {
        if (!(session instanceof DeviceSession s)) return -1;
        synchronized (s.engine()) {
            return (s.decodePlan == null ? 0 : s.decodePlan.deviceWaitNanos())
                    + (s.sampledPlan == null ? 0 : s.sampledPlan.deviceWaitNanos());
        }
    }

    /** "cuda" when a CUDA device exists, else "opencl" when an OpenCL GPU exists, else "cpu". */
    public static String autoBackend() {
        if (!Devices.of(Api.CUDA).isEmpty()) return "cuda";
        for (Device d : Devices.of(Api.OPENCL)) {
            if (d.gpu()) return "opencl";
        }
        return "cpu";
    }

    private DeviceEngine(TensorSource source, Owl2Config cfg, ComputeContext ctx, DType quant) {
        this.cfg = cfg;
        this.source = source;
        this.ctx = ctx;
        this.hidden = cfg.hiddenSize();
        this.heads = cfg.numAttentionHeads();
        this.kvHeads = cfg.numKeyValueHeads();
        this.headDim = cfg.headDim();
        this.kvDim = kvHeads * headDim;
        this.qDim = heads * headDim;
        this.inter = cfg.intermediateSize();
        this.vocab = cfg.vocabSize();
        this.layersN = cfg.numHiddenLayers();
        this.capacity = cfg.maxPositionEmbeddings();
        this.eps = (float) cfg.rmsNormEps();
        this.vc = cfg.vision();
        this.ac = cfg.abstractor();
        if (!"quick_gelu".equals(vc.hiddenAct())) {
            throw new Owl2jException("vision hidden_act " + vc.hiddenAct() + " is not supported (only quick_gelu, as in the release)");
        }
        checkMemory(source, quant);

        this.k = Kernels.load(ctx);
        this.w = new DeviceWeights(source, ExpectedTensors.forConfig(cfg), ctx);

        // decoder weights: multiway.{0 text, 1 visual} for the two RMSNorms, k_proj and v_proj
        Tensor embed = w.tensor(ExpectedTensors.EMBED_TOKENS);
        if (embed.dtype().isQuantized()) throw new Owl2jException(ExpectedTensors.EMBED_TOKENS + " must be stored as a float type, not " + embed.dtype());
        Mat e = w.matrix(ExpectedTensors.EMBED_TOKENS, null);
        this.embedTokens = e.buffer();
        this.embedType = e.type();
        this.layers = new DecoderLayer[layersN];
        for (int l = 0; l < layersN; l++) {
            DecoderLayerNames n = ExpectedTensors.decoderLayer(l);
            Buffer[] in = new Buffer[WAYS], post = new Buffer[WAYS];
            Mat[] kp = new Mat[WAYS], vp = new Mat[WAYS];
            for (int m = 0; m < WAYS; m++) {
                in[m] = w.vector(n.inputLayernorm(m));
                kp[m] = w.matrix(n.kProj(m), quant);
                vp[m] = w.matrix(n.vProj(m), quant);
                post[m] = w.vector(n.postAttentionLayernorm(m));
            }
            layers[l] = new DecoderLayer(in, w.matrix(n.qProj(), quant), kp, vp, w.matrix(n.oProj(), quant), post,
                    w.matrix(n.gateProj(), quant), w.matrix(n.upProj(), quant), w.matrix(n.downProj(), quant));
        }
        this.finalNorm = w.vector(ExpectedTensors.NORM);
        this.lmHead = w.matrix(ExpectedTensors.LM_HEAD, null); // kept as stored: logits are what we compare
        // rotate-half RoPE tables for every position, computed in double like the CPU Rope, stored as float
        int half = headDim / 2;
        float[] cos = new float[capacity * half], sin = new float[capacity * half];
        for (int i = 0; i < half; i++) {
            double invFreq = Math.pow(cfg.ropeTheta(), -2.0 * i / headDim);
            for (int pos = 0; pos < capacity; pos++) {
                cos[pos * half + i] = (float) Math.cos(pos * invFreq);
                sin[pos * half + i] = (float) Math.sin(pos * invFreq);
            }
        }
        this.ropeCos = w.upload(cos);
        this.ropeSin = w.upload(sin);

        this.x = alloc((long) MAX_CHUNK * hidden);
        this.a = alloc((long) MAX_CHUNK * hidden);
        this.q = alloc((long) MAX_CHUNK * qDim);
        this.kk = alloc((long) MAX_CHUNK * kvDim);
        this.vv = alloc((long) MAX_CHUNK * kvDim);
        this.attn = alloc((long) MAX_CHUNK * qDim);
        this.tmp = alloc((long) MAX_CHUNK * hidden);
        this.gate = alloc((long) MAX_CHUNK * inter);
        this.up = alloc((long) MAX_CHUNK * inter);
        this.lastHidden = alloc(hidden);
        this.logits = alloc(vocab);
        this.ids = alloc(MAX_CHUNK);
        this.modality = alloc(MAX_CHUNK);
        this.params = alloc(4);
        this.sampleWork = alloc(2L * vocab); // vocab doubles
        this.batchParams = alloc(2L * MAX_CHUNK);

        // vision tower
        int seq = vc.seqLen();
        this.patchEmbed = w.matrix(VisionNames.PATCH_EMBED, null);
        this.clsToken = w.vector(VisionNames.CLS_TOKEN);
        this.positionEmbedding = w.vector(VisionNames.POSITION_EMBEDDING);
        this.preLnW = w.vector(VisionNames.PRE_LAYERNORM.weight());
        this.preLnB = w.vector(VisionNames.PRE_LAYERNORM.bias());
        this.blocks = new VisionBlock[vc.numHiddenLayers()];
        for (int i = 0; i < blocks.length; i++) {
            VisionLayerNames n = ExpectedTensors.visionLayer(i);
            blocks[i] = new VisionBlock(w.vector(n.inputLayernorm().weight()), w.vector(n.inputLayernorm().bias()),
                    w.matrix(n.queryKeyValue().weight(), null), w.vector(n.queryKeyValue().bias()),
                    w.matrix(n.dense().weight(), null), w.vector(n.dense().bias()),
                    w.vector(n.postAttentionLayernorm().weight()), w.vector(n.postAttentionLayernorm().bias()),
                    w.matrix(n.fc1().weight(), null), w.vector(n.fc1().bias()),
                    w.matrix(n.fc2().weight(), null), w.vector(n.fc2().bias()));
        }
        this.postLnW = w.vector(VisionNames.POST_LAYERNORM.weight());
        this.postLnB = w.vector(VisionNames.POST_LAYERNORM.bias());

        // visual abstractor; position tables from the checkpoint when stored, else computed
        int ah = ac.hiddenSize(), nq = ac.numLearnableQueries();
        if (ac.encoderHiddenSize() != ah) {
            throw new Owl2jException("abstractor encoder_hidden_size " + ac.encoderHiddenSize() + " must equal its hidden_size " + ah);
        }
        this.queryEmbeds = w.vector(AbstractorNames.QUERY_EMBEDS);
        Buffer computedQ = null, computedK = null;
        this.absLayers = new AbstractorLayer[ac.numHiddenLayers()];
        for (int i = 0; i < absLayers.length; i++) {
            AbstractorLayerNames n = ExpectedTensors.abstractorLayer(i);
            Buffer qPos, kPos;
            if (w.contains(n.qPosEmbed())) {
                qPos = w.vector(n.qPosEmbed());
            } else {
                if (computedQ == null) computedQ = w.upload(SinCosPositions.queryTable(ah, nq));
                qPos = computedQ;
            }
            if (w.contains(n.kPosEmbed())) {
                kPos = w.vector(n.kPosEmbed());
            } else {
                if (computedK == null) computedK = w.upload(SinCosPositions.keyTable(ah, ac.gridSize()));
                kPos = computedK;
            }
            absLayers[i] = new AbstractorLayer(
                    w.vector(n.norm1().weight()), w.vector(n.norm1().bias()),
                    w.vector(n.normk().weight()), w.vector(n.normk().bias()), qPos, kPos,
                    w.matrix(n.query().weight(), null), w.vector(n.query().bias()),
                    w.matrix(n.key().weight(), null), w.vector(n.key().bias()),
                    w.matrix(n.value().weight(), null), w.vector(n.value().bias()),
                    w.matrix(n.outProj().weight(), null), w.vector(n.outProj().bias()),
                    w.vector(n.norm2().weight()), w.vector(n.norm2().bias()),
                    w.matrix(n.w1().weight(), null), w.vector(n.w1().bias()),
                    w.matrix(n.w3().weight(), null), w.vector(n.w3().bias()),
                    w.vector(n.ffnLn().weight()), w.vector(n.ffnLn().bias()),
                    w.matrix(n.w2().weight(), null), w.vector(n.w2().bias()));
        }
        this.visualFc = w.matrix(AbstractorNames.VISUAL_FC.weight(), null);
        this.visualFcBias = w.vector(AbstractorNames.VISUAL_FC.bias());
        this.vitEos = w.tensor(AbstractorNames.VIT_EOS).toFloatArray();

        Device d = ctx.device();
        this.description = String.format("%s:%d %s, %s weights%s, %.2f GiB on device", d.api().id(), d.index(), d.name(),
                embedType, quant != null ? " (decoder linears " + quant + ")" : "", w.uploadedBytes() / (double) (1L << 30));
    }

    private Buffer alloc(long floats) {
        Buffer b = ctx.allocate(Math.max(1, floats) * 4);
        scratch.add(b);
        return b;
    }

    /** Fails before any upload when the device cannot hold the weights plus one session's KV cache. */
    private void checkMemory(TensorSource source, DType quant) {
        long needed = 0;
        ExpectedTensors expected = ExpectedTensors.forConfig(cfg);
        for (String name : source.names()) {
            // every stored tensor counts, as if uploaded; one the config does not know is sized as stored
            Tensor t = source.get(name);
            Expected e = expected.get(name);
            boolean matrix = e != null ? e.matrix() : t.rank() >= 2;
            boolean projection = e != null && e.kind() == Kind.DECODER_PROJECTION;
            needed += matrix ? DeviceWeights.matrixBytes(t, projection ? quant : null) : t.numel() * 4;
        }
        needed += 2L * layersN * capacity * kvDim * 4;              // one session's KV cache
        needed += 2L * capacity * (headDim / 2) * 4;                // rope tables
        needed += (long) MAX_CHUNK * (4L * hidden + 2L * qDim + 2L * kvDim + 2L * inter) * 4; // decoder activations
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

    // ------------------------------------------------------------------------------------------------------
    // helpers

    private void run(Launch l) {
        ctx.launch(l);
    }

    /**
     * y[t] = W·x[t] for n rows: tiled matmul for many rows of float weights (on CUDA sm_80+ with F16 weights:
     * tensor cores, activations rounded to F16, F32 accumulation; unexecuted, see docs/gpu.md), the matvec
     * kernel otherwise.
     */
    private Launch mm(Mat m, Buffer in, int inOff, int inStride, Buffer out, int outOff, int outStride, int n) {
        if (m.type().quantized() || n <= 2) {
            return k.linear(m.type(), m.buffer(), in, inOff, inStride, out, outOff, outStride, m.rows(), m.cols(), n);
        }
        if (m.type() == WeightType.F16 && n >= TENSOR_CORE_MIN_TOKENS && TENSOR_CORES && k.tensorCoreMatmul() && m.cols() % 16 == 0) {
            return k.matmulTensorCores(m.buffer(), in, inOff, inStride, out, outOff, outStride, m.rows(), m.cols(), n);
        }
        return k.matmul(m.type(), m.buffer(), in, inOff, inStride, out, outOff, outStride, m.rows(), m.cols(), n);
    }

    /** y = W·x + b over n contiguous rows. */
    private void affine(Mat m, Buffer bias, Buffer in, int inOff, Buffer out, int outOff, int n) {
        run(mm(m, in, inOff, m.cols(), out, outOff, m.rows(), n));
        run(k.biasAdd(out, outOff, bias, n, m.rows()));
    }

    /**
     * Multiway y[t] = W[modality[t]]·x[t] (the MAM): with quantized weights one select launch; with float weights
     * one tiled matmul per run of equal modality (a chunk is usually text, one image, text).
     */
    private void multiway(Mat[] ways, int[] mod, Buffer in, Buffer out, int n) {
        Mat m0 = ways[0];
        if (m0.type().quantized() || n <= 2) {
            run(k.linearSelect(m0.type(), m0.buffer(), ways[1].buffer(), modality, 0, in, 0, m0.cols(), out, 0, m0.rows(),
                    m0.rows(), m0.cols(), n));
            return;
        }
        int s = 0;
        while (s < n) {
            int e = s;
            while (e < n && mod[e] == mod[s]) e++;
            Mat m = ways[mod[s]];
            run(mm(m, in, s * m.cols(), m.cols(), out, s * m.rows(), m.rows(), e - s));
            s = e;
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // image: vision encoder + abstractor (docs/model.md)

    private void ensureVisionBuffers() {
        if (vX != null) return;
        int vh = vc.hiddenSize(), seq = vc.seqLen(), grid = vc.gridSize(), patchDim = vc.numChannels() * vc.patchSize() * vc.patchSize();
        int ah = ac.hiddenSize(), nq = ac.numLearnableQueries(), keys = nq + seq;
        vPatches = alloc((long) grid * grid * patchDim);
        vX = alloc((long) seq * vh);
        vA = alloc((long) seq * vh);
        vQkv = alloc((long) seq * 3 * vh);
        vAttn = alloc((long) seq * vh);
        vMlp = alloc((long) seq * vc.intermediateSize());
        absH = alloc((long) nq * ah);
        absC = alloc((long) keys * ah);
        absWithPos = alloc((long) keys * ah);
        absQ = alloc((long) nq * ah);
        absK = alloc((long) keys * ah);
        absV = alloc((long) keys * ah);
        absAttn = alloc((long) nq * ah);
        absTmp = alloc((long) nq * ah);
        absGate = alloc((long) nq * ac.intermediateSize());
        absUp = alloc((long) nq * ac.intermediateSize());
        absOut = alloc((long) nq * hidden);
        dummyParams = alloc(1);
    }

    @Override
    public synchronized float[] encodeImage(float[] pixelValues) {
        int size = vc.imageSize(), ch = vc.numChannels();
        if (pixelValues.length != ch * size * size) {
            throw new Owl2jException("pixel values have " + pixelValues.length + " floats, expected "
                    + ch * size * size + " (" + ch + "x" + size + "x" + size + ")");
        }
        try {
            ensureVisionBuffers();
            vPatches.write(extractPatches(pixelValues), 0);
            float[] features = null; // stays on the device
            visionForward();
            abstractorForward();
            ctx.finish();
            int nq = ac.numLearnableQueries();
            float[] out = new float[(nq + 1) * hidden];
            System.arraycopy(absOut.readFloats(0, nq * hidden), 0, out, 0, nq * hidden);
            System.arraycopy(vitEos, 0, out, nq * hidden, hidden); // vit_eos appended unprojected
            return out;
        } catch (DeviceException e) {
            throw new Owl2jException(ctx.device().describe() + ": " + e.getMessage());
        }
    }

    /** [C, H, W] pixels into [grid², C·P·P] rows (patch = row·grid + col), like the conv weight's flattening. */
    private float[] extractPatches(float[] px) {
        int size = vc.imageSize(), grid = vc.gridSize(), patch = vc.patchSize(), ch = vc.numChannels();
        int patchDim = ch * patch * patch;
        float[] out = new float[grid * grid * patchDim];
        for (int gr = 0; gr < grid; gr++) {
            for (int gc = 0; gc < grid; gc++) {
                int o = (gr * grid + gc) * patchDim;
                for (int c = 0; c < ch; c++) {
                    for (int ky = 0; ky < patch; ky++) {
                        System.arraycopy(px, (c * size + gr * patch + ky) * size + gc * patch, out, o, patch);
                        o += patch;
                    }
                }
            }
        }
        return out;
    }

    /** Leaves the 1025 post-LN token states in vX. */
    private void visionForward() {
        int vh = vc.hiddenSize(), seq = vc.seqLen(), nPatches = vc.gridSize() * vc.gridSize();
        float veps = (float) vc.layerNormEps();
        int vHeads = vc.numAttentionHeads(), vHeadDim = vc.headDim();
        // step 1-2: patch conv as matmul into rows 1.., CLS into row 0, + learned positions
        run(mm(patchEmbed, vPatches, 0, patchEmbed.cols(), vX, vh, vh, nPatches));
        run(k.copy(vX, 0, clsToken, 0, vh));
        run(k.add(vX, 0, positionEmbedding, 0, seq * vh));
        // step 3: pre_layernorm
        run(k.layernorm(vX, 0, vX, 0, preLnW, preLnB, seq, vh, veps));
        float scale = (float) (1.0 / Math.sqrt(vHeadDim));
        for (VisionBlock b : blocks) {
            run(k.layernorm(vX, 0, vA, 0, b.ln1W(), b.ln1B(), seq, vh, veps));
            affine(b.qkv(), b.qkvB(), vA, 0, vQkv, 0, seq);
            // fused features per head then q/k/v
            int row = 3 * vh, hs = 3 * vHeadDim;
            run(k.attention(new Layout(vQkv, 0, row, hs), new Layout(vQkv, vHeadDim, row, hs), new Layout(vQkv, 2 * vHeadDim, row, hs),
                    new Layout(vAttn, 0, vh, vHeadDim), seq, vHeads, vHeads, vHeadDim, scale, false, seq, dummyParams, 0));
            affine(b.dense(), b.denseB(), vAttn, 0, vA, 0, seq);
            run(k.add(vX, 0, vA, 0, seq * vh));
            run(k.layernorm(vX, 0, vA, 0, b.ln2W(), b.ln2B(), seq, vh, veps));
            affine(b.fc1(), b.fc1B(), vA, 0, vMlp, 0, seq);
            run(k.quickGelu(vMlp, seq * vc.intermediateSize()));
            affine(b.fc2(), b.fc2B(), vMlp, 0, vA, 0, seq);
            run(k.add(vX, 0, vA, 0, seq * vh));
        }
        // post_layernorm over all tokens, CLS kept
        run(k.layernorm(vX, 0, vX, 0, postLnW, postLnB, seq, vh, veps));
    }

    /** Reads vX, leaves visual_fc(h) [64, hidden] in absOut. */
    private void abstractorForward() {
        int ah = ac.hiddenSize(), nq = ac.numLearnableQueries(), seq = vc.seqLen(), keys = nq + seq, ai = ac.intermediateSize();
        float nEps = (float) AbstractorConfig.ATTENTION_NORM_EPS;
        int aHeads = ac.numAttentionHeads(), aHeadDim = ac.headDim();
        float scale = (float) (1.0 / Math.sqrt(aHeadDim));
        run(k.copy(absH, 0, queryEmbeds, 0, nq * ah));
        for (AbstractorLayer L : absLayers) {
            // steps 1-3: C = [norm1(h) ; normk(X)]
            run(k.layernorm(absH, 0, absC, 0, L.norm1W(), L.norm1B(), nq, ah, nEps));
            run(k.layernorm(vX, 0, absC, nq * ah, L.normkW(), L.normkB(), seq, ah, nEps));
            // step 4: Q = query(hn + Pq); K = key(C + [Pq ; Pk]); V = value(C)
            run(k.copy(absWithPos, 0, absC, 0, keys * ah));
            run(k.add(absWithPos, 0, L.qPos(), 0, nq * ah));
            run(k.add(absWithPos, nq * ah, L.kPos(), 0, seq * ah));
            affine(L.query(), L.queryB(), absWithPos, 0, absQ, 0, nq);
            affine(L.key(), L.keyB(), absWithPos, 0, absK, 0, keys);
            affine(L.value(), L.valueB(), absC, 0, absV, 0, keys);
            // step 5: unmasked attention, contiguous heads
            run(k.attention(new Layout(absQ, 0, ah, aHeadDim), new Layout(absK, 0, ah, aHeadDim), new Layout(absV, 0, ah, aHeadDim),
                    new Layout(absAttn, 0, ah, aHeadDim), nq, aHeads, aHeads, aHeadDim, scale, false, keys, dummyParams, 0));
            // the residual starts from the normalised query: h = hn + out_proj(A)
            affine(L.outProj(), L.outProjB(), absAttn, 0, absH, 0, nq);
            run(k.add(absH, 0, absC, 0, nq * ah));
            // ffn_ln inside the gated MLP: h += w2(ffn_ln(SiLU(w1 z) * w3 z)), z = norm2(h)
            run(k.layernorm(absH, 0, absTmp, 0, L.norm2W(), L.norm2B(), nq, ah, nEps));
            affine(L.w1(), L.w1B(), absTmp, 0, absGate, 0, nq);
            affine(L.w3(), L.w3B(), absTmp, 0, absUp, 0, nq);
            run(k.siluMul(absGate, absUp, nq * ai));
            run(k.layernorm(absGate, 0, absGate, 0, L.ffnLnW(), L.ffnLnB(), nq, ai, (float) ac.layerNormEps()));
            affine(L.w2(), L.w2B(), absGate, 0, absTmp, 0, nq);
            run(k.add(absH, 0, absTmp, 0, nq * ah));
        }
        // no final norm; visual_fc on the queries
        affine(visualFc, visualFcBias, absH, 0, absOut, 0, nq);
    }

    // ------------------------------------------------------------------------------------------------------
    // decoder

    /**
     * One decode step of several sessions of this engine in one set of launches: the weight matrices are read
     * once per row for all sessions' tokens ({@link Kernels#linearBatch}, up to 8 tokens a launch), while RoPE,
     * the KV append and attention run per session at its own position over its own cache. Other sessions (or a
     * single one) go through the default one-by-one path. Logits equal those of single steps.
     */
    @Override
    public List<float[]> stepBatch(List<Session> sessions, int[] tokens) {
        if (sessions.size() != tokens.length) {
            throw new Owl2jException(sessions.size() + " sessions but " + tokens.length + " tokens");
        }
        int n = sessions.size();
        java.util.Set<Session> distinct = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Session s : sessions) {
            if (!(s instanceof DeviceSession ds) || ds.engine() != this || !distinct.add(s)) {
                return Engine.super.stepBatch(sessions, tokens);
            }
        }
        if (n <= 1) return Engine.super.stepBatch(sessions, tokens);
        List<float[]> out = new ArrayList<>(n);
        for (int i0 = 0; i0 < n; i0 += MAX_CHUNK) {
            int m = Math.min(MAX_CHUNK, n - i0);
            DeviceSession[] group = new DeviceSession[m];
            for (int i = 0; i < m; i++) {
                group[i] = (DeviceSession) sessions.get(i0 + i);
                group[i].checkStep(tokens[i0 + i]);
            }
            out.addAll(stepGroup(group, java.util.Arrays.copyOfRange(tokens, i0, i0 + m)));
        }
        return out;
    }

    /** How many batched steps (of two or more sessions) {@link #stepBatch} has run, for tests and metrics. */
    public synchronized long batchedSteps() {
        return batchedSteps;
    }

    private synchronized List<float[]> stepGroup(DeviceSession[] group, int[] tokens) {
        int n = group.length;
        batchedSteps++;
        try {
            int[] host = new int[2 * n];
            for (int i = 0; i < n; i++) {
                host[i] = group[i].position;
                host[n + i] = tokens[i];
            }
            batchParams.write(host, 0);
            if (batchLogitsRows < n) {
                if (batchLogits != null) {
                    scratch.remove(batchLogits);
                    batchLogits.close();
                }
                batchLogits = alloc((long) n * vocab);
                batchLogitsRows = n;
            }
            float scale = (float) (1.0 / Math.sqrt(headDim));
            run(k.gatherRows(embedType, embedTokens, batchParams, n, x, hidden, n));
            for (int l = 0; l < layersN; l++) {
                DecoderLayer L = layers[l];
                // generated tokens are text: multiway.0 throughout
                run(k.rmsnorm(x, 0, a, 0, L.inputNorm()[0], n, hidden, eps));
                batchLinear(L.qProj(), a, hidden, q, qDim, n);
                batchLinear(L.kProj()[0], a, hidden, kk, kvDim, n);
                batchLinear(L.vProj()[0], a, hidden, vv, kvDim, n);
                for (int i = 0; i < n; i++) {
                    DeviceSession s = group[i];
                    run(k.rope(q, i * qDim, qDim, heads, headDim, ropeCos, ropeSin, batchParams, i, 1));
                    run(k.rope(kk, i * kvDim, kvDim, kvHeads, headDim, ropeCos, ropeSin, batchParams, i, 1));
                    run(k.copyRowsAt(s.keyCache[l], kk, i * kvDim, kvDim, 1, batchParams, i));
                    run(k.copyRowsAt(s.valueCache[l], vv, i * kvDim, kvDim, 1, batchParams, i));
                    run(k.attention(new Layout(q, i * qDim, qDim, headDim), new Layout(s.keyCache[l], 0, kvDim, headDim),
                            new Layout(s.valueCache[l], 0, kvDim, headDim), new Layout(attn, i * qDim, qDim, headDim),
                            1, heads, kvHeads, headDim, scale, true, 0, batchParams, i));
                }
                batchLinear(L.oProj(), attn, qDim, tmp, hidden, n);
                run(k.add(x, 0, tmp, 0, n * hidden));
                run(k.rmsnorm(x, 0, a, 0, L.postNorm()[0], n, hidden, eps));
                batchLinear(L.gateProj(), a, hidden, gate, inter, n);
                batchLinear(L.upProj(), a, hidden, up, inter, n);
                run(k.siluMul(gate, up, n * inter));
                batchLinear(L.downProj(), gate, inter, tmp, hidden, n);
                run(k.add(x, 0, tmp, 0, n * hidden));
            }
            run(k.rmsnorm(x, 0, a, 0, finalNorm, n, hidden, eps));
            batchLinear(lmHead, a, hidden, batchLogits, vocab, n);
            ctx.finish();
            float[] all = batchLogits.readFloats(0, n * vocab);
            List<float[]> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(java.util.Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab));
                group[i].position++;
            }
            return out;
        } catch (DeviceException e) {
            throw new Owl2jException(ctx.device().describe() + ": " + e.getMessage());
        }
    }

    /** y[t] = W·x[t] for n contiguous rows, each weight row read once per launch of up to 8 rows. */
    private void batchLinear(Mat m, Buffer in, int inStride, Buffer out, int outStride, int n) {
        for (int t0 = 0; t0 < n; t0 += Kernels.MAX_BATCH) {
            int b = Math.min(Kernels.MAX_BATCH, n - t0);
            run(k.linearBatch(m.type(), m.buffer(), in, t0 * inStride, inStride, out, t0 * outStride, outStride,
                    m.rows(), m.cols(), b));
        }
    }

    @Override
    public Session newSession() {
        return new DeviceSession();
    }

    /** One conversation: its KV cache on the device and its decode plan (built on the first step). */
    private final class DeviceSession implements Session, DeviceSampling {
        private final Buffer[] keyCache = new Buffer[layersN];
        private final Buffer[] valueCache = new Buffer[layersN];
        private final Buffer stepParams;
        /** {position, token, then a sampling block (Kernels.packSampling) whose last int is the picked token}. */
        private final int[] stepHost = new int[2 + Kernels.SAMPLE_PARAMS];
        private final int[] sampledHost = new int[2 + Kernels.SAMPLE_PARAMS];
        private final float[] stepLogits = new float[vocab];
        private ExecutionPlan decodePlan, sampledPlan;
        private int position;
        private boolean closed;

        DeviceSession() {
            synchronized (DeviceEngine.this) {
                try {
                    for (int l = 0; l < layersN; l++) {
                        keyCache[l] = ctx.allocate((long) capacity * kvDim * 4);
                        valueCache[l] = ctx.allocate((long) capacity * kvDim * 4);
                    }
                    stepParams = ctx.allocate(4L * stepHost.length);
                } catch (DeviceException e) {
                    freeCaches();
                    throw new Owl2jException(ctx.device().describe() + ": no room for another session's KV cache (" + e.getMessage() + ")");
                }
            }
        }

        @Override
        public float[] prefill(int[] tokenIds, List<float[]> imageTokens) {
            Spliced s = splice(tokenIds, imageTokens);
            if (position + s.length > capacity) {
                throw new Owl2jException("the conversation needs " + (position + s.length) + " positions but the context holds " + capacity);
            }
            synchronized (DeviceEngine.this) {
                try {
                    float[] out = null;
                    for (int c0 = 0; c0 < s.length; c0 += MAX_CHUNK) {
                        int n = Math.min(MAX_CHUNK, s.length - c0);
                        boolean last = c0 + n == s.length;
                        prefillChunk(s, c0, n, last);
                        position += n;
                        if (last) {
                            out = new float[vocab];
                            ctx.finish();
                            out = logits.readFloats(0, vocab);
                        }
                    }
                    return out;
                } catch (DeviceException e) {
                    throw new Owl2jException(ctx.device().describe() + ": " + e.getMessage());
                }
            }
        }

        private void prefillChunk(Spliced s, int c0, int n, boolean last) {
            int[] chunkIds = java.util.Arrays.copyOfRange(s.ids, c0, c0 + n);
            int[] mod = java.util.Arrays.copyOfRange(s.modality, c0, c0 + n);
            ids.write(chunkIds, 0);
            modality.write(mod, 0);
            params.write(new int[]{position}, 0);
            // splice: visual rows uploaded at their positions, text rows gathered from embed_tokens
            for (int t = 0; t < n; t++) {
                if (chunkIds[t] < 0) x.write(s.visual[c0 + t], (long) t * hidden);
            }
            run(k.gatherRows(embedType, embedTokens, ids, 0, x, hidden, n));
            for (int l = 0; l < layersN; l++) {
                DecoderLayer L = layers[l];
                // a = RMSNorm_in[m](x); q = Wq a; k = Wk[m] a; v = Wv[m] a
                run(k.rmsnormSelect(x, 0, a, 0, L.inputNorm()[0], L.inputNorm()[1], modality, 0, n, hidden, eps));
                run(mm(L.qProj(), a, 0, hidden, q, 0, qDim, n));
                multiway(L.kProj(), mod, a, kk, n);
                multiway(L.vProj(), mod, a, vv, n);
                attentionBlock(l, n, params);
                mlpBlock(L, n, mod);
            }
            if (last) {
                // final RMSNorm and lm_head on the last position only
                run(k.rmsnorm(x, (n - 1) * hidden, lastHidden, 0, finalNorm, 1, hidden, eps));
                run(mm(lmHead, lastHidden, 0, hidden, logits, 0, vocab, 1));
            }
        }

        /** RoPE on q/k, cache append, causal attention, x += Wo·attn. */
        private void attentionBlock(int l, int n, Buffer p) {
            DecoderLayer L = layers[l];
            run(k.rope(q, 0, qDim, heads, headDim, ropeCos, ropeSin, p, 0, n));
            run(k.rope(kk, 0, kvDim, kvHeads, headDim, ropeCos, ropeSin, p, 0, n));
            run(k.copyRowsAt(keyCache[l], kk, 0, kvDim, n, p, 0));
            run(k.copyRowsAt(valueCache[l], vv, 0, kvDim, n, p, 0));
            run(k.attention(new Layout(q, 0, qDim, headDim), new Layout(keyCache[l], 0, kvDim, headDim),
                    new Layout(valueCache[l], 0, kvDim, headDim), new Layout(attn, 0, qDim, headDim),
                    n, heads, kvHeads, headDim, (float) (1.0 / Math.sqrt(headDim)), true, 0, p, 0));
            run(mm(L.oProj(), attn, 0, qDim, tmp, 0, hidden, n));
            run(k.add(x, 0, tmp, 0, n * hidden));
        }

        /** b = RMSNorm_post[m](x); x += Wdown(SiLU(Wgate b) * Wup b). mod null: all text. */
        private void mlpBlock(DecoderLayer L, int n, int[] mod) {
            if (mod == null) {
                run(k.rmsnorm(x, 0, a, 0, L.postNorm()[0], n, hidden, eps));
            } else {
                run(k.rmsnormSelect(x, 0, a, 0, L.postNorm()[0], L.postNorm()[1], modality, 0, n, hidden, eps));
            }
            run(mm(L.gateProj(), a, 0, hidden, gate, 0, inter, n));
            run(mm(L.upProj(), a, 0, hidden, up, 0, inter, n));
            run(k.siluMul(gate, up, n * inter));
            run(mm(L.downProj(), gate, 0, inter, tmp, 0, hidden, n));
            run(k.add(x, 0, tmp, 0, n * hidden));
        }

        /**
         * The decode step as a task graph: token and position (and sampling parameters) uploaded every run; the
         * logits downloaded, or with {@code sampled} the token the sampling kernel picked from them.
         */
        private ExecutionPlan buildDecodePlan(boolean sampled) {
            TaskGraph g = new TaskGraph("decode-step")
                    .transferToDevice(TaskGraph.Mode.EVERY_EXECUTION, stepParams, stepHost)
                    .resident(w.buffers().toArray(Buffer[]::new))
                    .resident(scratch.toArray(Buffer[]::new))
                    .resident(keyCache).resident(valueCache);
            g.task("embed", k.gatherRows(embedType, embedTokens, stepParams, 1, x, hidden, 1));
            for (int l = 0; l < layersN; l++) {
                DecoderLayer L = layers[l];
                String p = "layer" + l + ".";
                // generated tokens are text: multiway.0 throughout
                g.task(p + "input_norm", k.rmsnorm(x, 0, a, 0, L.inputNorm()[0], 1, hidden, eps));
                g.task(p + "q_proj", mm(L.qProj(), a, 0, hidden, q, 0, qDim, 1));
                g.task(p + "k_proj", mm(L.kProj()[0], a, 0, hidden, kk, 0, kvDim, 1));
                g.task(p + "v_proj", mm(L.vProj()[0], a, 0, hidden, vv, 0, kvDim, 1));
                g.task(p + "rope_q", k.rope(q, 0, qDim, heads, headDim, ropeCos, ropeSin, stepParams, 0, 1));
                g.task(p + "rope_k", k.rope(kk, 0, kvDim, kvHeads, headDim, ropeCos, ropeSin, stepParams, 0, 1));
                g.task(p + "cache_k", k.copyRowsAt(keyCache[l], kk, 0, kvDim, 1, stepParams, 0));
                g.task(p + "cache_v", k.copyRowsAt(valueCache[l], vv, 0, kvDim, 1, stepParams, 0));
                g.task(p + "attention", k.attention(new Layout(q, 0, qDim, headDim), new Layout(keyCache[l], 0, kvDim, headDim),
                        new Layout(valueCache[l], 0, kvDim, headDim), new Layout(attn, 0, qDim, headDim),
                        1, heads, kvHeads, headDim, (float) (1.0 / Math.sqrt(headDim)), true, 0, stepParams, 0));
                g.task(p + "o_proj", mm(L.oProj(), attn, 0, qDim, tmp, 0, hidden, 1));
                g.task(p + "residual1", k.add(x, 0, tmp, 0, hidden));
                g.task(p + "post_norm", k.rmsnorm(x, 0, a, 0, L.postNorm()[0], 1, hidden, eps));
                g.task(p + "gate_proj", mm(L.gateProj(), a, 0, hidden, gate, 0, inter, 1));
                g.task(p + "up_proj", mm(L.upProj(), a, 0, hidden, up, 0, inter, 1));
                g.task(p + "silu_mul", k.siluMul(gate, up, inter));
                g.task(p + "down_proj", mm(L.downProj(), gate, 0, inter, tmp, 0, hidden, 1));
                g.task(p + "residual2", k.add(x, 0, tmp, 0, hidden));
            }
            g.task("final_norm", k.rmsnorm(x, 0, lastHidden, 0, finalNorm, 1, hidden, eps));
            g.task("lm_head", mm(lmHead, lastHidden, 0, hidden, logits, 0, vocab, 1));
            if (sampled) {
                g.task("sample", k.sample(logits, 0, vocab, sampleWork, stepParams, 2));
                g.transferToHost(stepParams, sampledHost);
            } else {
                g.transferToHost(logits, stepLogits);
            }
            return g.plan(ctx);
        }

        DeviceEngine engine() {
            return DeviceEngine.this;
        }

        private void checkStep(int token) {
            if (token < 0 || token >= vocab) {
                throw new Owl2jException("token id " + token + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
            if (position + 1 > capacity) {
                throw new Owl2jException("the conversation needs " + (position + 1) + " positions but the context holds " + capacity);
            }
        }

        @Override
        public int stepSampled(int token, SamplingParams p, double uniform) {
            checkStep(token);
            synchronized (DeviceEngine.this) {
                try {
                    if (sampledPlan == null) sampledPlan = buildDecodePlan(true);
                    stepHost[0] = position;
                    stepHost[1] = token;
                    Kernels.packSampling(stepHost, 2, p.temperature(), p.topK(), p.topP(), uniform);
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
            synchronized (DeviceEngine.this) {
                try {
                    if (decodePlan == null) decodePlan = buildDecodePlan(false);
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

        @Override
        public int position() {
            return position;
        }

        @Override
        public int capacity() {
            return capacity;
        }

        /** The decode plan's description ("opencl enqueue list, N tasks"), or null before the first step. */
        String planDescription() {
            return decodePlan == null ? null : decodePlan.description();
        }

        private void freeCaches() {
            for (Buffer b : keyCache) if (b != null) b.close();
            for (Buffer b : valueCache) if (b != null) b.close();
        }

        @Override
        public void close() {
            synchronized (DeviceEngine.this) {
                if (closed) return;
                closed = true;
                if (decodePlan != null) decodePlan.close();
                if (sampledPlan != null) sampledPlan.close();
                freeCaches();
                if (stepParams != null) stepParams.close();
            }
        }
    }

    /** A prompt chunk after splicing: ids with -1 at visual positions, their vectors, modality. */
    private record Spliced(int[] ids, float[][] visual, int[] modality, int length) {}

    private Spliced splice(int[] tokenIds, List<float[]> images) {
        int per = cfg.tokensPerImage();
        int placeholders = 0;
        for (int id : tokenIds) if (id == -200) placeholders++;
        if (placeholders != images.size()) {
            throw new Owl2jException("the prompt has " + placeholders + " image placeholder(s) but " + images.size() + " image(s) were given");
        }
        if (tokenIds.length == 0) throw new Owl2jException("the prompt is empty");
        for (int i = 0; i < images.size(); i++) {
            if (images.get(i).length != per * hidden) {
                throw new Owl2jException("image " + i + " has " + images.get(i).length + " visual-token floats, expected " + per + "x" + hidden);
            }
        }
        int length = tokenIds.length - placeholders + placeholders * per;
        int[] outIds = new int[length];
        int[] mod = new int[length];
        float[][] visual = new float[length][];
        int pos = 0, image = 0;
        for (int id : tokenIds) {
            if (id == -200) {
                float[] img = images.get(image++);
                for (int j = 0; j < per; j++) {
                    outIds[pos] = -1;
                    mod[pos] = 1;
                    visual[pos] = java.util.Arrays.copyOfRange(img, j * hidden, (j + 1) * hidden);
                    pos++;
                }
            } else {
                if (id < 0 || id >= vocab) throw new Owl2jException("token id " + id + " is outside the vocabulary (0.." + (vocab - 1) + ")");
                outIds[pos++] = id;
            }
        }
        return new Spliced(outIds, visual, mod, length);
    }

    @Override
    public synchronized void close() {
        for (Buffer b : scratch) b.close();
        scratch.clear();
        if (w != null) w.close();
        ctx.close();
        // the weights belong to whoever opened them (as with CpuEngine): they are not closed here
    }
}
