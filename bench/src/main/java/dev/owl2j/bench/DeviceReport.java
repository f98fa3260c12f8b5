package dev.owl2j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.Devices;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.engine.device.DeviceEngine;
import dev.owl2j.runtime.synthetic.SyntheticWeights;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The report scripts/device.sh runs on a borrowed GPU machine: lists the devices, then for each device of
 * each backend (cuda, opencl) checks the tiny fixture against its float64-oracle goldens (visual tokens
 * 1e-5, logits 1e-4, greedy tokens identical — the CPU tests' tolerances) and times a synthetic model at the
 * release's shapes (image encode, prefill, decode) against generous upper bounds that catch a broken or
 * pathological path. Prints one table; exits 1 if any row fails.
 *
 * <pre>
 * DeviceReport [--synthetic 7b|tiny|none] [--api cuda,opencl,vulkan] [--prefill N] [--steps N] [--quant Q8_0|Q4_0]
 *              [--no-fixture] [--max-decode-ms X] [--max-prefill-ms X] [--max-image-ms X]
 * </pre>
 * Without a GPU, {@code --synthetic tiny} is a smoke test on PoCL (CPU OpenCL devices only run the tiny shapes).
 */
public final class DeviceReport {
    private record Row(String backend, String device, String check, String value, String bound, boolean pass) {}

    private final List<Row> rows = new ArrayList<>();
    private String synthetic = "7b";
    private List<Api> apis = List.of(Api.CUDA, Api.OPENCL, Api.VULKAN);
    private int prefillTokens = 256;
    private int steps = 32;
    private DType quant;
    private boolean fixture = true;
    private double maxDecodeMs = 250, maxPrefillMs = 20_000, maxImageMs = 10_000;

    public static void main(String[] args) throws IOException {
        DeviceReport r = new DeviceReport();
        r.parse(args);
        System.exit(r.run() ? 0 : 1);
    }

    private void parse(String[] args) {
        boolean boundsGiven = false;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--synthetic" -> { synthetic = v; i++; }
                case "--api" -> { apis = java.util.Arrays.stream(v.split(",")).map(Api::parse).toList(); i++; }
                case "--prefill" -> { prefillTokens = Integer.parseInt(v); i++; }
                case "--steps" -> { steps = Integer.parseInt(v); i++; }
                case "--quant" -> { quant = DType.valueOf(v.toUpperCase()); i++; }
                case "--no-fixture" -> fixture = false;
                case "--max-decode-ms" -> { maxDecodeMs = Double.parseDouble(v); i++; boundsGiven = true; }
                case "--max-prefill-ms" -> { maxPrefillMs = Double.parseDouble(v); i++; boundsGiven = true; }
                case "--max-image-ms" -> { maxImageMs = Double.parseDouble(v); i++; boundsGiven = true; }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if ("tiny".equals(synthetic) && !boundsGiven) {
            // tiny shapes on a CPU OpenCL device: bounds only catch hangs
            maxDecodeMs = 2_000;
            maxPrefillMs = 60_000;
            maxImageMs = 120_000;
        }
    }

    private boolean run() throws IOException {
        System.out.println("== devices");
        for (Api api : Api.values()) {
            List<Device> ds = Devices.of(api);
            if (ds.isEmpty()) System.out.println(api.id() + ": none" + (Devices.unavailableReason(api) != null ? " (" + Devices.unavailableReason(api) + ")" : ""));
            for (Device d : ds) System.out.println(d.describe() + " [" + d.features() + "] " + d.driver());
        }
        Path testdata = Path.of(System.getProperty("owl2j.testdata", "testdata"));
        Owl2Config tinyCfg = Owl2Config.read(testdata.resolve("tiny-owl2-f16/config.json"));
        SyntheticWeights synth = null;
        Owl2Config synthCfg = null;
        if (!"none".equals(synthetic)) {
            synthCfg = "tiny".equals(synthetic) ? tinyCfg : release7b();
            Owl2Config c = synthCfg;
            synth = SyntheticWeights.forConfig(c, null, 42);
        }
        for (Api api : apis) {
            for (Device d : Devices.of(api)) {
                String backend = api.id() + ":" + d.index();
                if (fixture) fixtureCheck(backend, d, testdata);
                if (synth != null) {
                    if (!d.gpu() && !"tiny".equals(synthetic)) {
                        rows.add(new Row(backend, d.name(), "synthetic " + synthetic, "skipped on a CPU device (use --synthetic tiny)", "-", true));
                    } else {
                        timing(backend, d, synth, synthCfg);
                    }
                }
            }
        }
        if (synth != null) synth.close();
        return printTable();
    }

    /** LLaMA-2-7B + ViT-L/14 at 448 + abstractor: the release sizes (docs/model.md). */
    static Owl2Config release7b() {
        return Owl2Config.parse("""
                {"model_type": "mplug_owl2", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
                 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32, "rms_norm_eps": 1e-6,
                 "rope_theta": 10000.0, "max_position_embeddings": 2048, "bos_token_id": 1, "eos_token_id": 2,
                 "tie_word_embeddings": false, "torch_dtype": "float16", "visual_config": {}}
                """);
    }

    private void fixtureCheck(String backend, Device d, Path testdata) throws IOException {
        Path fx = testdata.resolve("tiny-owl2-f16");
        String name = d.name();
        try (SafetensorsFile golden = SafetensorsFile.open(fx.resolve("golden/golden.safetensors"));
             DeviceEngine e = DeviceEngine.open(SafetensorsFile.open(fx.resolve("model.safetensors")),
                     Owl2Config.read(fx.resolve("config.json")), d.api().id(), d.index(), null)) {
            JsonNode manifest = new ObjectMapper().readTree(fx.resolve("golden/manifest.json").toFile());
            List<int[]> allIds = new ArrayList<>();
            List<List<float[]>> allImages = new ArrayList<>();
            double visErr = 0;
            for (String img : List.of("image0", "image1")) {
                visErr = Math.max(visErr, maxErr(golden.get(img + ".visual_tokens").toFloatArray(),
                        e.encodeImage(golden.get(img + ".pixel_values").toFloatArray())));
            }
            rows.add(new Row(backend, name, "fixture visual tokens", String.format("max err %.2e", visErr), "1e-5", visErr <= 1e-5));
            for (JsonNode p : manifest.get("prompts")) {
                String pn = p.get("name").asText();
                int[] ids = new int[p.get("ids").size()];
                for (int i = 0; i < ids.length; i++) ids[i] = p.get("ids").get(i).asInt();
                List<float[]> images = new ArrayList<>();
                for (JsonNode img : p.get("images")) images.add(e.encodeImage(golden.get(img.asText() + ".pixel_values").toFloatArray()));
                allIds.add(ids);
                allImages.add(images);
                long[] expected = golden.get(pn + ".greedy_tokens").toLongArray();
                try (Engine.Session s = e.newSession()) {
                    float[] l = s.prefill(ids, images);
                    double logitErr = maxErr(golden.get(pn + ".last_logits").toFloatArray(), l);
                    rows.add(new Row(backend, name, "fixture " + pn + " last logits", String.format("max err %.2e", logitErr), "1e-4", logitErr <= 1e-4));
                    long[] got = new long[expected.length];
                    for (int t = 0; t < expected.length; t++) {
                        got[t] = argmax(l);
                        if (t + 1 < expected.length) l = s.step((int) got[t]);
                    }
                    boolean same = java.util.Arrays.equals(expected, got);
                    rows.add(new Row(backend, name, "fixture " + pn + " greedy tokens", same ? "identical" : java.util.Arrays.toString(got), "identical", same));
                }
            }
            deviceSamplingCheck(backend, name, e, allIds.get(0), allImages.get(0));
            batchCheck(backend, name, e, allIds, allImages);
        } catch (RuntimeException ex) {
            rows.add(new Row(backend, name, "fixture", "error: " + ex.getMessage(), "-", false));
        }
    }

    /** Hides DeviceSampling so the Generator samples on the host from downloaded logits. */
    private record HostSampled(Engine.Session inner) implements Engine.Session {
        public float[] prefill(int[] ids, List<float[]> images) { return inner.prefill(ids, images); }
        public float[] step(int token) { return inner.step(token); }
        public int position() { return inner.position(); }
        public int capacity() { return inner.capacity(); }
        public void close() { inner.close(); }
    }

    private static final dev.owl2j.runtime.generation.TextStream NO_TEXT = new dev.owl2j.runtime.generation.TextStream() {
        public String push(int id) { return ""; }
        public String flush() { return ""; }
    };

    /** Seeded sampling on the device picks the tokens host sampling picks from the same engine's logits. */
    private void deviceSamplingCheck(String backend, String name, DeviceEngine e, int[] ids, List<float[]> images) {
        for (SamplingParams p : List.of(SamplingParams.greedy(12), new SamplingParams(1.0, 40, 0.9, 5L, 12, List.of()))) {
            int[] onDevice, onHost;
            try (Engine.Session s = e.newSession()) {
                onDevice = dev.owl2j.runtime.generation.Generator.generate(s, s.prefill(ids, images), p, -1, NO_TEXT, null, null).tokens();
            }
            try (Engine.Session s = new HostSampled(e.newSession())) {
                onHost = dev.owl2j.runtime.generation.Generator.generate(s, s.prefill(ids, images), p, -1, NO_TEXT, null, null).tokens();
            }
            boolean same = java.util.Arrays.equals(onHost, onDevice);
            rows.add(new Row(backend, name, "fixture device sampling (T=" + p.temperature() + ")",
                    same ? "identical to host sampling" : java.util.Arrays.toString(onDevice) + " vs " + java.util.Arrays.toString(onHost),
                    "identical", same));
        }
    }

    /** Three sessions advanced by stepBatch give the logits of single steps. */
    private void batchCheck(String backend, String name, DeviceEngine e, List<int[]> ids, List<List<float[]>> images) {
        List<Engine.Session> batched = new ArrayList<>(), single = new ArrayList<>();
        try {
            int n = ids.size();
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) {
                batched.add(e.newSession());
                single.add(e.newSession());
                tokens[i] = argmax(batched.get(i).prefill(ids.get(i), images.get(i)));
                single.get(i).prefill(ids.get(i), images.get(i));
            }
            double err = 0;
            for (int step = 0; step < 3; step++) {
                List<float[]> got = e.stepBatch(batched, tokens);
                for (int i = 0; i < n; i++) {
                    float[] want = single.get(i).step(tokens[i]);
                    err = Math.max(err, maxErr(want, got.get(i)));
                    tokens[i] = argmax(want);
                }
            }
            rows.add(new Row(backend, name, "fixture batched decode (" + n + " sessions, 3 steps)",
                    String.format("max err %.2e vs single steps", err), "1e-5", err <= 1e-5));
        } finally {
            for (Engine.Session s : batched) s.close();
            for (Engine.Session s : single) s.close();
        }
    }

    private void timing(String backend, Device d, SyntheticWeights synth, Owl2Config cfg) {
        String label = synthetic + (quant != null ? " " + quant : " F16");
        TensorSource shared = nonClosing(synth);
        long t0 = System.nanoTime();
        try (DeviceEngine e = DeviceEngine.open(shared, cfg, d.api().id(), d.index(), quant)) {
            rows.add(new Row(backend, d.name(), label + " load + upload", ms(System.nanoTime() - t0) + " ms", "-", true));
            rows.add(new Row(backend, d.name(), label + " engine", e.description(), "-", true));
            Random r = new Random(1);
            int size = cfg.vision().imageSize();
            float[] pixels = new float[3 * size * size];
            for (int i = 0; i < pixels.length; i++) pixels[i] = (float) r.nextGaussian();
            float[] tokens = e.encodeImage(pixels); // warm-up: kernel compile / cache load
            long ti = System.nanoTime();
            tokens = e.encodeImage(pixels);
            double imageMs = (System.nanoTime() - ti) / 1e6;
            boolean finite = allFinite(tokens);
            rows.add(new Row(backend, d.name(), label + " image encode", String.format("%.1f ms%s", imageMs, finite ? "" : " NON-FINITE"),
                    "<= " + maxImageMs + " ms", finite && imageMs <= maxImageMs));

            // room after the prompt: the timed decode steps, then the host-overhead steps (twice as many)
            int n = Math.min(prefillTokens, cfg.maxPositionEmbeddings() - 3 * steps - 8);
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) ids[i] = 3 + r.nextInt(cfg.vocabSize() - 3);
            try (Engine.Session warm = e.newSession()) {
                warm.prefill(java.util.Arrays.copyOf(ids, Math.min(n, 8)), List.of());
                warm.step(5);
            }
            try (Engine.Session s = e.newSession()) {
                long tp = System.nanoTime();
                float[] l = s.prefill(ids, List.of());
                double prefillMs = (System.nanoTime() - tp) / 1e6;
                rows.add(new Row(backend, d.name(), label + " prefill " + n + " tokens",
                        String.format("%.1f ms (%.0f tok/s)", prefillMs, n / (prefillMs / 1000)), "<= " + maxPrefillMs + " ms",
                        allFinite(l) && prefillMs <= maxPrefillMs));
                l = s.step(argmax(l)); // builds the decode plan
                long td = System.nanoTime();
                for (int i = 0; i < steps; i++) l = s.step(argmax(l));
                double perToken = (System.nanoTime() - td) / 1e6 / steps;
                long weightBytes = decoderBytes(cfg);
                rows.add(new Row(backend, d.name(), label + " decode (" + steps + " steps at ~" + n + ")",
                        String.format("%.2f ms/token (%.1f tok/s, ~%.0f GB/s of weights)", perToken, 1000 / perToken,
                                weightBytes / (perToken / 1000) / 1e9),
                        "<= " + maxDecodeMs + " ms", allFinite(l) && perToken <= maxDecodeMs));
                hostOverhead(rows, backend, d.name(), label, s, l);
            }
        } catch (RuntimeException ex) {
            rows.add(new Row(backend, d.name(), label, "error: " + ex.getMessage(), "-", false));
        }
    }

    /**
     * Host share of a decode step: the step's wall time minus the time the plan waited on the device
     * (clFinish / cuStreamSynchronize), i.e. Java and driver work that the device does not hide. Measured for
     * host sampling (logits downloaded, argmax on the host) and for device sampling (only the id comes back).
     */
    private void hostOverhead(List<Row> rows, String backend, String device, String label, Engine.Session s, float[] l) {
        if (!s.capabilities().contains(Engine.Capability.DEVICE_SAMPLING)) return;
        var ds = (dev.owl2j.runtime.engine.DeviceSampling) s;
        int reps = Math.min(steps, (s.capacity() - s.position() - 2) / 2);
        if (reps < 1) return;
        long w0 = dev.owl2j.runtime.engine.device.DeviceEngine.decodeWaitNanos(s);
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) l = s.step(argmax(l));
        long hostSampledWall = System.nanoTime() - t0;
        long hostSampledWait = dev.owl2j.runtime.engine.device.DeviceEngine.decodeWaitNanos(s) - w0;
        int tok = argmax(l);
        tok = ds.stepSampled(tok, 0, 0, 1, 0); // greedy; builds the sampled plan
        w0 = dev.owl2j.runtime.engine.device.DeviceEngine.decodeWaitNanos(s);
        t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) tok = ds.stepSampled(tok, 0, 0, 1, 0);
        long devSampledWall = System.nanoTime() - t0;
        long devSampledWait = dev.owl2j.runtime.engine.device.DeviceEngine.decodeWaitNanos(s) - w0;
        rows.add(new Row(backend, device, label + " decode host time (" + reps + " steps each)",
                String.format("host sampling %.3f of %.2f ms/token (%.1f%%); device sampling %.3f of %.2f ms/token (%.1f%%)",
                        (hostSampledWall - hostSampledWait) / 1e6 / reps, hostSampledWall / 1e6 / reps,
                        100.0 * (hostSampledWall - hostSampledWait) / hostSampledWall,
                        (devSampledWall - devSampledWait) / 1e6 / reps, devSampledWall / 1e6 / reps,
                        100.0 * (devSampledWall - devSampledWait) / devSampledWall),
                "-", true));
    }

    /** Bytes a decode step reads: the decoder's text-way matrices, lm_head (F16, or the quantized size). */
    private long decoderBytes(Owl2Config c) {
        long h = c.hiddenSize(), kv = (long) c.numKeyValueHeads() * c.headDim(), q = (long) c.numAttentionHeads() * c.headDim();
        long perLayer = q * h + 2 * kv * h + h * q + 3L * c.intermediateSize() * h;
        double bytesPerWeight = quant == DType.Q8_0 ? 34 / 32.0 : quant == DType.Q4_0 ? 18 / 32.0 : 2;
        return (long) (perLayer * c.numHiddenLayers() * bytesPerWeight) + 2L * c.vocabSize() * h;
    }

    private static TensorSource nonClosing(TensorSource s) {
        return new TensorSource() {
            public Set<String> names() { return s.names(); }
            public boolean contains(String name) { return s.contains(name); }
            public Tensor get(String name) { return s.get(name); }
            public String formatName() { return s.formatName(); }
            public void close() {}
        };
    }

    private boolean printTable() {
        String[] head = {"backend", "device", "check", "value", "bound", "status"};
        int[] w = new int[head.length];
        List<String[]> cells = new ArrayList<>();
        cells.add(head);
        for (Row r : rows) cells.add(new String[]{r.backend(), r.device(), r.check(), r.value(), r.bound(), r.pass() ? "PASS" : "FAIL"});
        for (String[] c : cells) for (int i = 0; i < c.length; i++) w[i] = Math.max(w[i], c[i].length());
        System.out.println("== report");
        boolean ok = true;
        for (String[] c : cells) {
            StringBuilder sb = new StringBuilder("| ");
            for (int i = 0; i < c.length; i++) sb.append(String.format("%-" + w[i] + "s | ", c[i]));
            System.out.println(sb.toString().trim());
        }
        for (Row r : rows) ok &= r.pass();
        if (rows.isEmpty()) {
            System.out.println("no device ran");
            ok = false;
        }
        System.out.println(ok ? "ALL PASS" : "SOME CHECKS FAILED");
        return ok;
    }

    private static String ms(long nanos) {
        return String.valueOf(nanos / 1_000_000);
    }

    private static boolean allFinite(float[] v) {
        for (float f : v) if (!Float.isFinite(f)) return false;
        return true;
    }

    private static double maxErr(float[] a, float[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (!(d <= m)) m = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
        }
        return m;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
