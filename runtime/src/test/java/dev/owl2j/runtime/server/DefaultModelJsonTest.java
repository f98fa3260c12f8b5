package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.runtime.generation.json.SchemaValidator;
import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ModelOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Structured output from the embedded random default model (its own 32000-id tokenizer, weights that write noise):
 * sampled at temperature 1, with budgets from roomy to just enough, every answer is JSON valid against the schema
 * and ends with a stop, never with a cut-off value.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DefaultModelJsonTest {
    static String previousHome;
    static LoadedModel loaded;
    static OpenAiServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        previousHome = System.getProperty("owl2j.cacheHome");
        System.setProperty("owl2j.cacheHome", Files.createTempDirectory("owl2j-home").toString());
        ModelOptions options = new ModelOptions();
        options.backend = "cpu";
        loaded = LoadedModel.open(options, null);
        TokenizedModel model = new TokenizedModel(loaded.id(), loaded.engine(), loaded.tokenizer(), loaded.preprocessor(),
                loaded.generation(), AspectMode.PAD);
        server = new OpenAiServer(model, ServerOptions.defaults().withPort(0).withBatch(4, 16)).start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
        if (loaded != null) loaded.close();
        if (previousHome == null) System.clearProperty("owl2j.cacheHome");
        else System.setProperty("owl2j.cacheHome", previousHome);
    }

    static final String ORDER = "{\"type\":\"object\",\"properties\":{"
            + "\"id\":{\"type\":\"integer\"},\"item\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":12},"
            + "\"size\":{\"enum\":[\"S\",\"M\",\"L\"]},\"extras\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":6},\"maxItems\":2},"
            + "\"price\":{\"type\":\"number\"},\"note\":{\"anyOf\":[{\"type\":\"string\",\"maxLength\":8},{\"type\":\"null\"}]},"
            + "\"paid\":{\"type\":\"boolean\"}},\"required\":[\"id\",\"item\",\"size\",\"extras\",\"price\",\"note\",\"paid\"]}";

    @Test
    void theRandomDefaultModelWritesValidJson() throws Exception {
        JsonNode schema = Wire.JSON.readTree(ORDER);
        for (int seed = 0; seed < 6; seed++) {
            int budget = seed < 3 ? 300 : 60 + seed * 10;
            ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model(loaded.id())
                    .addUserMessage("Write the order as JSON.").temperature(1.0).seed(seed).maxCompletionTokens(budget)
                    .responseFormat(OpenAiFeaturesTest.schemaFormat(ORDER)).build());
            String text = c.choices().get(0).message().content().orElseThrow();
            assertEquals(ChatCompletion.Choice.FinishReason.STOP, c.choices().get(0).finishReason(), "seed " + seed + ": " + text);
            SchemaValidator.validate(Wire.JSON.readTree(text), schema);
        }
        ChatCompletion any = client.chat().completions().create(ChatCompletionCreateParams.builder().model(loaded.id())
                .addUserMessage("JSON").temperature(1.0).seed(1).maxCompletionTokens(80)
                .responseFormat(ResponseFormatJsonObject.builder().build()).build());
        assertTrue(Wire.JSON.readTree(any.choices().get(0).message().content().orElseThrow()).isObject());
    }
}
