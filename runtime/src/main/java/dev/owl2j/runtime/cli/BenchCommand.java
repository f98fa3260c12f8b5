package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.Settings;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.Parallel;
import dev.owl2j.model.cpu.kernel.HugePages;
import dev.owl2j.model.cpu.kernel.MachinePeaks;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.runtime.engine.BenchEngines;
import dev.owl2j.runtime.engine.CpuEngine;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.Engines;
import dev.owl2j.runtime.engine.device.DeviceEngine;
import dev.owl2j.runtime.generation.GenerationStats;
import dev.owl2j.runtime.generation.Sampler;
import dev.owl2j.runtime.synthetic.SyntheticWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code owl2j bench --synthetic 7b|tiny [--backend cpu|opencl|cuda|vulkan]}: an engine's speed at the real model's shapes
 * with random weights made in memory (no checkpoint needed), measured through the {@link Engine} interface, next
 * to this machine's measured memory bandwidth and FMA peak, so CPU decode can be read as a fraction of the
 * bandwidth bound and the vision GEMMs as a fraction of the FMA bound (those two figures are the CPU's; a device
 * engine gets the times and rates).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure image encode, prefill and decode speed on synthetic (random) weights at real shapes.")
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--synthetic", required = true, paramLabel = "7b|tiny",
            description = "Model shapes: 7b (mPLUG-Owl2 LLaMA-2-7B release) or tiny (the test fixture's shapes).")
    String synthetic;

    @Option(names = "--quant", paramLabel = "q8_0|q4_0", description = "Decoder projections in this format (default: F16 like the release).")
    String quant;

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "cpu|opencl|cuda|vulkan|java|auto",
            description = "Engine to measure (default ${DEFAULT-VALUE}; auto = CUDA, else a discrete GPU through Vulkan, else an OpenCL GPU, else the CPU).")
    String backend;

    @Option(names = "--device", defaultValue = "0", paramLabel = "N", description = "Device index for opencl/cuda/vulkan (default ${DEFAULT-VALUE}).")
    int device;

    @Option(names = "--threads", paramLabel = "N", description = "CPU worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "32", description = "Decode steps to time (default ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--prefill-text", paramLabel = "N", defaultValue = "50", description = "Text tokens after the image in the prompt (default ${DEFAULT-VALUE}).")
    int prefillText;

    @Option(names = "--skip-vision", description = "Skip the image encoder (text-only prefill).")
    boolean skipVision;

    @Option(names = "--peaks-ms", paramLabel = "MS", defaultValue = "1500", description = "Milliseconds for each machine-peak measurement, after a warm-up (default ${DEFAULT-VALUE}; at least 5 passes are timed).")
    long peaksMs;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed of the random weights and prompt.")
    long seed;

    @Option(names = "--native", paramLabel = "FILE",
            description = "The native C yardstick's figures for this machine (the TSV that scripts/native-ceiling/run.sh writes): CPU prefill and decode are also printed against its schemes.")
    java.nio.file.Path nativeFile;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Owl2Config cfg = switch (synthetic.toLowerCase(Locale.ROOT)) {
            case "7b" -> Owl2Config.parse("{}"); // the defaults are the release's config
            case "tiny" -> Owl2Config.parse(TINY);
            default -> throw new Owl2jException("unknown --synthetic model '" + synthetic + "' (use 7b or tiny)");
        };
        DType q = parseQuant(quant);
        if (decodeTokens < 1 || prefillText < 1) {
            throw new Owl2jException("--decode-tokens and --prefill-text must be at least 1");
        }
        NativeYardstick yardstick = nativeFile == null ? null : NativeYardstick.read(nativeFile);
        Settings settings = Settings.fromSystem();
        if (threads != null) {
            settings = settings.withThreads(threads);
        }
        String chosen = backend.equals("auto") ? DeviceEngine.autoBackend() : backend;
        boolean cpu = chosen.equals("cpu");
        boolean tiny = cfg.hiddenSize() < 1024;

        out.printf(Locale.ROOT, "owl2j bench: synthetic %s, weights F16, decoder projections %s, backend %s%n",
                synthetic, q == null ? "F16" : q.name(), chosen);
        long readBuffer = tiny ? 64L << 20 : 1L << 30;
        if (peaksMs < 0) {
            throw new Owl2jException("--peaks-ms must be 0 or more, got " + peaksMs);
        }
        long measureMs = tiny ? Math.min(peaksMs, 300) : peaksMs;
        // the peaks run on the worker pool, which is process-wide and keeps the thread count it starts with: start it
        // with --threads here, or the measurement would fix it at all processors and --threads would be ignored
        Parallel.start(settings.threads());
        MachinePeaks.Peaks peaks = MachinePeaks.measure(readBuffer, measureMs);
        out.println("machine: " + peaks.format());
        if (yardstick != null && !cpu) {
            out.println("note: --native compares the CPU engine only; backend " + chosen + " is timed without it");
        }
        out.flush();

        SyntheticWeights weights = SyntheticWeights.forConfig(cfg, q, seed);
        // the CPU's vision linears report their own time, so the GEMMs' share of the FMA peak is measured on them alone
        LongAdder visionLinearNanos = new LongAdder();
        long t0 = System.nanoTime();
        try (weights; Engine engine = cpu
                ? BenchEngines.cpu(weights, cfg, "synthetic, " + (q == null ? "F16" : q.name()), settings, visionLinearNanos)
                : Engines.open(weights, cfg, chosen, device, q, settings)) {
            int poolThreads = engine instanceof CpuEngine c ? c.threads() : 0;
            if (threads != null && cpu && threads != poolThreads) {
                out.printf("note: the worker pool was already started with %d threads; --threads %d ignored%n", poolThreads, threads);
            }
            out.printf(Locale.ROOT, "load: %.2f GiB of random weights made in %.1f s; engine: %s%n", weights.byteSize() / GIB,
                    secondsSince(t0), engine.description());
            out.flush();

            SplittableRandom rnd = new SplittableRandom(seed);
            List<float[]> images = new ArrayList<>();
            if (!skipVision) {
                var vc = cfg.vision();
                float[] pixels = new float[vc.numChannels() * vc.imageSize() * vc.imageSize()];
                for (int i = 0; i < pixels.length; i++) pixels[i] = (float) (rnd.nextDouble() * 4 - 2);
                // warm-up, not timed: the first layers of a first encode run before the JIT (or the kernel build)
                long first0 = System.nanoTime();
                engine.encodeImage(pixels);
                out.printf(Locale.ROOT, "first image encode (warm-up, not counted): %.0f ms%n", msSince(first0));
                visionLinearNanos.reset();
                long v0 = System.nanoTime();
                long c0 = cpuNanos();
                images.add(engine.encodeImage(pixels));
                double encodeMs = msSince(v0);
                out.printf(Locale.ROOT, "image encode: %.0f ms (vision tower + abstractor%s)%n", encodeMs,
                        cpu ? "; " + cores((cpuNanos() - c0) / 1e6 / encodeMs, poolThreads) : "");
                if (cpu) {
                    double linearGflop = visionLinearFlops(cfg) / 1e9;
                    double linearMs = visionLinearNanos.sum() / 1e6;
                    out.printf(Locale.ROOT, "vision GEMMs (patch embedding, qkv, dense, fc1, fc2): %.1f GFLOP in %.0f ms -> %.1f GFLOP/s = %s of the FMA peak%n",
                            linearGflop, linearMs, linearGflop / (linearMs / 1000),
                            MachinePeaks.percentOf(linearGflop / (linearMs / 1000), peaks.fmaGflops(), "FMA peak"));
                }
                out.flush();
            }

            int[] ids = prompt(images.size(), prefillText, cfg.vocabSize(), rnd);
            int promptPositions = ids.length - images.size() + images.size() * cfg.tokensPerImage();
            if (promptPositions + decodeTokens > cfg.maxPositionEmbeddings()) {
                throw new Owl2jException("--prefill-text and --decode-tokens need " + (promptPositions + decodeTokens)
                        + " positions but the context holds " + cfg.maxPositionEmbeddings());
            }

            // Warm-up of the decoder (prefill matmul and decode matvec paths, or the device's kernels and decode
            // plan), not timed: the first calls of Vector API code run interpreted, orders of magnitude slower. At
            // least 40 positions (more than the batched-decode kernel's 24 rows, so the prefill matmul path compiles
            // too) and as many as the timed run uses, so that the timed session finds its KV cache memory touched,
            // as a server's sessions after its first do (KVCache, Reserved storage: on a VM that returns freed
            // memory to its host, first touch took 4.5-6 % of a 7B prefill).
            long w0 = System.nanoTime();
            int warmPrefill = Math.max(40, promptPositions + decodeTokens - WARM_STEPS);
            try (Engine.Session warm = engine.newSession(warmPrefill + WARM_STEPS + 1)) {
                float[] wl = warm.prefill(prompt(0, warmPrefill, cfg.vocabSize(), rnd), List.of());
                for (int s = 0; s < WARM_STEPS; s++) {
                    wl = warm.step(Sampler.argmax(wl));
                }
            }
            out.printf(Locale.ROOT, "warm-up (not counted): %d-token prefill + %d steps in %.0f ms%n", warmPrefill,
                    WARM_STEPS, msSince(w0));

            Engine.Session session = engine.newSession(promptPositions + decodeTokens + 1);
            long p0 = System.nanoTime();
            long pc0 = cpuNanos();
            float[] logits = session.prefill(ids, images);
            double prefillMs = msSince(p0);
            double prefillCores = (cpuNanos() - pc0) / 1e6 / prefillMs;
            out.printf(Locale.ROOT, "prefill: %d positions (%d image + %d text) in %.0f ms = %.1f tok/s%s%n",
                    promptPositions, promptPositions - (ids.length - images.size()), ids.length - images.size(),
                    prefillMs, promptPositions / (prefillMs / 1000), cpu ? " (" + cores(prefillCores, poolThreads) + ")" : "");
            if (cpu && yardstick != null) {
                // the whole prefill's time, attention and norms included: a lower bound of the linears' own rate
                double gflop = decoderLinearFlops(cfg, promptPositions) / 1e9;
                double rate = gflop / (prefillMs / 1000);
                out.printf(Locale.ROOT, "prefill against the native yardstick (%s): decoder linears %s GFLOP over the whole prefill = %s GFLOP/s; the C GEMM schemes (7B shapes, Q4_0 weights, 128 positions), %d threads, %d-bit: %s%n",
                        yardstick.about(), NativeYardstick.significant(gflop), NativeYardstick.significant(rate), poolThreads, peaks.vectorBits(),
                        NativeYardstick.against(yardstick.of("prefill", "q4_0", poolThreads, peaks.vectorBits()), rate, poolThreads));
            }
            out.flush();

            // The read bandwidth of these machines moves between runs and within one (docs/performance.md), so the
            // bound is read right before and right after the timed steps rather than only before loading. The reads
            // allocate a buffer that is not the model's: the peak RSS is taken around them (GenerationStats.resetPeakRss).
            long rssPrefill = GenerationStats.peakRss();
            double readBefore = MachinePeaks.memoryBandwidthGBs(readBuffer, measureMs);
            boolean peakReset = GenerationStats.resetPeakRss();

            long d0 = System.nanoTime();
            long dc0 = cpuNanos();
            int token = Sampler.argmax(logits);
            for (int s = 0; s < decodeTokens; s++) {
                token = Sampler.argmax(session.step(token));
            }
            double decodeMs = msSince(d0);
            double decodeCores = (cpuNanos() - dc0) / 1e6 / decodeMs;
            session.close();
            long rss = peakReset ? Math.max(rssPrefill, GenerationStats.peakRss()) : rssPrefill;
            double readAfter = MachinePeaks.memoryBandwidthGBs(readBuffer, measureMs);

            double tokPerS = decodeTokens / (decodeMs / 1000);
            long bytesPerToken = decodeBytesPerToken(weights, cfg);
            double weightGBs = tokPerS * bytesPerToken / 1e9;
            double read = Math.max(readBefore, readAfter);
            double bound = read * 1e9 / bytesPerToken;
            double lower = Math.min(readBefore, readAfter);
            if (!cpu) {
                // a device streams its weights from its own memory: the host's bandwidth bound says nothing about it
                out.printf(Locale.ROOT, "decode: %d tokens in %.0f ms = %.2f tok/s = %.1f GB/s of weights (%.2f GB per token)%n",
                        decodeTokens, decodeMs, tokPerS, weightGBs, bytesPerToken / 1e9);
            } else {
                out.printf(Locale.ROOT, "decode: %d tokens in %.0f ms = %.2f tok/s = %.1f GB/s of weights (%.2f GB per token; bandwidth bound %.2f tok/s at %.1f GB/s, the higher of the reads right before and after decoding: %.1f, %.1f) -> %s of the bound; %s%n",
                        decodeTokens, decodeMs, tokPerS, weightGBs, bytesPerToken / 1e9, bound, read,
                        readBefore, readAfter, MachinePeaks.percentOf(weightGBs, read, "memory read"), cores(decodeCores, poolThreads));
            }
            if (cpu && yardstick != null) {
                String qn = q == null ? "f16" : q.name().toLowerCase(Locale.ROOT);
                List<NativeYardstick.Figure> schemes = new ArrayList<>(yardstick.of("decode", qn, poolThreads, peaks.vectorBits()));
                schemes.addAll(yardstick.of("read", null, poolThreads, peaks.vectorBits()));
                out.printf(Locale.ROOT, "decode against the native yardstick (%s): %s GB/s of weights; the C row-dot schemes (%s, from DRAM) and plain reads, %d threads, %d-bit: %s%n",
                        yardstick.about(), NativeYardstick.significant(weightGBs), q == null ? "none for F16" : q.name(), poolThreads, peaks.vectorBits(),
                        NativeYardstick.against(schemes, weightGBs, poolThreads));
            }
            if (cpu && lower < 0.8 * read) {
                out.printf(Locale.ROOT, "note: the two reads differ by more than 20%%: the machine's bandwidth changed during decoding; against the lower read (%.1f GB/s) decode is %s of the bound%n",
                        lower, MachinePeaks.percentOf(weightGBs, lower, "lower memory read"));
            }
            out.printf(Locale.ROOT, "peak RSS: %s%n", rss < 0 ? "n/a" : String.format(Locale.ROOT, "%.2f GiB%s", rss / GIB,
                    peakReset ? "" : " (up to the end of prefill: this system cannot reset the peak around the bandwidth reads)"));
            if (cpu) {
                out.println(hugePagesLine(HugePages.used(), GenerationStats.anonHugePages()));
            }
            out.flush();
        }
        return 0;
    }

    /** What the CPU engine's weight tiles and KV caches got from the system's transparent huge pages (HugePages). */
    static String hugePagesLine(boolean asked, long hugeBytes) {
        if (!asked) {
            return "huge pages: not asked for (-Dowl2j.hugePages=false, or not Linux on x86-64 or AArch64)";
        }
        if (hugeBytes < 0) {
            return "huge pages: asked for; this system does not say how many it lent";
        }
        return String.format(Locale.ROOT, "huge pages: %.2f GiB of this process's memory in 2 MiB pages%s", hugeBytes / GIB,
                hugeBytes == 0 ? " (allocations under 2 MiB keep small pages; otherwise the system lent none: see"
                        + " /sys/kernel/mm/transparent_hugepage/enabled)" : "");
    }

    /**
     * Untimed decode steps before timing: with 3, the first timed steps still ran slower code than the steady rate
     * (7B Q8_0 over 8 tokens 4.06 tok/s, over 32 tokens 5.3-6.1; docs/performance-log.md).
     */
    private static final int WARM_STEPS = 8;

    /** CPU time of this process, so a busy shared machine shows up next to the figures. */
    private static long cpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }

    private static String cores(double busy, int threads) {
        return String.format(Locale.ROOT, "%.2f of %d threads busy on average", busy, threads);
    }

    private static final double GIB = 1024.0 * 1024 * 1024;

    private static DType parseQuant(String s) {
        if (s == null) return null;
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            case "f16", "none" -> null;
            default -> throw new Owl2jException("unknown --quant '" + s + "' (use q8_0 or q4_0)");
        };
    }

    /** BOS, the image placeholder (when there is an image), then random ordinary text tokens. */
    private static int[] prompt(int images, int text, int vocab, SplittableRandom rnd) {
        int[] ids = new int[images + text];
        int i = 0;
        ids[i++] = 1;
        if (images > 0) ids[i++] = -200;
        for (; i < ids.length; i++) ids[i] = 3 + rnd.nextInt(vocab - 3);
        return ids;
    }

    /** Weight bytes one decode step reads: every decoder matrix (one of each multiway pair) and lm_head. */
    static long decodeBytesPerToken(SyntheticWeights w, Owl2Config cfg) {
        // from the shapes: get() would make a released tensor again
        long bytes = w.byteSize(ExpectedTensors.LM_HEAD);
        for (int l = 0; l < cfg.numHiddenLayers(); l++) {
            ExpectedTensors.DecoderLayerNames n = ExpectedTensors.decoderLayer(l);
            for (String m : new String[]{n.qProj(), n.kProj(0), n.vProj(0), n.oProj(), n.gateProj(), n.upProj(), n.downProj()}) {
                bytes += w.byteSize(m);
            }
        }
        return bytes;
    }

    /** Multiply-adds × 2 of the decoder's q, k, v, o, gate, up and down projections over a prompt's positions. */
    static double decoderLinearFlops(Owl2Config cfg, int positions) {
        double h = cfg.hiddenSize();
        double kv = (double) cfg.numKeyValueHeads() * cfg.headDim();
        double perLayer = h * h * 2 + h * kv * 2 + 3 * h * cfg.intermediateSize();
        return 2.0 * positions * cfg.numHiddenLayers() * perLayer;
    }

    /** Multiply-add FLOPs (×2) of the vision tower's linear layers alone (patch embedding and each layer's four). */
    static double visionLinearFlops(Owl2Config cfg) {
        var v = cfg.vision();
        double s = v.seqLen();
        double d = v.hiddenSize();
        double patch = (double) v.numPatches() * d * v.numChannels() * v.patchSize() * v.patchSize();
        double perLayer = s * (3 * d * d + d * d + 2 * d * v.intermediateSize());
        return 2 * (patch + v.numHiddenLayers() * perLayer);
    }

    /** The test fixture's shapes (tiny-owl2-f16): 64-wide, 2 layers everywhere, 448-pixel images. */
    private static final String TINY = """
            {"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 4, "vocab_size": 32000, "max_position_embeddings": 2048,
             "visual_config": {
               "visual_model": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                                "num_attention_heads": 4, "image_size": 448, "patch_size": 14},
               "visual_abstractor": {"hidden_size": 64, "encoder_hidden_size": 64, "intermediate_size": 176,
                                     "num_hidden_layers": 2, "num_attention_heads": 4,
                                     "num_learnable_queries": 64, "grid_size": 32}}}
            """;

    private static double msSince(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double secondsSince(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
