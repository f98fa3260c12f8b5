package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.ExecutionPlan;
import dev.owl2j.kernels.KernelBuildException;
import dev.owl2j.kernels.Launch;
import dev.owl2j.kernels.Program;
import dev.owl2j.kernels.TaskGraph;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.stream.Stream;

import static dev.owl2j.kernels.Launch.Access.in;
import static dev.owl2j.kernels.Launch.Access.inOut;
import static dev.owl2j.kernels.Launch.Access.out;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vulkan device layer on hand-written GLSL shaders (test-kernels.glsl): device listing, buffers and staging,
 * push constants, shared memory and barriers, specialization constants, the recorded plan, caches and errors.
 */
class VulkanContextTest {
    private static Program kernels;

    private static synchronized Program kernels() {
        if (kernels == null) kernels = Lavapipe.context().compile("test-kernels", Lavapipe.resource("test-kernels.glsl"), "");
        return kernels;
    }

    private static Launch launch(String kernel, long global, long local, Object... args) {
        return new Launch(kernels().kernel(kernel), new long[]{global}, new long[]{local}, args);
    }

    @Test
    void listsTheDeviceWithItsVulkanFeatures() {
        VulkanDevice d = Lavapipe.context().vulkanDevice();
        assertFalse(d.name().isBlank());
        assertTrue(d.memoryBytes() > 0, d.describe());
        assertTrue(d.subgroupSize() > 0, d.features());
        assertTrue(d.features().startsWith("type=" + d.type() + " subgroup=" + d.subgroupSize()), d.features());
        assertTrue(d.driver().contains("Vulkan 1."), d.driver());
        assertTrue(d.maxStorageBufferRange() >= 1 << 27, "Vulkan guarantees at least 128 MiB per storage binding");
    }

    @Test
    void bufferTransfersOfEveryTypeAndSubRanges() {
        ComputeContext ctx = Lavapipe.context();
        try (Buffer b = ctx.allocate(64)) {
            assertArrayEquals(new float[16], b.readFloats(0, 16), "fresh buffers are zero");
            b.write(new float[]{1.5f, -2f}, 3);
            assertArrayEquals(new float[]{0, 1.5f, -2f, 0}, b.readFloats(2, 4));
            b.write(new short[]{7, -9}, 1);
            assertArrayEquals(new short[]{0, 7, -9, 0}, b.readShorts(0, 4));
            b.write(new byte[]{1, 2, 3}, 61);
            assertArrayEquals(new byte[]{0, 1, 2, 3}, b.readBytes(60, 4));
            b.write(new int[]{42}, 5);
            assertArrayEquals(new int[]{42}, b.readInts(5, 1));
            assertThrows(DeviceException.class, () -> b.write(new float[4], 14));
            assertThrows(DeviceException.class, () -> b.readInts(-1, 1));
        }
    }

    @Test
    void largeUploadStreamsFromAMappedFileInStagingPieces() throws IOException {
        // More than one staging piece, odd sizes and offsets on both sides, straight from a file mapping.
        int n = VulkanContext.STAGING_BYTES + 12_345;
        byte[] data = new byte[n + 7];
        new Random(3).nextBytes(data);
        Path f = Files.createTempFile("owl2j-vk", ".bin");
        try {
            Files.write(f, data);
            ComputeContext ctx = Lavapipe.context();
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ); Buffer b = ctx.allocate(n + 8)) {
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, data.length);
                b.write(5, map.slice(7, n));
                ByteBuffer back = ByteBuffer.allocateDirect(n);
                b.read(5, back); // like the other backends, a read fills the buffer without moving its position
                byte[] got = new byte[n];
                back.get(got);
                assertArrayEquals(java.util.Arrays.copyOfRange(data, 7, 7 + n), got);
                assertArrayEquals(new byte[5], b.readBytes(0, 5), "bytes before the offset stay zero");
                b.write(1, ByteBuffer.wrap(new byte[]{9, 8, 7}).position(1)); // a heap buffer, from its position
                assertArrayEquals(new byte[]{0, 8, 7, 0}, b.readBytes(0, 4));
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void pushConstantsAndBuffersBindInArgumentOrder() {
        ComputeContext ctx = Lavapipe.context();
        int n = 1000;
        Random r = new Random(11);
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextFloat() * 2 - 1;
            y[i] = r.nextFloat() * 2 - 1;
        }
        try (Buffer bx = ctx.upload(x); Buffer by = ctx.upload(y)) {
            ctx.launch(launch("saxpy", Launch.roundUp(n, 64), 64, in(bx), inOut(by), 2.5f, n));
            ctx.launch(launch("saxpy", Launch.roundUp(n, 32), 32, in(bx), inOut(by), -0.5f, n - 1)); // last element left out
            ctx.finish();
            float[] got = by.readFloats(0, n);
            for (int i = 0; i < n; i++) {
                float want = i < n - 1 ? Math.fma(-0.5f, x[i], Math.fma(2.5f, x[i], y[i])) : Math.fma(2.5f, x[i], y[i]);
                assertEquals(want, got[i], 1e-6f, "element " + i);
            }
        }
    }

    @Test
    void sharedMemoryReductionWithGroupSizesFromSpecializationConstants() {
        ComputeContext ctx = Lavapipe.context();
        int n = 5000;
        float[] x = new float[n];
        Random r = new Random(5);
        for (int i = 0; i < n; i++) x[i] = r.nextFloat();
        for (int group : new int[]{64, 256}) {
            int groups = (n + group - 1) / group;
            try (Buffer bx = ctx.upload(x); Buffer sums = ctx.allocate(groups * 4L)) {
                ctx.launch(launch("group_sum", (long) groups * group, group, in(bx), out(sums), n));
                float[] got = sums.readFloats(0, groups);
                for (int g = 0; g < groups; g++) {
                    double want = 0;
                    for (int i = g * group; i < Math.min(n, (g + 1) * group); i++) want += x[i];
                    assertEquals(want, got[g], 1e-4, "group " + g + " of size " + group);
                }
            }
        }
    }

    @Test
    void twoDimensionalGrids() {
        ComputeContext ctx = Lavapipe.context();
        int w = 37, h = 21;
        try (Buffer o = ctx.allocate(w * h * 4L)) {
            ctx.launch(new Launch(kernels().kernel("grid2d"), new long[]{40, 24}, new long[]{8, 8}, new Object[]{out(o), w, h}));
            int[] got = o.readInts(0, w * h);
            for (int yy = 0; yy < h; yy++) {
                for (int xx = 0; xx < w; xx++) assertEquals(xx + 1000 * yy, got[yy * w + xx], "(" + xx + ", " + yy + ")");
            }
        }
    }

    @Test
    void recordedPlanIsReplayedWithNewPerStepValuesAndBarriersOnlyWhereNeeded() {
        ComputeContext ctx = Lavapipe.context();
        int slots = 8;
        int[] params = new int[2];
        int[] total = new int[2];
        float[] x = {1, 2, 3, 4};
        try (Buffer p = ctx.allocate(8); Buffer table = ctx.allocate(slots * 4L); Buffer t = ctx.allocate(8);
             Buffer bx = ctx.allocate(16); Buffer by = ctx.upload(new float[]{10, 20, 30, 40})) {
            TaskGraph g = new TaskGraph("replay")
                    .transferToDevice(TaskGraph.Mode.EVERY_EXECUTION, p, params)
                    .transferToDevice(TaskGraph.Mode.FIRST_EXECUTION, bx, x)
                    .resident(table, by)
                    .task("put", launch("put_at", 1, 1, in(p), inOut(table)))
                    .task("saxpy", launch("saxpy", 64, 64, in(bx), inOut(by), 0.5f, 4)) // independent of put: no barrier
                    .task("total", launch("prefix_total", 1, 1, in(table), out(t), slots, 77)) // reads put's write: barrier
                    .transferToHost(t, total);
            try (ExecutionPlan plan = g.plan(ctx)) {
                assertEquals("vulkan command buffer, 3 dispatches, 1 barriers", plan.description());
                int[] host = new int[slots];
                int[][] steps = {{2, 1}, {5, 2}, {2, 3}, {7, 4}};
                for (int[] step : steps) {
                    params[0] = step[0];
                    params[1] = step[1];
                    plan.run();
                    x[0] = 1000; // FIRST_EXECUTION: changes after the first run are not uploaded
                    host[step[0]] += step[1] * 10;
                    int sum = 0;
                    for (int v : host) sum += v;
                    assertArrayEquals(new int[]{sum, 77}, total, "after position " + step[0]);
                }
                assertEquals(4, plan.runs());
                assertArrayEquals(host, table.readInts(0, slots));
                float[] y = by.readFloats(0, 4);
                for (int i = 0; i < 4; i++) assertEquals((i + 1) * 10 + 4 * 0.5f * (i + 1), y[i], 1e-5f);
                // direct launches between runs are ordered with the plan
                ctx.launch(launch("saxpy", 64, 64, in(bx), inOut(by), 1f, 4));
                params[0] = 0;
                params[1] = 9;
                plan.run();
                assertEquals(90 + java.util.Arrays.stream(host).sum(), total[0]);
            }
        }
    }

    @Test
    void secondCompileComesFromTheDiskCacheAndThePipelineCacheIsSaved() throws IOException {
        String src = Lavapipe.resource("test-kernels.glsl") + "\n// cache test " + System.nanoTime() + "\n";
        VulkanContext base = Lavapipe.context();
        try (ComputeContext a = base.device().open(); Program first = a.compile("cache-test", src, "")) {
            assertFalse(first.fromCache());
            try (Buffer o = a.allocate(40 * 24 * 4)) {
                a.launch(new Launch(first.kernel("grid2d"), new long[]{40, 24}, new long[]{8, 8}, new Object[]{out(o), 40, 24}));
                a.finish();
            }
        }
        Path dir = base.cache().dir();
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.anyMatch(f -> f.toString().endsWith(".vkpipelines")), "pipeline cache saved in " + dir);
        }
        try (ComputeContext b = base.device().open(); Program second = b.compile("cache-test", src, "")) {
            assertTrue(second.fromCache(), "same source and options: cached SPIR-V");
            try (Buffer o = b.allocate(16 * 4)) {
                b.launch(new Launch(second.kernel("grid2d"), new long[]{16}, new long[]{16}, new Object[]{out(o), 16, 1}));
                assertEquals(15, o.readInts(15, 1)[0]);
            }
            try (Program third = b.compile("cache-test", src, "-DUNUSED=1")) {
                assertFalse(third.fromCache(), "different options: different key");
            }
        }
    }

    @Test
    void everyTestModulePassesSpirvVal() throws Exception {
        SpirvVal.requireTool();
        VulkanProgram p = (VulkanProgram) kernels();
        assertEquals(5, p.kernelNames().size());
        for (String k : p.kernelNames()) SpirvVal.validate(k, p.spirv(k));
    }

    @Test
    void buildErrorsCarryShadercsLog() {
        ComputeContext ctx = Lavapipe.context();
        KernelBuildException e = assertThrows(KernelBuildException.class, () -> ctx.compile("broken",
                "#version 450\nlayout(local_size_x_id = 0) in;\n//!kernel good\nvoid main() {}\n//!kernel bad\nvoid main() { float v = undefined_thing_42; }\n", ""));
        assertTrue(e.log().contains("undefined_thing_42"), e.log());
        assertTrue(e.getMessage().contains("'broken' failed to build"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ctx.compile("opts", "#version 450\nvoid main() {}\n", "-O3"));
        DeviceException missing = assertThrows(DeviceException.class, () -> kernels().kernel("no_such_kernel"));
        assertTrue(missing.getMessage().contains("has no kernel no_such_kernel"), missing.getMessage());
    }

    @Test
    void launchesBeyondTheDeviceLimitsAreRefusedWithTheLimit() {
        VulkanContext ctx = Lavapipe.context();
        VulkanDevice d = ctx.vulkanDevice();
        try (Buffer a = ctx.allocate(64); Buffer b = ctx.allocate(64)) {
            long tooWide = d.maxWorkGroupInvocations * 2L;
            DeviceException wide = assertThrows(DeviceException.class, () -> ctx.launch(launch("saxpy", tooWide, tooWide, in(a), inOut(b), 1f, 1)));
            assertTrue(wide.getMessage().contains("exceeds this device's") || wide.getMessage().contains("exceed this device's"), wide.getMessage());
            Object[] many = new Object[2 + d.maxPushConstantsSize / 4 + 1];
            many[0] = in(a);
            many[1] = inOut(b);
            for (int i = 2; i < many.length; i++) many[i] = i;
            DeviceException push = assertThrows(DeviceException.class, () -> ctx.launch(launch("saxpy", 64, 64, many)));
            assertTrue(push.getMessage().contains("bytes of push constants"), push.getMessage());
        }
        if (d.maxStorageBufferRange() < (1L << 30)) {
            // lavapipe binds at most 128 MiB: one byte-word more must be refused by name, not crash the driver
            try (Buffer big = ctx.allocate(d.maxStorageBufferRange() + 4); Buffer y = ctx.allocate(64)) {
                DeviceException range = assertThrows(DeviceException.class, () -> ctx.launch(launch("saxpy", 64, 64, in(big), inOut(y), 1f, 1)));
                assertTrue(range.getMessage().contains("maxStorageBufferRange"), range.getMessage());
            }
        }
    }
}
