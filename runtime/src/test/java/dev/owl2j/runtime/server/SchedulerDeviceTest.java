package dev.owl2j.runtime.server;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Devices;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.device.DeviceEngine;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Continuous batching on the OpenCL device (PoCL on CI): the Scheduler advances the requests together through
 * DeviceEngine.stepBatch and samples on the host, while the direct loop steps one session and samples on the
 * device; both must give the same tokens (greedy ones also equal the fixture's goldens). Skipped without OpenCL.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class SchedulerDeviceTest {
    static final int NO_EOS = -1;

    @Test
    void batchedDeviceDecodeInTheSchedulerEqualsDirectDeviceGeneration() throws Exception {
        Assumptions.assumeFalse(Devices.of(Api.OPENCL).isEmpty(), "no OpenCL device (install pocl-opencl-icd)");
        if (System.getProperty("owl2j.kernelCache") == null) {
            System.setProperty("owl2j.kernelCache", Files.createTempDirectory("owl2j-kcache").toString());
        }
        String[] prompts = {"prompt0", "prompt1", "prompt2", "prompt1"};
        SamplingParams[] params = {
                SamplingParams.greedy(8), SamplingParams.greedy(8), SamplingParams.greedy(8),
                new SamplingParams(0.8, 40, 0.9, 1234L, 10, List.of())};
        try (DeviceEngine engine = DeviceEngine.open(SafetensorsFile.open(TinyFixture.DIR.resolve("model.safetensors")),
                Owl2Config.read(TinyFixture.DIR.resolve("config.json")), "opencl", 0, null);
             Scheduler scheduler = new Scheduler(engine, 4, 16, NO_EOS, null)) {
            List<Scheduler.Handle> handles = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                handles.add(scheduler.submit(new Scheduler.Request(TinyFixture.ids(prompts[i]), TinyFixture.images(prompts[i]),
                        params[i], TinyFixture.idText()), null));
            }
            for (int i = 0; i < prompts.length; i++) {
                Scheduler.Completion c = handles.get(i).result().get(240, TimeUnit.SECONDS);
                int[] direct = direct(engine, prompts[i], params[i]);
                assertArrayEquals(direct, c.tokens(), prompts[i] + " #" + i);
                if (params[i].isGreedy()) assertArrayEquals(TinyFixture.goldenGreedy(prompts[i]), c.tokens(), prompts[i] + " vs golden");
            }
            org.junit.jupiter.api.Assertions.assertTrue(engine.batchedSteps() > 0, "the scheduler never batched sessions on the device");
            System.out.println("batched device steps: " + engine.batchedSteps());
        }
    }

    static int[] direct(Engine engine, String prompt, SamplingParams params) {
        List<float[]> imageTokens = new ArrayList<>();
        for (float[] px : TinyFixture.images(prompt)) imageTokens.add(engine.encodeImage(px));
        try (Engine.Session s = engine.newSession()) {
            float[] logits = s.prefill(TinyFixture.ids(prompt), imageTokens);
            return Generator.generate(s, logits, params, NO_EOS, TinyFixture.idText(), null, null).tokens();
        }
    }
}
