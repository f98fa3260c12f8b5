package dev.owl2j.kernels;

import dev.owl2j.kernels.compiler.LanguageKernels;
import dev.owl2j.kernels.compiler.target.CudaTarget;
import dev.owl2j.kernels.cuda.Nvrtc;
import dev.owl2j.kernels.ops.Ops;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every emitted CUDA kernel (the model's and the language tests') and the tensor-core matmul compiled by NVIDIA's
 * own toolchain without a GPU: NVRTC through the CUDA backend's NVRTC path (LWJGL, pointed at the
 * nvidia-cuda-nvrtc wheel's libnvrtc.so.13) to PTX, then ptxas from the nvidia-cuda-nvcc wheel to sm_80 and sm_90
 * machine code. Any error fails; registers and spills per kernel are printed and written to
 * target/cuda-compile-sm_XX.txt. The wheels are fetched by scripts/cuda-wheels.sh (.ci/run runs it) into
 * .whl/cuda; the test skips, with the reason, only when they could not be fetched, except where
 * OWL2J_REQUIRE_CUDA_WHEELS=1 (CI sets it) turns that into a failure, so CI never passes without compiling.
 */
class CudaCompileTest {
    static Path cuda;

    @BeforeAll
    static void wheels() throws IOException {
        Path root = Path.of(System.getProperty("owl2j.testdata", "../testdata")).toAbsolutePath().getParent();
        cuda = root.resolve(".whl/cuda/nvidia/cu13");
        Path lib = cuda.resolve("lib/libnvrtc.so.13"), ptxas = cuda.resolve("bin/ptxas");
        if (!Files.isRegularFile(lib) || !Files.isExecutable(ptxas)) {
            Path why = root.resolve(".whl/UNAVAILABLE");
            String reason = "CUDA wheels not available: " + (Files.isRegularFile(why) ? Files.readString(why).trim()
                    : "not fetched (run: bash scripts/cuda-wheels.sh)");
            if ("1".equals(System.getenv("OWL2J_REQUIRE_CUDA_WHEELS"))) fail(reason + " (OWL2J_REQUIRE_CUDA_WHEELS=1)");
            Assumptions.abort(reason);
        }
        org.lwjgl.system.Configuration.CUDA_NVRTC_LIBRARY_NAME.set(lib.toString());
        org.lwjgl.system.Configuration.CUDA_NVRTC_BUILTINS_LIBRARY_NAME.set(cuda.resolve("lib/libnvrtc-builtins.so.13.0").toString());
    }

    record Kernel(String name, int registers, int spillStores, int spillLoads, int sharedBytes) {}

    @ParameterizedTest
    @ValueSource(strings = {"80", "90"})
    void everyKernelCompilesWithNvrtcAndAssemblesWithPtxas(String sm) throws Exception {
        Map<String, String> sources = new LinkedHashMap<>();
        Map<String, List<String>> expected = new LinkedHashMap<>();
        for (KernelProgram p : List.of(Ops.PROGRAM, KernelProgram.of("language", LanguageKernels.class))) {
            KernelProgram.Compiled c = p.compiled(new CudaTarget());
            sources.put(p.name(), c.source());
            expected.put(p.name(), c.kernels().values().stream().map(KernelSignature::deviceName).toList());
        }
        sources.put("matmul_tc_f16", KernelSources.resource("matmul_tc_f16.cu"));
        expected.put("matmul_tc_f16", List.of("matmul_tc_f16"));
        StringBuilder report = new StringBuilder("NVRTC " + Nvrtc.version() + ", sm_" + sm + "\n| program | kernel | registers | spill stores | spill loads | shared bytes |\n|---|---|---|---|---|---|\n");
        Path dir = Files.createTempDirectory("owl2j-cuda");
        for (var e : sources.entrySet()) {
            byte[] ptx = Nvrtc.compile(e.getKey(), e.getValue(), "--gpu-architecture=compute_" + sm, "sm_" + sm);
            Path ptxFile = dir.resolve(e.getKey() + ".ptx");
            Files.write(ptxFile, ptx);
            Process pr = new ProcessBuilder(cuda.resolve("bin/ptxas").toString(), "-arch=sm_" + sm, "-v", ptxFile.toString(),
                    "-o", dir.resolve(e.getKey() + ".cubin").toString()).redirectErrorStream(true).start();
            String out = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int rc = pr.waitFor();
            assertEquals(0, rc, "ptxas -arch=sm_" + sm + " " + e.getKey() + ":\n" + out);
            List<Kernel> ks = parse(out);
            List<String> names = ks.stream().map(Kernel::name).toList();
            for (String k : expected.get(e.getKey())) assertTrue(names.contains(k), "ptxas did not assemble " + k + " of " + e.getKey() + ":\n" + out);
            for (Kernel k : ks) {
                report.append(String.format("| %s | %s | %d | %d | %d | %d |%n", e.getKey(), k.name(), k.registers(), k.spillStores(), k.spillLoads(), k.sharedBytes()));
            }
        }
        System.out.print(report);
        Files.writeString(Path.of("target/cuda-compile-sm_" + sm + ".txt"), report);
    }

    private static final Pattern ENTRY = Pattern.compile("Compiling entry function '([^']+)'");
    private static final Pattern SPILLS = Pattern.compile("(\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern USED = Pattern.compile("Used (\\d+) registers(?:, used \\d+ barriers)?(?:, (\\d+) bytes smem)?");

    /** Per entry function of ptxas -v: registers, spills and shared memory. */
    static List<Kernel> parse(String out) {
        List<Kernel> ks = new ArrayList<>();
        String name = null;
        int stores = 0, loads = 0;
        for (String line : out.split("\n")) {
            Matcher m = ENTRY.matcher(line);
            if (m.find()) {
                name = m.group(1);
                continue;
            }
            m = SPILLS.matcher(line);
            if (m.find()) {
                stores = Integer.parseInt(m.group(1));
                loads = Integer.parseInt(m.group(2));
                continue;
            }
            m = USED.matcher(line);
            if (m.find() && name != null) {
                ks.add(new Kernel(name, Integer.parseInt(m.group(1)), stores, loads, m.group(2) == null ? 0 : Integer.parseInt(m.group(2))));
                name = null;
                stores = loads = 0;
            }
        }
        return ks;
    }
}
