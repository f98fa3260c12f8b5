package dev.owl2j.runtime.server;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.config.PreprocessorConfig;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.image.ImagePreprocessor;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.engine.Engine;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

/**
 * The server's request parser on any bytes (docs/security.md, Fuzzing): the first byte picks the endpoint (chat
 * completions, completions, score), the rest is the body. It goes through everything a request meets before the
 * engine: the bounded JSON parser, the field tables, the sampling fields, messages and content parts, the chat
 * template, response_format with its schema compiler, data-URI images (header check, decoding, preprocessing) and
 * the real LLaMA tokenizer with the context checks. The only acceptable refusals are API errors of one line with a
 * 4xx status (or the project's user error); anything else is a finding. The engine is a stand-in that has the
 * fixture's configuration and computes nothing.
 */
class RequestParserFuzzTest {
    static final ServerParts PARTS = parts();
    static final ChatEndpoint CHAT = new ChatEndpoint(PARTS);
    static final CompletionsEndpoint COMPLETIONS = new CompletionsEndpoint(PARTS);
    static final ScoreEndpoint SCORE = new ScoreEndpoint(PARTS);

    static ServerParts parts() {
        Owl2Config config = Owl2Config.read(TinyFixture.DIR.resolve("config.json"));
        Engine engine = new Engine() {
            @Override
            public String description() {
                return "fuzzing stand-in";
            }

            @Override
            public Owl2Config config() {
                return config;
            }

            @Override
            public float[] encodeImage(float[] pixelValues) {
                throw new IllegalStateException("the parser must not reach the engine");
            }

            @Override
            public Session newSession() {
                throw new IllegalStateException("the parser must not reach the engine");
            }

            @Override
            public void close() {
            }
        };
        Tokenizer tokenizer = Tokenizer.load(TinyFixture.testdata().resolve("tokenizer/llama2-tokenizer.json.gz"));
        ImagePreprocessor pre = new ImagePreprocessor(PreprocessorConfig.read(TinyFixture.DIR.resolve("preprocessor_config.json")));
        TokenizedModel model = new TokenizedModel("tiny-owl2-f16", engine, tokenizer, pre,
                GenerationConfig.readOrDefault(TinyFixture.DIR.resolve("generation_config.json")), AspectMode.PAD);
        ServerOptions options = ServerOptions.defaults().withPort(0).withBatch(4, 8);
        ServerMetrics metrics = new ServerMetrics();
        Scheduler scheduler = new Scheduler(engine, options.maxBatch(), options.queue(), model.eosId(), metrics);
        return new ServerParts(model, options, scheduler, new RequestBodies(options.maxBodyBytes(), options.bodyBudgetBytes()),
                new FrontEnd(1, 1, metrics), new PromptBuilder(model, options, new ImageLoader(options)));
    }

    @MethodSource("seeds")
    @FuzzTest(maxDuration = "15s")
    void parse(byte[] input) {
        int endpoint = input.length == 0 ? 0 : (input[0] & 0xff) % 3;
        byte[] body = input.length == 0 ? input : Arrays.copyOfRange(input, 1, input.length);
        apiErrorsOnly(() -> {
            JsonNode json = PARTS.bodies().parse(body);
            switch (endpoint) {
                case 0 -> {
                    ChatEndpoint.Parsed p = CHAT.parse(json);
                    PromptBuilder.Prompt prompt = PARTS.prompts().prepare(p.text(), p.imageUrls(), noRemote(p.imageUrls()));
                    p.sampling().params(PARTS.model(), PARTS.options(), prompt.positions(), p.constraint());
                }
                case 1 -> {
                    CompletionsEndpoint.Parsed p = COMPLETIONS.parse(json);
                    for (Object x : p.prompts()) COMPLETIONS.prompt(x);
                }
                default -> {
                    ScoreEndpoint.Parsed p = SCORE.parse(json);
                    SCORE.tokenize(p, noRemote(p.imageUrls()));
                }
            }
        });
    }

    /** Remote images are off in these options, so none is fetched: the loader refuses them with a 400. */
    private static List<byte[]> noRemote(List<String> urls) {
        return new ArrayList<>(java.util.Collections.nCopies(urls.size(), null));
    }

    /** Accepts, or refuses with an API error of one line and a 4xx status, or the project's one-line user error. */
    static void apiErrorsOnly(Runnable body) {
        try {
            body.run();
        } catch (ApiException e) {
            String m = e.getMessage();
            if (e.status() < 400 || e.status() >= 500 || m == null || m.isBlank() || m.indexOf('\n') >= 0 || m.indexOf('\r') >= 0) {
                throw new AssertionError("a refusal must be a one-line 4xx API error, got " + e.status() + ": " + m, e);
            }
        } catch (Owl2jException e) {
            String m = e.getMessage();
            if (m == null || m.isBlank() || m.indexOf('\n') >= 0 || m.indexOf('\r') >= 0) {
                throw new AssertionError("a user error must be one non-empty line, got: " + m, e);
            }
        }
    }

    static Stream<byte[]> seeds() {
        String png = "data:image/png;base64," + Base64.getEncoder().encodeToString(smallPng());
        String schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":4},\"b\":{\"anyOf\":[{\"type\":\"integer\"},"
                + "{\"$ref\":\"#/$defs/x\"}]}},\"required\":[\"a\"],\"$defs\":{\"x\":{\"enum\":[true,null,\"s\",1.5]}}}";
        List<String> chat = List.of(
                "{\"model\":\"tiny-owl2-f16\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France?\"}],\"max_tokens\":8,\"temperature\":0}",
                "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\""
                        + png + "\",\"detail\":\"auto\"}},{\"type\":\"text\",\"text\":\"Describe.\"}]},{\"role\":\"assistant\",\"content\":\"ok\"},"
                        + "{\"role\":\"user\",\"content\":\"more\"}],\"n\":2,\"seed\":3,\"top_p\":0.9,\"stop\":[\"x\",\"y\"],\"stream\":true,"
                        + "\"stream_options\":{\"include_usage\":true}}",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"logprobs\":true,\"top_logprobs\":5,\"presence_penalty\":0.5,"
                        + "\"frequency_penalty\":-1,\"repetition_penalty\":1.2,\"logit_bias\":{\"5\":-100,\"31999\":3},\"top_k\":40,\"user\":\"u\"}",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"json\"}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"strict\":true,\"schema\":"
                        + schema + "}}}",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"json\"}],\"response_format\":{\"type\":\"json_object\"},\"store\":false,\"tools\":[]}");
        List<String> completions = List.of(
                "{\"model\":\"tiny-owl2-f16\",\"prompt\":\"Once upon a time\",\"max_tokens\":5,\"logprobs\":2,\"echo\":true,\"stop\":\"\\n\"}",
                "{\"prompt\":[1,450,4996,17354],\"max_tokens\":0,\"echo\":true,\"logprobs\":1}",
                "{\"prompt\":[\"a\",[1,2,3]],\"n\":2,\"best_of\":2,\"suffix\":\"\",\"stream\":true}");
        List<String> score = List.of(
                "{\"prompt\":\"USER: <|image|>Rate it. ASSISTANT:\",\"images\":[\"" + png + "\"],\"candidates\":[\" good\",\" poor\"]}",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"Rate it.\"}],\"candidates\":[\" good\"],\"model\":\"x\"}");
        List<byte[]> out = new ArrayList<>();
        for (String s : chat) out.add(withEndpoint(0, s));
        for (String s : completions) out.add(withEndpoint(1, s));
        for (String s : score) out.add(withEndpoint(2, s));
        out.add(withEndpoint(0, "{\"messages\":[" + "[".repeat(70) + "]}"));
        out.add(new byte[]{0});
        return out.stream();
    }

    /** An 8x6 RGB PNG: seeds stay small, because the fuzzer mutates inputs up to the longest seed. */
    static byte[] smallPng() {
        try {
            var img = new java.awt.image.BufferedImage(8, 6, java.awt.image.BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 6; y++) for (int x = 0; x < 8; x++) img.setRGB(x, y, x * 30 << 16 | y * 40 << 8 | 90);
            var out = new java.io.ByteArrayOutputStream();
            javax.imageio.ImageIO.write(img, "png", out);
            return out.toByteArray();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] withEndpoint(int endpoint, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[b.length + 1];
        out[0] = (byte) endpoint;
        System.arraycopy(b, 0, out, 1, b.length);
        return out;
    }
}
