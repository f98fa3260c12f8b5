package dev.owl2j.tests;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's main job: {@code owl2j run} with no --model uses the embedded default and says so. */
class DefaultModelTest {
    static Path home;
    static String previous;

    @BeforeAll
    static void isolateCache() throws Exception {
        home = Files.createTempDirectory("owl2j-home");
        previous = System.getProperty("owl2j.cacheHome");
        System.setProperty("owl2j.cacheHome", home.toString());
    }

    @AfterAll
    static void restore() {
        if (previous == null) System.clearProperty("owl2j.cacheHome");
        else System.setProperty("owl2j.cacheHome", previous);
    }

    @Test
    void runsATextAndImagePromptDeterministically() {
        String[] args = {"run", "--backend", "cpu", "--image", Cli.fixture().resolve("image0.png").toString(),
                "--prompt", "<|image|>Describe the image.", "--temperature", "0", "--max-new-tokens", "6", "--output", "json"};
        Cli.Result first = Cli.run(args);
        assertEquals(0, first.exitCode(), first.err());
        assertTrue(first.err().contains("random weights"), "must say its answers are noise: " + first.err());
        assertTrue(Files.isRegularFile(home.resolve("default-model-v2/model.safetensors")));
        assertTrue(Files.isRegularFile(home.resolve("default-model-v2/tokenizer.json")));
        Cli.Result second = Cli.run(args);
        assertEquals(0, second.exitCode(), second.err());
        assertEquals(field(first.out(), "ids"), field(second.out(), "ids"), "greedy decoding is deterministic");
        assertEquals(field(first.out(), "text"), field(second.out(), "text"));
        assertEquals(6, field(first.out(), "ids").size());
    }

    static com.fasterxml.jackson.databind.JsonNode field(String jsonLine, String name) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(jsonLine.strip()).get(name);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + jsonLine, e);
        }
    }

    @Test
    void markersMustMatchTheImagesButMayBeLeftOut() {
        String image = Cli.fixture().resolve("image0.png").toString();
        Cli.Result mismatch = Cli.run("run", "--backend", "cpu", "--image", image, "--prompt", "<|image|> and <|image|>?",
                "--max-new-tokens", "2");
        assertEquals(1, mismatch.exitCode());
        assertTrue(mismatch.err().strip().endsWith("the prompt has 2 image placeholders (<|image|> or -200) but 1 image was given"),
                mismatch.err());
        Cli.Result implicit = Cli.run("run", "--backend", "cpu", "--image", image, "--prompt", "What is this?",
                "--max-new-tokens", "2", "--output", "json");
        assertEquals(0, implicit.exitCode(), implicit.err());
        assertTrue(field(implicit.out(), "stats").get("prompt_tokens").asInt() > 65, "the image's 65 positions were used");
    }

    @Test
    void captionWritesOneLinePerImageWithAtLeastTheMinimumTokens() {
        Cli.Result r = Cli.run("caption", "--backend", "cpu", "--max-new-tokens", "10", "--min-new-tokens", "10",
                Cli.fixture().resolve("image0.png").toString(), Cli.fixture().resolve("image1.jpg").toString());
        assertEquals(0, r.exitCode(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("image0.png\t"), lines.get(0));
        assertTrue(lines.get(1).startsWith("image1.jpg\t"), lines.get(1));
    }

    /** Random as it is, the default model looks at the image: each of these pairs gets two different captions. */
    @Test
    void differentImagesGetDifferentAnswers(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path red = solid(tmp.resolve("red.png"), 0xd02020);
        Path blue = solid(tmp.resolve("blue.png"), 0x2040d0);
        Path gray = solid(tmp.resolve("gray.png"), 0x808080);
        Cli.Result r = Cli.run("caption", "--backend", "cpu", "--max-new-tokens", "12",
                Cli.fixture().resolve("image0.png").toString(), Cli.fixture().resolve("image1.jpg").toString(),
                red.toString(), blue.toString(), gray.toString());
        assertEquals(0, r.exitCode(), r.err());
        List<String> captions = r.out().lines().map(l -> l.substring(l.indexOf('\t') + 1)).toList();
        assertEquals(5, captions.size(), r.out());
        assertEquals(5, new java.util.HashSet<>(captions).size(), "five images, five different captions:\n" + r.out());
    }

    private static Path solid(Path file, int rgb) throws Exception {
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(64, 48, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.getHeight(); y++) for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, rgb);
        javax.imageio.ImageIO.write(img, "png", file.toFile());
        return file;
    }

    @Test
    void scoreOfACandidateEqualsTheLogSoftmaxOfTheDumpedLogits(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        String image = Cli.fixture().resolve("image1.jpg").toString();
        Cli.Result scored = Cli.run("score", "--backend", "cpu", "--image", image, "--prompt", "Rate the image.",
                "--candidate", " good", "--candidate", " poor", "--output", "json");
        assertEquals(0, scored.exitCode(), scored.err());
        com.fasterxml.jackson.databind.JsonNode scores = field(scored.out(), "scores");
        assertEquals(2, scores.size());

        // independent path: the plain run command's logits after the same prompt
        Path logits = tmp.resolve("l.safetensors");
        Cli.Result run = Cli.run("run", "--backend", "cpu", "--image", image, "--prompt", "Rate the image.",
                "--max-new-tokens", "1", "--dump-logits", logits.toString(), "--output", "json");
        assertEquals(0, run.exitCode(), run.err());
        float[] l;
        try (dev.owl2j.model.format.SafetensorsFile f = dev.owl2j.model.format.SafetensorsFile.open(logits)) {
            l = f.get("logits").toFloatArray();
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) max = Math.max(max, v);
        double sum = 0;
        for (float v : l) sum += Math.exp(v - max);
        double logZ = max + Math.log(sum);
        for (com.fasterxml.jackson.databind.JsonNode s : scores) {
            int first = s.get("token_ids").get(0).asInt();
            double expected = l[first] - logZ;
            double got = s.get("token_logprobs").get(0).asDouble();
            assertEquals(expected, got, 1e-4, s.get("candidate").asText());
            double total = 0;
            for (com.fasterxml.jackson.databind.JsonNode lp : s.get("token_logprobs")) total += lp.asDouble();
            assertEquals(total, s.get("logprob").asDouble(), 1e-9);
        }
    }

    @Test
    void chatAnswersTwoTurnsAndAcceptsCommands() {
        Cli.Result r = Cli.withInput("/image " + Cli.fixture().resolve("image1.jpg") + "\nWhat is this?\n/bogus\nAnd now?\n/exit\n",
                "chat", "--backend", "cpu", "--temperature", "0", "--max-new-tokens", "4");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(2, r.out().split("ASSISTANT:", -1).length - 1, r.out());
        assertTrue(r.err().contains("unknown command /bogus"), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
    }
}
