package dev.owl2j.runtime.engine.device;

import dev.owl2j.model.NumericAssert;
import dev.owl2j.model.TestData;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Devices;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.cpu.SimpleLinear;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.Quantizer;
import dev.owl2j.model.tensor.Tensor;
import dev.owl2j.runtime.engine.CpuEngine;
import dev.owl2j.runtime.engine.Engine;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model on the first OpenCL device (PoCL on CI) against the fixture's float64-oracle goldens, with the
 * CPU forward tests' tolerances: visual tokens 1e-5 abs, logits 1e-4 abs, greedy tokens identical. Skipped
 * without an OpenCL device.
 */
class DeviceEngineTest {
    static final double STATE_TOLERANCE = 1e-5;
    static final double LOGIT_TOLERANCE = 1e-4;
    static final int GREEDY_STEPS = 8;

    static Path fixture;
    static SafetensorsFile golden;
    static JsonNode manifest;
    static DeviceEngine engine;

    @BeforeAll
    static void open() throws IOException {
        Assumptions.assumeFalse(Devices.of(Api.OPENCL).isEmpty(), "no OpenCL device (install pocl-opencl-icd)");
        if (System.getProperty("owl2j.kernelCache") == null) {
            System.setProperty("owl2j.kernelCache", Files.createTempDirectory("owl2j-kcache").toString());
        }
        fixture = TestData.tinyFixture();
        golden = SafetensorsFile.open(fixture.resolve("golden/golden.safetensors"));
        manifest = new ObjectMapper().readTree(fixture.resolve("golden/manifest.json").toFile());
        engine = DeviceEngine.open(SafetensorsFile.open(fixture.resolve("model.safetensors")),
                Owl2Config.read(fixture.resolve("config.json")), "opencl", 0, null);
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
        if (golden != null) golden.close();
    }

    static float[] golden(String name) {
        return golden.get(name).toFloatArray();
    }

    static int[] goldenInts(String name) {
        long[] l = golden.get(name).toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) out[i] = Math.toIntExact(l[i]);
        return out;
    }

    static JsonNode prompt(String name) {
        for (JsonNode p : manifest.get("prompts")) if (p.get("name").asText().equals(name)) return p;
        throw new IllegalArgumentException(name);
    }

    static int[] promptIds(String name) {
        JsonNode ids = prompt(name).get("ids");
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) out[i] = ids.get(i).asInt();
        return out;
    }

    static void assertAllClose(String what, float[] expected, float[] actual, double tol) {
        NumericAssert.assertAllClose(what, expected, actual, tol);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    static List<float[]> imagesOf(Engine e, String prompt) {
        List<float[]> images = new ArrayList<>();
        for (JsonNode n : prompt(prompt).get("images")) images.add(e.encodeImage(golden(n.asText() + ".pixel_values")));
        return images;
    }

    @ParameterizedTest
    @ValueSource(strings = {"image0", "image1"})
    void visualTokensMatchTheOracle(String image) {
        assertAllClose(image + ".visual_tokens", golden(image + ".visual_tokens"), engine.encodeImage(golden(image + ".pixel_values")), STATE_TOLERANCE);
    }

    @Test
    void visualTokensStayOnTheDeviceAndPrefillFromThemEqualsPrefillFromHostCopies() {
        int[] ids = promptIds("prompt2"); // two images, in the order image1, image0
        List<dev.owl2j.runtime.engine.VisualTokens> onDevice = new ArrayList<>();
        for (JsonNode n : prompt("prompt2").get("images")) onDevice.add(engine.encode(golden(n.asText() + ".pixel_values")));
        try (Engine.Session fromDevice = engine.newSession(); Engine.Session fromHost = engine.newSession()) {
            assertAllClose("image1.visual_tokens (device-resident)", golden("image1.visual_tokens"), onDevice.get(0).toHost(), STATE_TOLERANCE);
            float[] a = fromDevice.prefillEncoded(ids, onDevice);
            float[] b = fromHost.prefill(ids, dev.owl2j.runtime.engine.VisualTokens.toHost(onDevice));
            assertAllClose("prefill logits, visual tokens read on the device vs uploaded", b, a, 0);
            assertEquals(fromHost.position(), fromDevice.position());
        } finally {
            onDevice.forEach(dev.owl2j.runtime.engine.VisualTokens::close);
        }
        assertThrows(IllegalStateException.class, onDevice.get(0)::toHost);
    }

    @ParameterizedTest
    @ValueSource(strings = {"prompt0", "prompt1", "prompt2"})
    void lastLogitsTopLogitsPerStepAndGreedyTokensMatchTheOracle(String prompt) {
        int[] ids = promptIds(prompt);
        List<float[]> images = imagesOf(engine, prompt);
        int[] expectedTokens = goldenInts(prompt + ".greedy_tokens");
        float[] stepTopLogits = golden(prompt + ".step_top_logits");
        int[] stepTopIds = goldenInts(prompt + ".step_top_ids");
        try (Engine.Session s = engine.newSession()) {
            float[] l = s.prefill(ids, images);
            assertEquals(prompt(prompt).get("sequence_length").asInt(), s.position());
            assertAllClose(prompt + ".last_logits", golden(prompt + ".last_logits"), l, LOGIT_TOLERANCE);
            int[] tokens = new int[GREEDY_STEPS];
            for (int step = 0; step < GREEDY_STEPS; step++) {
                float[] expectedTop = new float[8], actualTop = new float[8];
                for (int j = 0; j < 8; j++) {
                    expectedTop[j] = stepTopLogits[step * 8 + j];
                    actualTop[j] = l[stepTopIds[step * 8 + j]];
                }
                assertAllClose(prompt + " step " + step + " top-8 logits", expectedTop, actualTop, LOGIT_TOLERANCE);
                tokens[step] = argmax(l);
                if (step + 1 < GREEDY_STEPS) l = s.step(tokens[step]);
            }
            assertArrayEquals(expectedTokens, tokens, prompt + ".greedy_tokens");
        }
    }

    @Test
    void kvCachedStepsEqualAFullPrefillOfTheSameTokens() {
        // prompt1 is text only; prefill the prompt then step 3 tokens, versus prefilling prompt+tokens at once.
        int[] ids = promptIds("prompt1");
        int[] extra = {4177, 26992, 22892};
        float[] stepped;
        try (Engine.Session s = engine.newSession()) {
            s.prefill(ids, List.of());
            float[] l = null;
            for (int t : extra) l = s.step(t);
            stepped = l;
            assertEquals(ids.length + extra.length, s.position());
        }
        int[] all = java.util.Arrays.copyOf(ids, ids.length + extra.length);
        System.arraycopy(extra, 0, all, ids.length, extra.length);
        try (Engine.Session s = engine.newSession()) {
            assertAllClose("cached steps vs full prefill", s.prefill(all, List.of()), stepped, 1e-5);
        }
    }

    @Test
    void userErrorsAreOwl2jExceptions() {
        try (Engine.Session s = engine.newSession()) {
            Owl2jException e1 = assertThrows(Owl2jException.class, () -> s.prefill(new int[]{1, 32000}, List.of()));
            assertTrue(e1.getMessage().contains("token id 32000 is outside the vocabulary"), e1.getMessage());
            Owl2jException e2 = assertThrows(Owl2jException.class, () -> s.prefill(new int[]{1, -200}, List.of()));
            assertTrue(e2.getMessage().contains("1 image placeholder(s) but 0 image(s)"), e2.getMessage());
            assertEquals(0, s.position());
        }
        Owl2jException e3 = assertThrows(Owl2jException.class, () -> engine.encodeImage(new float[10]));
        assertTrue(e3.getMessage().contains("pixel values have 10 floats"), e3.getMessage());
        Owl2jException e4 = assertThrows(Owl2jException.class, () -> DeviceEngine.open(null, null, "opencl", 99, null));
        assertTrue(e4.getMessage().contains("no opencl device 99"), e4.getMessage());
        Owl2jException e5 = assertThrows(Owl2jException.class, () -> DeviceEngine.open(null, null, "metal", 0, null));
        assertTrue(e5.getMessage().contains("unknown compute API 'metal'"), e5.getMessage());
    }

    /**
     * The checkpoint with every decoder-layer matrix replaced by the F32 values its Q8_0/Q4_0 blocks decode to
     * (dequantized here, independently of the kernels), so the CPU forward on it is the reference for a device
     * engine that quantizes at upload.
     */
    static TensorSource dequantizedOverlay(TensorSource base, DType quant) {
        Map<String, Tensor> replaced = new HashMap<>();
        for (String name : base.names()) {
            Tensor t = base.get(name);
            // like the engine: matrices whose rows are not whole blocks of 32 (tiny down_proj: 172) stay as stored
            if (!ExpectedTensors.isDecoderProjection(name) || t.dim(1) % 32 != 0) continue;
            ByteBuffer q = Quantizer.quantize(t, quant).data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            float[] v = new float[(int) t.numel()];
            int blockBytes = quant == DType.Q8_0 ? 34 : 18;
            for (int b = 0; b < v.length / 32; b++) {
                int o = b * blockBytes;
                float d = Float.float16ToFloat(q.getShort(o));
                for (int j = 0; j < 32; j++) {
                    if (quant == DType.Q8_0) {
                        v[b * 32 + j] = d * q.get(o + 2 + j);
                    } else {
                        int packed = q.get(o + 2 + (j % 16)) & 0xff;
                        v[b * 32 + j] = d * ((j < 16 ? packed & 15 : packed >> 4) - 8);
                    }
                }
            }
            replaced.put(name, new Tensor(name, DType.F32, t.shape(), MemorySegment.ofArray(v)));
        }
        return new TensorSource() {
            public Set<String> names() { return base.names(); }
            public boolean contains(String name) { return base.contains(name); }
            public Tensor get(String name) { return replaced.containsKey(name) ? replaced.get(name) : base.get(name); }
            public String formatName() { return "dequantized overlay"; }
            public void close() { base.close(); }
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0"})
    void quantizedDecoderLinearsEqualTheCpuForwardOnTheDequantizedWeights(String type) {
        DType quant = DType.valueOf(type);
        Owl2Config cfg = Owl2Config.read(fixture.resolve("config.json"));
        List<float[]> images = imagesOf(engine, "prompt0");
        try (DeviceEngine dev = DeviceEngine.open(SafetensorsFile.open(fixture.resolve("model.safetensors")), cfg, "opencl", 0, quant);
             CpuEngine cpu = new CpuEngine(dequantizedOverlay(SafetensorsFile.open(fixture.resolve("model.safetensors")), quant),
                     cfg, SimpleLinear::new, "dequantized " + type);
             Engine.Session ds = dev.newSession(); Engine.Session cs = cpu.newSession()) {
            assertTrue(dev.description().contains(type), dev.description());
            float[] dl = ds.prefill(promptIds("prompt0"), images);
            float[] cl = cs.prefill(promptIds("prompt0"), images);
            for (int step = 0; step < 4; step++) {
                assertAllClose(type + " logits at position " + ds.position(), cl, dl, LOGIT_TOLERANCE);
                int next = argmax(cl);
                dl = ds.step(next);
                cl = cs.step(next);
            }
        }
    }

    @Test
    void aDeviceTooSmallForTheWeightsFailsBeforeUploadingWithNeededVersusFree() {
        // The fixture plus one 1 TiB F16 tensor. Its memory is never touched: the size check runs before any
        // upload, so an unbacked segment of the right length is enough.
        TensorSource base = SafetensorsFile.open(fixture.resolve("model.safetensors"));
        long rows = 1L << 20, cols = 1L << 19;
        Tensor huge = new Tensor("model.extra.weight", DType.F16, new long[]{rows, cols}, MemorySegment.NULL.reinterpret(rows * cols * 2));
        Set<String> names = new java.util.LinkedHashSet<>(base.names());
        names.add(huge.name());
        TensorSource big = new TensorSource() {
            public Set<String> names() { return names; }
            public boolean contains(String name) { return names.contains(name); }
            public Tensor get(String name) { return name.equals(huge.name()) ? huge : base.get(name); }
            public String formatName() { return "fixture + 1 TiB"; }
            public void close() { base.close(); }
        };
        try {
            Owl2jException e = assertThrows(Owl2jException.class,
                    () -> DeviceEngine.open(big, Owl2Config.read(fixture.resolve("config.json")), "opencl", 0, null));
            assertTrue(e.getMessage().matches(".*has [0-9.]+ GiB free but the model needs 10\\d\\d\\.\\d\\d GiB.*"), e.getMessage());
        } finally {
            big.close();
        }
    }

    /** Hides DeviceSampling so the Generator samples on the host from downloaded logits. */
    record HostSampled(Engine.Session inner) implements Engine.Session {
        public float[] prefill(int[] ids, List<float[]> images) { return inner.prefill(ids, images); }
        public float[] step(int token) { return inner.step(token); }
        public int position() { return inner.position(); }
        public int capacity() { return inner.capacity(); }
    }

    static final dev.owl2j.runtime.generation.TextStream NO_TEXT = new dev.owl2j.runtime.generation.TextStream() {
        public String push(int id) { return ""; }
        public String flush() { return ""; }
    };

    @Test
    void generationSampledOnTheDeviceEqualsHostSamplingOfTheSameLogits() {
        int[] ids = promptIds("prompt0");
        List<float[]> images = imagesOf(engine, "prompt0");
        List<dev.owl2j.runtime.generation.SamplingParams> cases = List.of(
                dev.owl2j.runtime.generation.SamplingParams.greedy(12),
                new dev.owl2j.runtime.generation.SamplingParams(1.0, 0, 1.0, 5L, 12, List.of()),
                new dev.owl2j.runtime.generation.SamplingParams(0.7, 20, 0.9, 42L, 12, List.of()),
                new dev.owl2j.runtime.generation.SamplingParams(1.5, 0, 0.8, 7L, 12, List.of()));
        int differentFromGreedy = 0;
        int[] greedy = null;
        for (var p : cases) {
            int[] onDevice, onHost;
            try (Engine.Session s = engine.newSession()) {
                assertTrue(s instanceof dev.owl2j.runtime.engine.DeviceSampling);
                float[] first = s.prefill(ids, images);
                onDevice = dev.owl2j.runtime.generation.Generator.generate(s, first, p, -1, NO_TEXT, null, null).tokens();
            }
            try (Engine.Session s = new HostSampled(engine.newSession())) {
                float[] first = s.prefill(ids, images);
                onHost = dev.owl2j.runtime.generation.Generator.generate(s, first, p, -1, NO_TEXT, null, null).tokens();
            }
            assertArrayEquals(onHost, onDevice, "tokens with " + p);
            assertEquals(12, onDevice.length);
            if (greedy == null) greedy = onDevice;
            else if (!java.util.Arrays.equals(greedy, onDevice)) differentFromGreedy++;
        }
        assertTrue(differentFromGreedy >= 2, "sampled runs should differ from greedy decoding");
    }

    @Test
    void batchedStepsEqualSingleStepsOfEachSession() {
        // 3 prompts (with images) plus 7 forks of text prompts at different lengths: 10 sessions, so the batched
        // linears run as one launch of 8 tokens and one of 2; positions and caches all differ
        String[] prompts = {"prompt0", "prompt1", "prompt2"};
        List<int[]> idsOf = new ArrayList<>();
        List<List<float[]>> imagesOf = new ArrayList<>();
        for (String p : prompts) {
            idsOf.add(promptIds(p));
            imagesOf.add(imagesOf(engine, p));
        }
        for (int j = 0; j < 7; j++) {
            int[] text = new int[3 + j];
            for (int t = 0; t < text.length; t++) text[t] = 1 + (t * 37 + j * 101) % 500;
            idsOf.add(text);
            imagesOf.add(List.of());
        }
        int n = idsOf.size();
        List<Engine.Session> batched = new ArrayList<>(), single = new ArrayList<>();
        int[] tokens = new int[n];
        try {
            for (int i = 0; i < n; i++) {
                Engine.Session b = engine.newSession(), s = engine.newSession();
                batched.add(b);
                single.add(s);
                float[] lb = b.prefill(idsOf.get(i), imagesOf.get(i));
                s.prefill(idsOf.get(i), imagesOf.get(i));
                tokens[i] = argmax(lb);
            }
            for (int step = 0; step < 3; step++) {
                List<float[]> got = engine.stepBatch(batched, tokens);
                for (int i = 0; i < n; i++) {
                    float[] expected = single.get(i).step(tokens[i]);
                    assertAllClose("step " + step + " session " + i, expected, got.get(i), STATE_TOLERANCE);
                    assertEquals(single.get(i).position(), batched.get(i).position());
                    tokens[i] = argmax(expected);
                }
            }
        } finally {
            for (Engine.Session s : batched) s.close();
            for (Engine.Session s : single) s.close();
        }
    }
}
