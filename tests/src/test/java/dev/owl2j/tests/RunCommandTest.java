package dev.owl2j.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.Goldens;
import dev.owl2j.model.format.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code owl2j run} end to end on the tiny fixture: image files in, greedy tokens out, equal to the golden
 * tokens of the independent reference; the dumped logits equal the golden last logits (max abs 1e-4).
 */
class RunCommandTest {
    static final SafetensorsFile golden = Goldens.TENSORS;

    static JsonNode prompt(String name) {
        return Goldens.prompt(name);
    }

    static List<String> runArgs(String name, String... extra) {
        JsonNode p = prompt(name);
        List<String> ids = new ArrayList<>();
        p.get("ids").forEach(n -> ids.add(n.asText()));
        List<String> args = new ArrayList<>(List.of("run", "--model", Cli.fixture().toString(), "--backend", "cpu",
                "--temperature", "0", "--max-new-tokens", "8", "--prompt-ids", String.join(",", ids)));
        p.get("images").forEach(img -> {
            args.add("--image");
            args.add(Cli.fixture().resolve(img.asText().equals("image0") ? "image0.png" : "image1.jpg").toString());
        });
        args.addAll(List.of(extra));
        return args;
    }

    @ParameterizedTest
    @ValueSource(strings = {"prompt0", "prompt1", "prompt2"})
    void greedyTokensFromImageFilesEqualTheReference(String name, @TempDir Path tmp) throws Exception {
        Path logits = tmp.resolve("logits.safetensors");
        Cli.Result r = Cli.run(runArgs(name, "--output", "json", "--dump-logits", logits.toString()).toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out().strip());
        int[] got = new int[json.get("ids").size()];
        for (int i = 0; i < got.length; i++) got[i] = json.get("ids").get(i).asInt();
        long[] want = golden.get(name + ".greedy_tokens").toLongArray();
        int[] wantInts = new int[want.length];
        for (int i = 0; i < want.length; i++) wantInts[i] = (int) want[i];
        assertArrayEquals(wantInts, got, "greedy tokens of " + name);
        assertEquals("length", json.get("finish_reason").asText());
        assertEquals(8, json.get("stats").get("generated_tokens").asInt());
        // every prompt position counts: each id, with an image's 65 visual tokens in place of its -200
        int ids = prompt(name).get("ids").size();
        int images = prompt(name).get("images").size();
        assertEquals(ids - images + 65 * images, json.get("stats").get("prompt_tokens").asInt(), "prompt_tokens of " + name);

        float[] expected = golden.get(name + ".last_logits").toFloatArray();
        try (SafetensorsFile dumped = SafetensorsFile.open(logits)) {
            float[] actual = dumped.get("logits").toFloatArray();
            assertEquals(expected.length, actual.length);
            double maxAbs = 0;
            for (int i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i] - actual[i]));
            assertTrue(maxAbs <= 1e-4, name + ": max abs logit difference " + maxAbs + " > 1e-4");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"prompt0", "prompt2"})
    void openclBackendGivesTheReferenceTokens(String name) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(
                dev.owl2j.kernels.Devices.of(dev.owl2j.kernels.Api.OPENCL).isEmpty(), "no OpenCL device");
        List<String> args = runArgs(name, "--output", "json");
        args.set(args.indexOf("cpu"), "opencl");
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        JsonNode ids = new ObjectMapper().readTree(r.out().strip()).get("ids");
        long[] want = golden.get(name + ".greedy_tokens").toLongArray();
        assertEquals(want.length, ids.size());
        for (int i = 0; i < want.length; i++) assertEquals(want[i], ids.get(i).asLong(), name + " token " + i);
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.0", "0.7"})
    void openclSampledRunPicksTheSameTokensAsTheCpuRunWithTheSameSeed(String temperature) throws Exception {
        // the OpenCL session samples on the device with the host Sampler's seeded draws; the CPU run samples on the
        // host. Logits differ by ~1e-6, so only a draw within ~1e-6 of a boundary could differ (not expected here).
        org.junit.jupiter.api.Assumptions.assumeFalse(
                dev.owl2j.kernels.Devices.of(dev.owl2j.kernels.Api.OPENCL).isEmpty(), "no OpenCL device");
        List<String> cpu = runArgs("prompt2", "--output", "json", "--seed", "11", "--top-k", "40", "--top-p", "0.9");
        cpu.set(cpu.indexOf("--temperature") + 1, temperature);
        List<String> cl = new ArrayList<>(cpu);
        cl.set(cl.indexOf("cpu"), "opencl");
        Cli.Result a = Cli.run(cpu.toArray(String[]::new));
        Cli.Result b = Cli.run(cl.toArray(String[]::new));
        assertEquals(0, a.exitCode(), a.err());
        assertEquals(0, b.exitCode(), b.err());
        JsonNode want = new ObjectMapper().readTree(a.out().strip()).get("ids");
        JsonNode got = new ObjectMapper().readTree(b.out().strip()).get("ids");
        assertEquals(want, got);
        long[] greedy = golden.get("prompt2.greedy_tokens").toLongArray();
        boolean differs = want.size() != greedy.length;
        for (int i = 0; !differs && i < greedy.length; i++) differs = want.get(i).asLong() != greedy[i];
        assertTrue(differs, "sampling at temperature " + temperature + " should leave the greedy path");
    }

    @Test
    void textModePrintsIdsWhenTheCheckpointHasNoTokenizer() {
        Cli.Result r = Cli.run(runArgs("prompt1").toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("525,14174,14174,14174,20750,5839,2649,25555", r.out().strip().replace("\n", ""),
                "the fixture manifest's greedy tokens of prompt1");
    }

    static void assertOneLineError(Cli.Result r, String fragment) {
        assertEquals(1, r.exitCode(), r.out() + r.err());
        String err = r.err().strip();
        assertTrue(err.startsWith("owl2j: "), err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.contains(fragment), "'" + err + "' should mention '" + fragment + "'");
    }

    /**
     * A KV cache budget too small for the prompt (set at JVM start, so in a child JVM on this test's class path):
     * one line naming the limit and how to raise it, no stack trace.
     */
    @Test
    void aKvCacheBudgetTooSmallIsAOneLineError() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dowl2j.kvCacheGiB=0.000001", "-cp", System.getProperty("java.class.path"),
                "dev.owl2j.runtime.cli.Owl2jCommand"));
        cmd.addAll(runArgs("prompt1"));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                .lines().filter(l -> !l.contains("Using incubator modules")).collect(java.util.stream.Collectors.joining("\n"));
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "child JVM finished");
        assertOneLineError(new Cli.Result(p.exitValue(), "", err), "(owl2j.kvCacheGiB)");
    }

    @Test
    void moreImagesThanPlaceholdersIsAnError() {
        List<String> args = runArgs("prompt0", "--image", Cli.fixture().resolve("image1.jpg").toString());
        assertOneLineError(Cli.run(args.toArray(String[]::new)), "1 image placeholder");
    }

    @Test
    void fewerImagesThanPlaceholdersIsAnError() {
        List<String> args = runArgs("prompt2");
        int i = args.lastIndexOf("--image");
        args.remove(i);
        args.remove(i);
        assertOneLineError(Cli.run(args.toArray(String[]::new)), "2 image placeholders");
    }

    @Test
    void unknownTokenIdIsAnError() {
        assertOneLineError(Cli.run("run", "--model", Cli.fixture().toString(), "--backend", "cpu", "--prompt-ids", "1,32000"),
                "unknown token id 32000");
    }

    @Test
    void promptOverTheContextIsAnError() {
        StringBuilder ids = new StringBuilder("1");
        for (int i = 0; i < 2100; i++) ids.append(",319");
        assertOneLineError(Cli.run("run", "--model", Cli.fixture().toString(), "--backend", "cpu", "--prompt-ids", ids.toString()),
                "context holds 2048");
    }

    @Test
    void missingImageFileIsAnError() {
        List<String> args = runArgs("prompt0");
        args.set(args.indexOf("--image") + 1, "/nonexistent/picture.png");
        assertOneLineError(Cli.run(args.toArray(String[]::new)), "picture.png");
    }

    @Test
    void unknownQuantIsAnError() {
        assertOneLineError(Cli.run(runArgs("prompt1", "--quant", "q3").toArray(String[]::new)), "unknown --quant 'q3'");
    }

    @Test
    void textPromptNeedsATokenizer() {
        assertOneLineError(Cli.run("run", "--model", Cli.fixture().toString(), "--backend", "cpu", "--prompt", "hi"),
                "--prompt-ids");
    }
}
