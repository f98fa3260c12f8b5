package dev.owl2j.runtime.engine.device;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Devices;
import dev.owl2j.model.TestData;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.Tensor;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.cpu.SimpleLinear;
import dev.owl2j.runtime.engine.CpuEngine;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.VisualTokens;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import static dev.owl2j.runtime.engine.device.DeviceEngineTest.GREEDY_STEPS;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.LOGIT_TOLERANCE;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.NO_TEXT;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.STATE_TOLERANCE;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.argmax;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.assertAllClose;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.golden;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.goldenInts;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.promptIds;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model on one Vulkan engine (lavapipe on CI) against the fixture's float64-oracle goldens, with
 * DeviceEngineTest's tolerances: both images' visual tokens (1e-5, kept on the device) and the three prompts (last
 * logits and the top-8 logits of 8 greedy steps to 1e-4, greedy tokens identical), so every stage and the
 * recorded decode-step command buffer run once on Vulkan; then batched steps = single steps, device sampling =
 * host sampling and the Q8_0/Q4_0 decoders = the CPU forward on the dequantized weights, on the text-only prompt;
 * and a weight over the device's largest storage-buffer binding is refused at open.
 *
 * <p>Lavapipe runs the image tower slowly, so this class encodes each image once and the two image prompts share
 * them; the API-independent checks (user errors, the memory check, cached steps versus a full prefill) run on
 * OpenCL in DeviceEngineTest, and every kernel runs on Vulkan in KernelsOnVulkanTest.
 * Skipped without a Vulkan device, except on CI.
 */
class VulkanDeviceEngineTest {
    static DeviceEngine vulkan;

    @BeforeAll
    static void open() throws IOException {
        if (System.getenv("CI") == null) {
            org.junit.jupiter.api.Assumptions.assumeFalse(Devices.of(Api.VULKAN).isEmpty(), "no Vulkan device (install mesa-vulkan-drivers)");
        }
        if (System.getProperty("owl2j.kernelCache") == null) {
            System.setProperty("owl2j.kernelCache", Files.createTempDirectory("owl2j-kcache").toString());
        }
        Path fixture = TestData.tinyFixture();
        DeviceEngineTest.fixture = fixture;
        DeviceEngineTest.golden = SafetensorsFile.open(fixture.resolve("golden/golden.safetensors"));
        DeviceEngineTest.manifest = new ObjectMapper().readTree(fixture.resolve("golden/manifest.json").toFile());
        vulkan = DeviceEngine.open(SafetensorsFile.open(fixture.resolve("model.safetensors")),
                Owl2Config.read(fixture.resolve("config.json")), "vulkan", 0, null);
        assertTrue(vulkan.description().contains("vulkan"), vulkan.description());
    }

    @AfterAll
    static void close() {
        if (vulkan != null) vulkan.close();
        if (DeviceEngineTest.golden != null) DeviceEngineTest.golden.close();
    }

    @Test
    void visualTokensAndBothImagePromptsMatchTheOracle() {
        VisualTokens image0 = vulkan.encode(golden("image0.pixel_values"));
        VisualTokens image1 = vulkan.encode(golden("image1.pixel_values"));
        try {
            assertAllClose("vulkan image0.visual_tokens", golden("image0.visual_tokens"), image0.toHost(), STATE_TOLERANCE);
            assertAllClose("vulkan image1.visual_tokens", golden("image1.visual_tokens"), image1.toHost(), STATE_TOLERANCE);
            Map<String, VisualTokens> byName = Map.of("image0", image0, "image1", image1);
            for (String prompt : List.of("prompt0", "prompt2")) { // one image; two images, image1 first
                List<VisualTokens> images = new ArrayList<>();
                DeviceEngineTest.prompt(prompt).get("images").forEach(n -> images.add(byName.get(n.asText())));
                try (Engine.Session s = vulkan.newSession()) {
                    float[] l = s.prefillEncoded(promptIds(prompt), images);
                    assertEquals(DeviceEngineTest.prompt(prompt).get("sequence_length").asInt(), s.position());
                    assertAllClose("vulkan " + prompt + ".last_logits", golden(prompt + ".last_logits"), l, LOGIT_TOLERANCE);
                    float[] stepTopLogits = golden(prompt + ".step_top_logits");
                    int[] stepTopIds = goldenInts(prompt + ".step_top_ids");
                    int[] tokens = new int[GREEDY_STEPS];
                    for (int step = 0; step < GREEDY_STEPS; step++) {
                        float[] expectedTop = new float[8], actualTop = new float[8];
                        for (int j = 0; j < 8; j++) {
                            expectedTop[j] = stepTopLogits[step * 8 + j];
                            actualTop[j] = l[stepTopIds[step * 8 + j]];
                        }
                        assertAllClose("vulkan " + prompt + " step " + step + " top-8 logits", expectedTop, actualTop, LOGIT_TOLERANCE);
                        tokens[step] = argmax(l);
                        if (step + 1 < GREEDY_STEPS) l = s.step(tokens[step]);
                    }
                    assertArrayEquals(goldenInts(prompt + ".greedy_tokens"), tokens, "vulkan " + prompt + ".greedy_tokens");
                }
            }
        } finally {
            image0.close();
            image1.close();
        }
    }

    @Test
    void textOnlyPromptMatchesTheOracle() {
        int[] ids = promptIds("prompt1");
        try (Engine.Session s = vulkan.newSession()) {
            float[] l = s.prefill(ids, List.of());
            assertAllClose("vulkan prompt1.last_logits", golden("prompt1.last_logits"), l, LOGIT_TOLERANCE);
            int[] tokens = new int[GREEDY_STEPS];
            for (int step = 0; step < GREEDY_STEPS; step++) {
                tokens[step] = argmax(l);
                if (step + 1 < GREEDY_STEPS) l = s.step(tokens[step]);
            }
            assertArrayEquals(goldenInts("prompt1.greedy_tokens"), tokens, "vulkan prompt1.greedy_tokens");
        }
    }

    @Test
    void batchedStepsEqualSingleStepsOfEachSession() {
        // 10 text sessions at different lengths, so the batched linears run as one launch of 8 tokens and one of 2
        List<int[]> idsOf = new ArrayList<>();
        idsOf.add(promptIds("prompt1"));
        for (int j = 0; j < 9; j++) {
            int[] text = new int[3 + j];
            for (int t = 0; t < text.length; t++) text[t] = 1 + (t * 37 + j * 101) % 500;
            idsOf.add(text);
        }
        int n = idsOf.size();
        List<Engine.Session> batched = new ArrayList<>(), single = new ArrayList<>();
        int[] tokens = new int[n];
        try {
            for (int i = 0; i < n; i++) {
                Engine.Session b = vulkan.newSession(), s = vulkan.newSession();
                batched.add(b);
                single.add(s);
                tokens[i] = argmax(b.prefill(idsOf.get(i), List.of()));
                s.prefill(idsOf.get(i), List.of());
            }
            for (int step = 0; step < 2; step++) {
                List<float[]> got = vulkan.stepBatch(batched, tokens);
                for (int i = 0; i < n; i++) {
                    float[] expected = single.get(i).step(tokens[i]);
                    assertAllClose("vulkan step " + step + " session " + i, expected, got.get(i), STATE_TOLERANCE);
                    assertEquals(single.get(i).position(), batched.get(i).position());
                    tokens[i] = argmax(expected);
                }
            }
        } finally {
            for (Engine.Session s : batched) s.close();
            for (Engine.Session s : single) s.close();
        }
    }

    @Test
    void generationSampledOnTheDeviceEqualsHostSamplingOfTheSameLogits() {
        int[] ids = promptIds("prompt1");
        List<SamplingParams> cases = List.of(
                SamplingParams.greedy(8),
                new SamplingParams(1.0, 0, 1.0, 5L, 8, List.of()),
                new SamplingParams(0.7, 20, 0.9, 42L, 8, List.of()));
        int[] greedy = null;
        int differentFromGreedy = 0;
        for (SamplingParams p : cases) {
            int[] onDevice, onHost;
            try (Engine.Session s = vulkan.newSession()) {
                assertTrue(s instanceof dev.owl2j.runtime.engine.DeviceSampling);
                onDevice = Generator.generate(s, s.prefill(ids, List.of()), p, -1, NO_TEXT, null, null).tokens();
            }
            try (Engine.Session s = new DeviceEngineTest.HostSampled(vulkan.newSession())) {
                onHost = Generator.generate(s, s.prefill(ids, List.of()), p, -1, NO_TEXT, null, null).tokens();
            }
            assertArrayEquals(onHost, onDevice, "vulkan tokens with " + p);
            assertEquals(8, onDevice.length);
            if (greedy == null) greedy = onDevice;
            else if (!Arrays.equals(greedy, onDevice)) differentFromGreedy++;
        }
        assertTrue(differentFromGreedy >= 1, "sampled runs should differ from greedy decoding");
    }

    /**
     * A weight one row over the device's largest storage-buffer binding (128 MiB on lavapipe) fails at
     * open with one line naming the tensor and the limit, before any upload: its memory is never touched, so an
     * unbacked segment of the right length is enough.
     */
    @Test
    void aWeightLargerThanOneBindingFailsBeforeUploadingNamingTheTensorAndTheLimit() {
        long limit = vulkan.context().maxBindingBytes();
        long cols = 4096, rows = limit / (2 * cols) + 1;
        Tensor big = new Tensor("model.extra.weight", DType.F16, new long[]{rows, cols}, MemorySegment.NULL.reinterpret(rows * cols * 2));
        TensorSource base = SafetensorsFile.open(DeviceEngineTest.fixture.resolve("model.safetensors"));
        Set<String> names = new LinkedHashSet<>(base.names());
        names.add(big.name());
        TensorSource withBig = new TensorSource() {
            public Set<String> names() { return names; }
            public boolean contains(String name) { return names.contains(name); }
            public Tensor get(String name) { return name.equals(big.name()) ? big : base.get(name); }
            public String formatName() { return "fixture + one tensor over the binding limit"; }
            public void close() { base.close(); }
        };
        try {
            Owl2jException e = assertThrows(Owl2jException.class,
                    () -> DeviceEngine.open(withBig, Owl2Config.read(DeviceEngineTest.fixture.resolve("config.json")), "vulkan", 0, null));
            assertTrue(e.getMessage().matches(String.format(Locale.ROOT, ".* binds at most %.1f MiB per buffer but tensor model.extra.weight takes %.1f MiB on the device .*",
                    limit / 1048576.0, rows * cols * 2 / 1048576.0)), e.getMessage());
        } finally {
            withBig.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0"})
    void quantizedDecoderLinearsEqualTheCpuForwardOnTheDequantizedWeights(String type) {
        DType quant = DType.valueOf(type);
        Path fixture = DeviceEngineTest.fixture;
        Owl2Config cfg = Owl2Config.read(fixture.resolve("config.json"));
        int[] ids = promptIds("prompt1");
        try (DeviceEngine dev = DeviceEngine.open(SafetensorsFile.open(fixture.resolve("model.safetensors")), cfg, "vulkan", 0, quant);
             CpuEngine cpu = new CpuEngine(DeviceEngineTest.dequantizedOverlay(SafetensorsFile.open(fixture.resolve("model.safetensors")), quant),
                     cfg, SimpleLinear::new, "dequantized " + type);
             Engine.Session ds = dev.newSession(); Engine.Session cs = cpu.newSession()) {
            assertTrue(dev.description().contains(type), dev.description());
            float[] dl = ds.prefill(ids, List.of());
            float[] cl = cs.prefill(ids, List.of());
            for (int step = 0; step < 3; step++) {
                assertAllClose("vulkan " + type + " logits at position " + ds.position(), cl, dl, LOGIT_TOLERANCE);
                int next = argmax(cl);
                dl = ds.step(next);
                cl = cs.step(next);
            }
        }
    }
}
