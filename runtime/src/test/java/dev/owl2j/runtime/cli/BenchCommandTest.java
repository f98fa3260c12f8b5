package dev.owl2j.runtime.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The synthetic benchmark at the tiny fixture's shapes runs end to end and prints every figure. */
class BenchCommandTest {
    @Test
    void tinySyntheticBenchPrintsAllFigures() {
        String out = run(0, "bench", "--synthetic", "tiny", "--quant", "q8_0", "--decode-tokens", "4", "--prefill-text", "5", "--peaks-ms", "100");
        for (String s : new String[]{"machine: memory read", "image encode:", "prefill: 70 positions (65 image + 5 text)",
                "decode: 4 tokens", "bandwidth bound", "peak RSS:"}) {
            assertTrue(out.contains(s), "missing '" + s + "' in:\n" + out);
        }
    }

    @Test
    void theSameBenchTimesADeviceEngineThroughTheEngineInterface() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.owl2j.kernels.Devices.of(dev.owl2j.kernels.Api.OPENCL).isEmpty(),
                "no OpenCL device (install pocl-opencl-icd)");
        String out = run(0, "bench", "--synthetic", "tiny", "--backend", "opencl", "--skip-vision", "--decode-tokens", "2",
                "--prefill-text", "5", "--peaks-ms", "100");
        for (String s : new String[]{"backend opencl", "engine: opencl:0", "prefill: 5 positions (0 image + 5 text)", "decode: 2 tokens", "peak RSS:"}) {
            assertTrue(out.contains(s), "missing '" + s + "' in:\n" + out);
        }
    }

    @Test
    void theSameBenchTimesAVulkanEngine() {
        if (System.getenv("CI") == null) {
            org.junit.jupiter.api.Assumptions.assumeFalse(dev.owl2j.kernels.Devices.of(dev.owl2j.kernels.Api.VULKAN).isEmpty(),
                    "no Vulkan device (install mesa-vulkan-drivers)");
        }
        String out = run(0, "bench", "--synthetic", "tiny", "--backend", "vulkan", "--skip-vision", "--decode-tokens", "2",
                "--prefill-text", "5", "--peaks-ms", "100");
        for (String s : new String[]{"backend vulkan", "engine: vulkan:0", "prefill: 5 positions (0 image + 5 text)", "decode: 2 tokens", "peak RSS:"}) {
            assertTrue(out.contains(s), "missing '" + s + "' in:\n" + out);
        }
    }

    @Test
    void badOptionsAreOneLineErrors() {
        String err = runErr(1, "bench", "--synthetic", "13b");
        assertTrue(err.startsWith("owl2j: unknown --synthetic model '13b'"), err);
        err = runErr(1, "bench", "--synthetic", "tiny", "--quant", "q5_k");
        assertTrue(err.startsWith("owl2j: unknown --quant 'q5_k'"), err);
        err = runErr(1, "bench", "--synthetic", "tiny", "--backend", "tpu", "--peaks-ms", "100");
        assertTrue(err.startsWith("owl2j: unknown backend 'tpu'"), err);
    }

    private static String run(int expectedCode, String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            assertEquals(expectedCode, Owl2jCommand.execute(args));
        } finally {
            System.setOut(old);
        }
        return buf.toString();
    }

    private static String runErr(int expectedCode, String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try {
            assertEquals(expectedCode, Owl2jCommand.execute(args));
        } finally {
            System.setErr(old);
        }
        return buf.toString();
    }
}
