package dev.owl2j.model.cpu;

import dev.owl2j.model.NumericAssert;
import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model on the three fixture prompts (one image, text only, two images in swapped order), from the
 * golden pixel values to greedy tokens. Tolerances: states 1e-5 abs, logits 1e-4 abs, greedy tokens identical.
 */
class Owl2ModelTest {
    static final double STATE_TOLERANCE = 1e-5;
    static final double LOGIT_TOLERANCE = 1e-4;
    static final int GREEDY_STEPS = 8;

    /** Visual tokens of the prompt's images, in placeholder order, computed from the golden pixels. */
    static List<float[]> imagesOf(String prompt) {
        return imagesOf(Fixture.model(), prompt);
    }

    static List<float[]> imagesOf(Owl2Model model, String prompt) {
        List<float[]> images = new ArrayList<>();
        for (String image : Fixture.promptImages(prompt)) {
            images.add(model.encodeImage(Fixture.golden(image + ".pixel_values")));
        }
        return images;
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) best = i; // lowest id wins ties, like the oracle
        }
        return best;
    }

    /**
     * Both CPU kernel paths: the Vector API kernels, and the plain-Java SmallLinear that the ordinary factory gives
     * matrices this small (the embedded default model's path).
     */
    @ParameterizedTest
    @CsvSource({"prompt0, vector", "prompt1, vector", "prompt2, vector", "prompt0, small", "prompt1, small", "prompt2, small"})
    void prefillStatesLogitsAndGreedyTokensMatchTheOracle(String prompt, String kernels) {
        Owl2Model model = kernels.equals("small") ? Fixture.smallModel() : Fixture.model();
        int[] ids = Fixture.promptIds(prompt);
        assertArrayEquals(Fixture.goldenInts(prompt + ".input_ids"), ids, "manifest ids equal the golden ids");
        List<float[]> images = imagesOf(model, prompt);

        // Splice (docs/model.md, Splice): embeddings and modality indicators of every position.
        SplicedInput spliced = model.splice(ids, images);
        assertArrayEquals(Fixture.goldenInts(prompt + ".modality_indicators"), spliced.modality(), prompt + ".modality_indicators");
        NumericAssert.assertAllClose(prompt + ".inputs_embeds", Fixture.golden(prompt + ".inputs_embeds"), spliced.embeds(), STATE_TOLERANCE);

        Map<String, float[]> stages = new HashMap<>();
        Session session = model.newSession((name, rows, cols, data) -> stages.put(name, data));
        float[] logits = session.prefill(ids, images);
        assertEquals(spliced.length(), session.position());
        for (int l = 0; l < Fixture.CONFIG.numHiddenLayers(); l++) {
            NumericAssert.assertAllClose(prompt + ".decoder.layer" + l, Fixture.golden(prompt + ".decoder.layer" + l),
                    stages.get("decoder.layer" + l), STATE_TOLERANCE);
        }
        NumericAssert.assertAllClose(prompt + ".final_hidden", Fixture.golden(prompt + ".final_hidden"), stages.get("final_hidden"), STATE_TOLERANCE);
        NumericAssert.assertAllClose(prompt + ".last_logits", Fixture.golden(prompt + ".last_logits"), logits, LOGIT_TOLERANCE);

        // Greedy decoding with the KV cache: argmax, generated tokens are text.
        int[] expectedTokens = Fixture.goldenInts(prompt + ".greedy_tokens");
        float[] stepTopLogits = Fixture.golden(prompt + ".step_top_logits");
        int[] stepTopIds = Fixture.goldenInts(prompt + ".step_top_ids");
        int[] tokens = new int[GREEDY_STEPS];
        Session greedy = model.newSession();
        float[] l = greedy.prefill(ids, images);
        for (int s = 0; s < GREEDY_STEPS; s++) {
            // The oracle's 8 best logits of this step, compared by id.
            float[] expectedTop = new float[8];
            float[] actualTop = new float[8];
            for (int j = 0; j < 8; j++) {
                expectedTop[j] = stepTopLogits[s * 8 + j];
                actualTop[j] = l[stepTopIds[s * 8 + j]];
            }
            NumericAssert.assertAllClose(prompt + " step " + s + " top-8 logits", expectedTop, actualTop, LOGIT_TOLERANCE);
            tokens[s] = argmax(l);
            if (s + 1 < GREEDY_STEPS) {
                l = greedy.step(tokens[s]);
            }
        }
        assertArrayEquals(expectedTokens, tokens, prompt + ".greedy_tokens");
    }

    @Test
    void placeholderAndImageCountMustAgree() {
        int[] ids = Fixture.promptIds("prompt2");
        Owl2jException e = assertThrows(Owl2jException.class,
                () -> Fixture.model().newSession().prefill(ids, List.of(new float[65 * 64])));
        assertTrue(e.getMessage().contains("2 image placeholder(s) but 1 image(s)"), e.getMessage());
    }

    @Test
    void badTokenIdsAndWrongVisualTokenSizesAreUserErrors() {
        Session s = Fixture.model().newSession();
        Owl2jException e1 = assertThrows(Owl2jException.class, () -> s.prefill(new int[]{1, 32000}, List.of()));
        assertTrue(e1.getMessage().contains("token id 32000 is outside the vocabulary"), e1.getMessage());
        Owl2jException e2 = assertThrows(Owl2jException.class, () -> s.prefill(new int[]{1, -200}, List.of(new float[64])));
        assertTrue(e2.getMessage().contains("expected 65x64"), e2.getMessage());
        Owl2jException e3 = assertThrows(Owl2jException.class, () -> s.prefill(new int[0], List.of()));
        assertTrue(e3.getMessage().contains("empty"), e3.getMessage());
        assertEquals(0, s.position(), "failed prefills leave the cache empty");
    }
}
