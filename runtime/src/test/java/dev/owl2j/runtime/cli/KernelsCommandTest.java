package dev.owl2j.runtime.cli;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Devices;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.format.SafetensorsWriter;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * owl2j kernels emit/run/bench on a kernel class that is not part of the project: the test writes it, compiles it
 * with javac -parameters into a temporary directory and runs it through the command on every backend.
 */
class KernelsCommandTest {
    @TempDir
    static Path dir;
    static Path classes;

    static final String SOURCE = """
            package com.example;

            import dev.owl2j.kernels.lang.FloatArray;
            import dev.owl2j.kernels.lang.KernelContext;

            public final class Activations {
                /** GELU, tanh approximation: y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
                public static void gelu(KernelContext ctx, FloatArray x, FloatArray y, int n) {
                    int i = ctx.globalIdx;
                    if (i < n) {
                        float v = x.get(i);
                        y.set(i, 0.5f * v * (1f + (float) Math.tanh(0.7978846f * (v + 0.044715f * v * v * v))));
                    }
                }

                public static void broken(KernelContext ctx, FloatArray x) {
                    x.set(0, new StringBuilder().length());
                }
            }
            """;

    @BeforeAll
    static void compile() throws Exception {
        Path src = dir.resolve("src/com/example/Activations.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, SOURCE);
        classes = dir.resolve("classes");
        Files.createDirectories(classes);
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-g", "-parameters", "-d", classes.toString(),
                "-cp", System.getProperty("java.class.path"), src.toString());
        assertEquals(0, rc, "javac");
    }

    record Result(int rc, String out, String err) {}

    static Result owl2j(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = Owl2jCommand.execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        Result r = new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.print(r.out());
        System.out.print(r.err());
        return r;
    }

    static Tensor f32(String name, float[] v) {
        MemorySegment s = Arena.ofAuto().allocate(4L * v.length, 8);
        for (int i = 0; i < v.length; i++) s.setAtIndex(Tensor.F32_LE, i, v[i]);
        return new Tensor(name, DType.F32, new long[]{v.length}, s);
    }

    @Test
    void runsAKernelThatIsNotPartOfTheProjectOnEveryBackendAndWritesItsArrays() {
        int n = 1000;
        float[] x = new float[n];
        Random r = new Random();
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 3);
        Path in = dir.resolve("in.safetensors"), out = dir.resolve("out.safetensors");
        SafetensorsWriter.write(in, List.of(f32("x", x), f32("y", new float[n])), Map.of());
        Result res = owl2j("kernels", "run", "--class-path", classes.toString(), "--class", "com.example.Activations",
                "--kernel", "gelu", "--backend", "all", "--global", "1024", "--local", "64", "--inputs", in.toString(),
                "--set", "n=" + n, "--out", out.toString(), "--repeat", "3", "--bytes", String.valueOf(8L * n));
        assertEquals(0, res.rc(), res.err());
        assertTrue(res.out().contains("java:0 JVM"), res.out());
        assertTrue(res.out().contains("median") && res.out().contains("GB/s"), res.out());
        if (!Devices.of(Api.OPENCL).isEmpty()) {
            assertTrue(res.out().matches("(?s).*opencl: y max abs difference from java: [0-9.e+-]+\\R.*"), res.out());
        }
        if (!Devices.of(Api.VULKAN).isEmpty()) {
            assertTrue(res.out().matches("(?s).*vulkan: y max abs difference from java: [0-9.e+-]+\\R.*"), res.out());
        }
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            float[] y = f.get("y").toFloatArray();
            for (int i = 0; i < n; i++) {
                float v = x[i];
                float e = 0.5f * v * (1f + (float) Math.tanh(0.7978846f * (v + 0.044715f * v * v * v)));
                assertEquals(e, y[i], 0f, "y[" + i + "]"); // the JVM's result: the same Java
            }
            assertEquals(x[7], f.get("x").toFloatArray()[7]);
        }
    }

    @Test
    void emitsOpenClCudaAndGlsl() {
        Result cl = owl2j("kernels", "emit", "--target", "opencl", "--class-path", classes.toString(), "--class", "com.example.Activations", "--kernel", "gelu");
        assertEquals(0, cl.rc(), cl.err());
        assertTrue(cl.out().contains("__kernel void gelu(__global const float* x, __global float* y, int n)"), cl.out());
        assertTrue(cl.out().contains("tanh("), cl.out());
        Result cu = owl2j("kernels", "emit", "--target", "cuda", "--class-path", classes.toString(), "--class", "com.example.Activations", "--kernel", "gelu");
        assertEquals(0, cu.rc(), cu.err());
        assertTrue(cu.out().contains("extern \"C\" __global__ void gelu(const float* x, float* y, int n)"), cu.out());
        assertTrue(cu.out().contains("tanhf("), cu.out());
        Result gl = owl2j("kernels", "emit", "--target", "glsl", "--class-path", classes.toString(), "--class", "com.example.Activations", "--kernel", "gelu");
        assertEquals(0, gl.rc(), gl.err());
        assertTrue(gl.out().startsWith("#version 450\n"), gl.out());
        assertTrue(gl.out().contains("//!kernel gelu\n") && gl.out().contains("layout(std430, binding = 1) buffer owl_B1 { float y[]; };"), gl.out());
    }

    @Test
    void userErrorsAreOneLine() {
        Result refused = owl2j("kernels", "emit", "--class-path", classes.toString(), "--class", "com.example.Activations", "--kernel", "broken");
        assertEquals(1, refused.rc());
        assertTrue(refused.err().startsWith("owl2j: com.example.Activations.broken (Activations.java:17, bytecode 2): object allocation (new java.lang.StringBuilder)"), refused.err());
        assertEquals(1, refused.err().strip().lines().count(), refused.err());

        Path in = dir.resolve("only-x.safetensors");
        SafetensorsWriter.write(in, List.of(f32("x", new float[4])), Map.of());
        Result missing = owl2j("kernels", "run", "--class-path", classes.toString(), "--class", "com.example.Activations", "--kernel", "gelu",
                "--global", "64", "--local", "64", "--inputs", in.toString(), "--set", "n=4", "--out", dir.resolve("o.safetensors").toString());
        assertEquals(1, missing.rc());
        assertTrue(missing.err().contains("has no tensor named y (parameter FloatArray y"), missing.err());

        Result noClass = owl2j("kernels", "emit", "--class-path", classes.toString(), "--class", "com.example.Nope");
        assertEquals(1, noClass.rc());
        assertTrue(noClass.err().startsWith("owl2j: class com.example.Nope not found"), noClass.err());
        assertFalse(noClass.err().contains("Exception"), noClass.err());
    }

    @Test
    void benchTimesModelKernelsOnTheJvm() {
        Result r = owl2j("kernels", "bench", "--backend", "java", "--kernel", "scale", "--repeat", "1");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("copy bandwidth"), r.out());
        assertTrue(r.out().matches("(?s).*\\| scale \\| 256 x 4096 \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ \\| [0-9]+ % \\|.*"), r.out());
    }
}
