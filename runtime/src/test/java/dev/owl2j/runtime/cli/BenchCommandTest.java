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
                "decode: 4 tokens", "bandwidth bound", "peak RSS:", "huge pages: "}) {
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

    /**
     * With the native yardstick's file, prefill and decode are also printed against its schemes for the pool's
     * thread count: each ratio is Owl2J's printed rate over the scheme's.
     */
    @Test
    void nativeYardstickFiguresArePrintedAgainstOwl2j(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        int threads = dev.owl2j.model.cpu.Parallel.start(Runtime.getRuntime().availableProcessors());
        int bits = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int other = bits == 512 ? 256 : 512;
        java.nio.file.Path tsv = dir.resolve("native.tsv");
        // only the first, fourth and last figures are for this run's quant, threads and vector width
        java.nio.file.Files.writeString(tsv, "# owl2j native yardstick 1\t2026-12-07 02:00 UTC\tTest CPU\tavx512f=yes\tavx512_vnni=yes\n"
                + "decode\tq8_0\tint8\t" + bits + "\t" + threads + "\t0.4\tGB/s\n"
                + "decode\tq4_0\tint8\t" + bits + "\t" + threads + "\t1000.0\tGB/s\n"
                + "decode\tq8_0\tint8\t" + bits + "\t" + (threads + 1) + "\t99.0\tGB/s\n"
                + "read\t-\tread\t" + bits + "\t" + threads + "\t0.5\tGB/s\n"
                + "decode\tq8_0\tfloat\t" + other + "\t" + threads + "\t77.0\tGB/s\n"
                + "prefill\tq4_0\tfloat-fma\t" + other + "\t" + threads + "\t600.0\tGFLOP/s\n"
                + "prefill\tq4_0\tfloat-fma\t" + bits + "\t" + threads + "\t0.0001\tGFLOP/s\n");
        String out = run(0, "bench", "--synthetic", "tiny", "--quant", "q8_0", "--skip-vision", "--decode-tokens", "2",
                "--prefill-text", "5", "--peaks-ms", "100", "--native", tsv.toString());
        String num = "([0-9]+(?:\\.[0-9]+)?)";
        java.util.regex.Matcher decode = java.util.regex.Pattern.compile(
                "decode against the native yardstick \\(2026-12-07 02:00 UTC, Test CPU\\): " + num + " GB/s of weights; .*, " + bits + "-bit: "
                        + "int8/" + bits + " 0\\.4 GB/s \\(Owl2J " + num + "x\\), memory-read/" + bits + " 0\\.5 GB/s \\(Owl2J " + num + "x\\)\n").matcher(out);
        assertTrue(decode.find(), out);
        double gbs = Double.parseDouble(decode.group(1));
        // three significant digits on both sides: within 1 % of each other
        assertEquals(gbs / 0.4, Double.parseDouble(decode.group(2)), gbs / 0.4 * 0.011, out);
        assertEquals(gbs / 0.5, Double.parseDouble(decode.group(3)), gbs / 0.5 * 0.011, out);
        java.util.regex.Matcher prefill = java.util.regex.Pattern.compile(
                "prefill against the native yardstick .*= " + num + " GFLOP/s; .*, " + bits + "-bit: float-fma/" + bits
                        + " 0\\.0001 GFLOP/s \\(Owl2J " + num + "x\\)\n").matcher(out);
        assertTrue(prefill.find(), out);
        double gflops = Double.parseDouble(prefill.group(1));
        assertEquals(gflops / 0.0001, Double.parseDouble(prefill.group(2)), gflops / 0.0001 * 0.011, out);
    }

    @Test
    void aBadYardstickFileIsAOneLineError(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path tsv = dir.resolve("bad.tsv");
        java.nio.file.Files.writeString(tsv, "kernel GB/s\n");
        String err = runErr(1, "bench", "--synthetic", "tiny", "--native", tsv.toString());
        assertTrue(err.startsWith("owl2j: --native " + tsv + ": the first line is not '# owl2j native yardstick 1 ...'"), err);
        java.nio.file.Files.writeString(tsv, "# owl2j native yardstick 1\td\tc\n" + "decode\tq4_0\tint8\t256\t2\tfast\tGB/s\n");
        err = runErr(1, "bench", "--synthetic", "tiny", "--native", tsv.toString());
        assertTrue(err.startsWith("owl2j: --native " + tsv + ": line 2: value 'fast' is not a number"), err);
        java.nio.file.Files.writeString(tsv, "# owl2j native yardstick 1\td\tc\n" + "decode\tq4_0\tint8\n");
        err = runErr(1, "bench", "--synthetic", "tiny", "--native", tsv.toString());
        assertTrue(err.contains("line 2: expected 7 tab-separated columns"), err);
        err = runErr(1, "bench", "--synthetic", "tiny", "--native", dir.resolve("missing.tsv").toString());
        assertTrue(err.startsWith("owl2j: --native " + dir.resolve("missing.tsv") + ": cannot read it"), err);
        assertEquals(1, err.strip().lines().count(), err);
    }

    @Test
    void theHugePagesLineSaysWhatTheSystemLent() {
        assertEquals("huge pages: 4.00 GiB of this process's memory in 2 MiB pages", BenchCommand.hugePagesLine(true, 4L << 30));
        assertTrue(BenchCommand.hugePagesLine(true, 0).startsWith("huge pages: 0.00 GiB of this process's memory in 2 MiB pages (allocations under 2 MiB"));
        assertEquals("huge pages: asked for; this system does not say how many it lent", BenchCommand.hugePagesLine(true, -1));
        assertTrue(BenchCommand.hugePagesLine(false, 4L << 30).startsWith("huge pages: not asked for (-Dowl2j.hugePages=false"));
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
