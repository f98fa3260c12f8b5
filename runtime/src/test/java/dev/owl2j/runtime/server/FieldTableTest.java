package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The field tables of docs/server.md: every field a client may send is honoured, accepted with values that ask for
 * nothing, or refused with a 400 whose {@code param} names it; an unknown field is never silently ignored.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FieldTableTest {
    static OpenAiServer server;

    @BeforeAll
    static void start() {
        server = new OpenAiServer(new StubModel(2), ServerOptions.defaults().withPort(0).withBatch(2, 8)).start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static final String MSG = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1";

    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"user\":\"u-42\",\"store\":false,\"service_tier\":\"auto\"}"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"modalities\":[\"text\"],\"tool_choice\":\"none\",\"parallel_tool_calls\":false}"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"safety_identifier\":\"x\",\"prompt_cache_key\":\"k\",\"tools\":null,\"metadata\":null}"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"top_k\":5,\"repetition_penalty\":1.1,\"presence_penalty\":0.5,\"frequency_penalty\":-0.5,\"logit_bias\":{\"5\":1}}"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"developer\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]},"
                        + "{\"role\":\"assistant\",\"content\":\"yo\",\"tool_calls\":[],\"refusal\":null},{\"role\":\"user\",\"content\":\"again\"}],\"max_tokens\":1}"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"response_format\":{\"type\":\"text\"},\"logprobs\":false}"),
                Arguments.of("/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":1,\"user\":\"u\",\"suffix\":\"\",\"best_of\":1,\"echo\":false}"),
                Arguments.of("/v1/score", "{\"model\":\"tiny-owl2-f16\",\"prompt\":\"x\",\"candidates\":[\"a\"]}"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("accepted")
    void acceptedFieldsAndValues(String path, String body) throws Exception {
        HttpResponse<String> r = Wire.post(server.port(), path, body);
        assertEquals(200, r.statusCode(), r.body());
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                // unknown fields, at every level
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"temprature\":0.5}", "temprature", "unknown_parameter"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"mood\":\"x\"}]}", "messages[0].mood", "unknown_parameter"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\",\"lang\":\"en\"}]}]}", "messages[0].content[0].lang", "unknown_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"stream\":true,\"stream_options\":{\"include_usage\":true,\"x\":1}}", "stream_options.x", "unknown_parameter"),
                Arguments.of("/v1/completions", "{\"prompt\":\"hi\",\"top_n\":2}", "top_n", "unknown_parameter"),
                Arguments.of("/v1/score", "{\"prompt\":\"x\",\"candidates\":[\"a\"],\"temperature\":1}", "temperature", "unknown_parameter"),
                // fields this server does not do
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}", "tools", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"tool_choice\":\"auto\"}", "tool_choice", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"store\":true}", "store", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"service_tier\":\"flex\"}", "service_tier", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"modalities\":[\"text\",\"audio\"]}", "modalities", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"audio\":{\"voice\":\"x\"}}", "audio", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"reasoning_effort\":\"high\"}", "reasoning_effort", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"metadata\":{\"a\":\"b\"}}", "metadata", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"prediction\":{\"type\":\"content\",\"content\":\"x\"}}", "prediction", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"web_search_options\":{}}", "web_search_options", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"name\":\"bob\"}]}", "messages[0].name", "unsupported_parameter"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:,\",\"detail\":\"high\"}}]}]}",
                        "messages[0].content[0].image_url.detail", "unsupported_parameter"),
                Arguments.of("/v1/completions", "{\"prompt\":\"hi\",\"suffix\":\"end\"}", "suffix", "unsupported_parameter"),
                Arguments.of("/v1/completions", "{\"prompt\":\"hi\",\"best_of\":3}", "best_of", "unsupported_parameter"),
                Arguments.of("/v1/completions", "{\"prompt\":\"hi\",\"response_format\":{\"type\":\"json_object\"}}", "response_format", "unsupported_parameter"),
                // honoured fields with wrong values name themselves
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"top_logprobs\":3}", "top_logprobs", "invalid_top_logprobs"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"logprobs\":true,\"top_logprobs\":21}", "top_logprobs", "invalid_top_logprobs"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"presence_penalty\":2.5}", "presence_penalty", "invalid_presence_penalty"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"repetition_penalty\":0}", "repetition_penalty", "invalid_repetition_penalty"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"logit_bias\":{\"99999\":1}}", "logit_bias", "invalid_logit_bias"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"logit_bias\":{\"5\":500}}", "logit_bias", "invalid_logit_bias"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"n\":0}", "n", "invalid_n"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"stream_options\":{\"include_usage\":true}}", "stream_options", "invalid_stream_options"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"response_format\":{\"type\":\"xml\"}}", "response_format.type", "invalid_response_format"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"string\",\"pattern\":\"a\"}}}}",
                        "response_format.json_schema.schema", "invalid_response_format"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}}",
                        "response_format.json_schema.name", "invalid_response_format"),
                Arguments.of("/v1/chat/completions", "{" + MSG + ",\"model\":7}", "model", "invalid_model"),
                Arguments.of("/v1/completions", "{\"prompt\":[1,2,99999]}", "prompt", "invalid_prompt"),
                Arguments.of("/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":-1}", "max_tokens", "invalid_max_tokens"),
                Arguments.of("/v1/completions", "{\"prompt\":\"hi\",\"logprobs\":21}", "logprobs", "invalid_logprobs"),
                Arguments.of("/v1/completions", "{\"max_tokens\":1}", "prompt", "invalid_prompt"));
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("refused")
    void everyOtherFieldIsRefusedByName(String path, String body, String param, String code) throws Exception {
        HttpResponse<String> r = Wire.post(server.port(), path, body);
        Wire.assertApiError(400, code, "", r.statusCode(), r.body());
        JsonNode err = Wire.JSON.readTree(r.body()).get("error");
        assertEquals(param, err.get("param").asText(), r.body());
        assertEquals(true, err.get("message").asText().contains(param), r.body());
    }
}
