package dev.owl2j.runtime.engine.device;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Devices;
import dev.owl2j.model.TestData;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.cpu.SimpleLinear;
import dev.owl2j.runtime.engine.CpuEngine;
import dev.owl2j.runtime.engine.Engine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.owl2j.runtime.engine.device.DeviceEngineTest.LOGIT_TOLERANCE;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.argmax;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.assertAllClose;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.imagesOf;
import static dev.owl2j.runtime.engine.device.DeviceEngineTest.promptIds;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model on Vulkan (lavapipe on CI) with DeviceEngineTest's own checks and tolerances, run against a
 * Vulkan engine: visual tokens (1e-5), last logits and the top-8 logits of 8 greedy steps (1e-4) with the
 * greedy tokens identical to the float64-oracle goldens for all three prompts, batched steps equal single steps,
 * device sampling equals host sampling, and the Q8_0/Q4_0 decoders equal the CPU forward on the dequantized
 * weights. (API-independent checks, such as user errors and the memory check, run once in DeviceEngineTest.)
 * Skipped without a Vulkan device, except on CI.
 */
class VulkanDeviceEngineTest {
    static DeviceEngine vulkan;
    final DeviceEngineTest checks = new DeviceEngineTest();

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

    /** DeviceEngineTest's checks read its static engine: this class's Vulkan engine. */
    @BeforeEach
    void useVulkan() {
        DeviceEngineTest.engine = vulkan;
    }

    @AfterAll
    static void close() {
        if (vulkan != null) vulkan.close();
        DeviceEngineTest.engine = null;
        if (DeviceEngineTest.golden != null) DeviceEngineTest.golden.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"image0", "image1"})
    void visualTokensMatchTheOracle(String image) {
        checks.visualTokensMatchTheOracle(image);
    }

    @ParameterizedTest
    @ValueSource(strings = {"prompt0", "prompt1", "prompt2"})
    void lastLogitsTopLogitsPerStepAndGreedyTokensMatchTheOracle(String prompt) {
        checks.lastLogitsTopLogitsPerStepAndGreedyTokensMatchTheOracle(prompt);
    }

    @Test
    void batchedStepsEqualSingleStepsOfEachSession() {
        checks.batchedStepsEqualSingleStepsOfEachSession();
    }

    @Test
    void generationSampledOnTheDeviceEqualsHostSamplingOfTheSameLogits() {
        checks.generationSampledOnTheDeviceEqualsHostSamplingOfTheSameLogits();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0"})
    void quantizedDecoderLinearsEqualTheCpuForwardOnTheDequantizedWeights(String type) {
        DType quant = DType.valueOf(type);
        Path fixture = DeviceEngineTest.fixture;
        Owl2Config cfg = Owl2Config.read(fixture.resolve("config.json"));
        List<float[]> images = imagesOf(vulkan, "prompt0");
        try (DeviceEngine dev = DeviceEngine.open(SafetensorsFile.open(fixture.resolve("model.safetensors")), cfg, "vulkan", 0, quant);
             CpuEngine cpu = new CpuEngine(DeviceEngineTest.dequantizedOverlay(SafetensorsFile.open(fixture.resolve("model.safetensors")), quant),
                     cfg, SimpleLinear::new, "dequantized " + type);
             Engine.Session ds = dev.newSession(); Engine.Session cs = cpu.newSession()) {
            assertTrue(dev.description().contains(type), dev.description());
            float[] dl = ds.prefill(promptIds("prompt0"), images);
            float[] cl = cs.prefill(promptIds("prompt0"), images);
            for (int step = 0; step < 4; step++) {
                assertAllClose("vulkan " + type + " logits at position " + ds.position(), cl, dl, LOGIT_TOLERANCE);
                int next = argmax(cl);
                dl = ds.step(next);
                cl = cs.step(next);
            }
        }
    }
}
