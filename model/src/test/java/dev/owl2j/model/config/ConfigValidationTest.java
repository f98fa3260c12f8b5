package dev.owl2j.model.config;

import dev.owl2j.model.TestData;
import dev.owl2j.model.UserErrors;
import dev.owl2j.model.checkpoint.ModelCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Config values are validated, never silently replaced (docs/security.md, Configs); several instances per class. */
class ConfigValidationTest {
    private static void refused(String json, String fragment) {
        UserErrors.assertRefused(() -> Owl2Config.parse(json), fragment);
    }

    @Test
    void absentKeysTakeTheDefaultsAndPresentOnesAreKept() {
        Owl2Config d = Owl2Config.parse("{}");
        assertEquals(4096, d.hiddenSize());
        assertEquals(32, d.numHiddenLayers());
        assertEquals(1e-6, d.rmsNormEps());
        assertEquals(448, d.vision().imageSize());
        assertEquals(1, d.bosTokenId());
        assertEquals(2, d.eosTokenId());
        // null is absent (Hugging Face writes "num_key_value_heads": null and the like)
        Owl2Config n = Owl2Config.parse("{\"hidden_size\": null, \"num_key_value_heads\": null, \"visual_config\": null}");
        assertEquals(4096, n.hiddenSize());
        assertEquals(32, n.numKeyValueHeads());
        Owl2Config fixture = Owl2Config.read(TestData.tinyFixture().resolve("config.json"));
        assertEquals(64, fixture.hiddenSize());
        assertEquals(2, fixture.numHiddenLayers());
    }

    @Test
    void zeroAndNegativeSizesAreRefusedNotReplaced() {
        refused("{\"hidden_size\": 0}", "hidden_size must be an integer from 1 to 65536, found 0");
        refused("{\"hidden_size\": -64}", "found -64");
        refused("{\"num_hidden_layers\": 0}", "num_hidden_layers must be an integer from 1 to 1024, found 0");
        refused("{\"num_hidden_layers\": -3}", "num_hidden_layers");
        refused("{\"vocab_size\": 0}", "vocab_size");
        refused("{\"num_attention_heads\": 0}", "num_attention_heads");
        refused("{\"visual_config\": {\"visual_model\": {\"num_hidden_layers\": -1}}}",
                "visual_config.visual_model.num_hidden_layers must be an integer from 1 to 1024, found -1");
        refused("{\"visual_config\": {\"visual_abstractor\": {\"num_learnable_queries\": 0}}}", "visual_abstractor.num_learnable_queries");
    }

    @Test
    void absurdSizesAreRefusedBeforeAnythingIsBuilt() {
        refused("{\"num_hidden_layers\": 1000000}", "num_hidden_layers must be an integer from 1 to 1024, found 1000000");
        refused("{\"visual_config\": {\"visual_model\": {\"num_hidden_layers\": 1000000}}}", "visual_model.num_hidden_layers");
        refused("{\"visual_config\": {\"visual_abstractor\": {\"num_hidden_layers\": 1000000}}}", "visual_abstractor.num_hidden_layers");
        refused("{\"hidden_size\": 2147483647}", "hidden_size");
        refused("{\"hidden_size\": 99999999999}", "hidden_size");
        refused("{\"visual_config\": {\"visual_model\": {\"image_size\": -448}}}", "visual_model.image_size");
        refused("{\"visual_config\": {\"visual_model\": {\"image_size\": 1000000}}}", "visual_model.image_size must be an integer from 1 to 4096");
        refused("{\"visual_config\": {\"visual_model\": {\"image_size\": 4060, \"patch_size\": 1}}}", "more than 128");
        refused("{\"visual_config\": {\"visual_model\": {\"patch_size\": 0}}}", "visual_model.patch_size");
        refused("{\"visual_config\": {\"visual_model\": {\"num_channels\": 4}}}", "num_channels must be an integer from 3 to 3");
        refused("{\"max_position_embeddings\": -1}", "max_position_embeddings");
        refused("{\"vocab_size\": 100, \"bos_token_id\": 100}", "bos_token_id must be an integer from 0 to 99");
    }

    @Test
    void nonIntegersInIntegerFieldsAreRefused() {
        refused("{\"hidden_size\": 64.5}", "hidden_size must be an integer");
        refused("{\"hidden_size\": 64.0}", "found 64.0");
        refused("{\"hidden_size\": \"64\"}", "found \"64\"");
        refused("{\"hidden_size\": true}", "found true");
        refused("{\"hidden_size\": [64]}", "found a list");
        refused("{\"hidden_size\": 1e3}", "hidden_size must be an integer");
        refused("{\"tie_word_embeddings\": \"false\"}", "tie_word_embeddings must be true or false");
        refused("{\"visual_config\": 7}", "visual_config must be an object");
    }

    @Test
    void numericalPoisonIsRefused() {
        refused("{\"rms_norm_eps\": -1}", "rms_norm_eps must be a number above 0.0 and at most 1.0, found -1");
        refused("{\"rms_norm_eps\": 0}", "rms_norm_eps");
        refused("{\"rms_norm_eps\": 1e400}", "rms_norm_eps");
        refused("{\"rms_norm_eps\": \"1e-6\"}", "rms_norm_eps");
        refused("{\"rope_theta\": -10000}", "rope_theta");
        refused("{\"rope_theta\": 0}", "rope_theta");
        refused("{\"visual_config\": {\"visual_model\": {\"layer_norm_eps\": -1e-6}}}", "visual_model.layer_norm_eps");
        refused("{\"visual_config\": {\"visual_abstractor\": {\"layer_norm_eps\": 0}}}", "visual_abstractor.layer_norm_eps");
        refused("{\"rms_norm_eps\": NaN}", "not valid JSON");
    }

    @Test
    void malformedJsonIsRefused(@TempDir Path tmp) throws Exception {
        refused("{\"hidden_size\": 64} trailing", "not valid JSON");
        refused("{\"hidden_size\": 64} {}", "not valid JSON");
        refused("{\"hidden_size\": 64, \"hidden_size\": 0}", "not valid JSON (Duplicate field 'hidden_size')");
        refused("[1, 2]", "not a JSON object");
        refused("", "");
        refused("{\"a\": " + "[".repeat(2000) + "]".repeat(2000) + "}", "not valid JSON");
        Path big = tmp.resolve("config.json");
        Files.writeString(big, "{\"pad\": \"" + "x".repeat(1 << 20) + "\"}");
        UserErrors.assertRefused(() -> Owl2Config.read(big), "too large for a config file");
    }

    @Test
    void preprocessorValuesAreValidated() {
        String[][] cases = {
                {"{\"image_std\": [0, 0, 0]}", "image_std must be a list of 3 numbers from 1e-6 to 1e6, found 0"},
                {"{\"image_std\": [0.2, -0.2, 0.2]}", "image_std"},
                {"{\"image_std\": [0.2, 0.2]}", "found a list"},
                {"{\"image_std\": [0.2, \"a\", 0.2]}", "found \"a\""},
                {"{\"image_mean\": [1e400, 0, 0]}", "image_mean must be a list of 3 finite numbers"},
                {"{\"crop_size\": -1}", "crop_size must be an integer from 1 to 4096"},
                {"{\"crop_size\": {\"height\": 100000, \"width\": 448}}", "crop_size.height"},
                {"{\"size\": 1000000}", "size must be an integer from 1 to 4096"},
                {"{\"size\": {\"height\": 448}}", "size must be an integer or an object with shortest_edge"},
                {"{\"size\": 448.5}", "size must be an integer"},
                {"{\"rescale_factor\": 0}", "rescale_factor"},
                {"{\"rescale_factor\": -0.5}", "rescale_factor"},
                {"{\"resample\": 2}", "only resample=3"},
                {"{\"do_normalize\": 1}", "do_normalize must be true or false"},
        };
        for (String[] c : cases) UserErrors.assertRefused(() -> PreprocessorConfig.parse(c[0]), c[1]);
        PreprocessorConfig p = PreprocessorConfig.parse("{\"size\": {\"shortest_edge\": 224}, \"crop_size\": {\"height\": 224, \"width\": 224}}");
        assertEquals(224, p.shortestEdge());
        assertEquals(224, p.cropWidth());
    }

    @Test
    void generationValuesAreValidated() {
        String[][] cases = {
                {"{\"temperature\": -1}", "temperature must be a number from 0.0 to 100.0"},
                {"{\"temperature\": 1e400}", "temperature"},
                {"{\"top_p\": 0}", "top_p"},
                {"{\"top_p\": 1.5}", "top_p"},
                {"{\"top_k\": -1}", "top_k"},
                {"{\"eos_token_id\": -1}", "eos_token_id"},
                {"{\"eos_token_id\": [1, 2]}", "eos_token_id must be an integer"},
                {"{\"bos_token_id\": 1.5}", "bos_token_id"},
                {"{\"max_length\": 0}", "max_length"},
        };
        for (String[] c : cases) UserErrors.assertRefused(() -> GenerationConfig.parse(c[0]), c[1]);
        assertEquals(0.0, GenerationConfig.parse("{\"temperature\": 0}").temperature());
    }

    @Test
    void crossFileChecksAtLoad(@TempDir Path tmp) throws Exception {
        Path dir = copyFixture(tmp.resolve("ids"));
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 32000}");
        UserErrors.assertRefused(() -> ModelCheckpoint.open(dir), "bos_token_id 32000 is outside the vocabulary of 32000");
        Path crop = copyFixture(tmp.resolve("crop"));
        Files.writeString(crop.resolve("preprocessor_config.json"), "{\"crop_size\": 224, \"size\": 224}");
        UserErrors.assertRefused(() -> ModelCheckpoint.open(crop), "crop_size 224x224 differs from the vision tower's image_size 448");
        Path hidden = copyFixture(tmp.resolve("hidden"));
        Files.writeString(hidden.resolve("config.json"), Files.readString(hidden.resolve("config.json"))
                .replaceFirst("\"hidden_size\": 64", "\"hidden_size\": 0"));
        UserErrors.assertRefused(() -> ModelCheckpoint.open(hidden), "hidden_size must be an integer from 1 to 65536, found 0");
    }

    private static Path copyFixture(Path dir) throws Exception {
        Files.createDirectories(dir);
        for (String f : new String[]{"config.json", "generation_config.json", "preprocessor_config.json", "model.safetensors"}) {
            Path src = TestData.tinyFixture().resolve(f);
            if (f.endsWith(".safetensors")) Files.createSymbolicLink(dir.resolve(f), src.toAbsolutePath());
            else Files.copy(src, dir.resolve(f));
        }
        return dir;
    }
}
