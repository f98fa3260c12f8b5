package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.TokenConstraint;
import dev.owl2j.runtime.generation.TokenLogprob;
import io.javalin.http.Context;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code POST /v1/chat/completions}: plain and server-sent-events streaming, n choices from one prefill,
 * log-probabilities, penalties, structured output (docs/server.md, with the table of fields).
 */
final class ChatEndpoint {
    static final Set<String> HONOURED;
    static {
        Set<String> s = new java.util.HashSet<>(SamplingFields.FIELDS);
        s.addAll(Set.of("model", "messages", "n", "stream", "stream_options", "logprobs", "top_logprobs", "response_format"));
        HONOURED = Set.copyOf(s);
    }
    /** Fields that ask for nothing this server does not do, with those values. */
    static final Map<String, Fields.Harmless> HARMLESS = Map.of(
            "user", new Fields.Harmless(JsonNode::isTextual, "user must be a string"),
            "safety_identifier", new Fields.Harmless(JsonNode::isTextual, "safety_identifier must be a string"),
            "prompt_cache_key", new Fields.Harmless(JsonNode::isTextual, "prompt_cache_key must be a string"),
            "store", new Fields.Harmless(v -> v.isBoolean() && !v.asBoolean(), "the server stores no completions"),
            "service_tier", new Fields.Harmless(v -> Fields.isText(v, "auto", "default"), "the server has one tier ('auto' or 'default')"),
            "modalities", new Fields.Harmless(v -> v.isArray() && v.size() == 1 && Fields.isText(v.get(0), "text"), "the model writes text only"),
            "tool_choice", new Fields.Harmless(v -> Fields.isText(v, "none"), "the server has no tools"),
            "function_call", new Fields.Harmless(v -> Fields.isText(v, "none"), "the server has no functions"),
            "parallel_tool_calls", new Fields.Harmless(JsonNode::isBoolean, "the server has no tools"));
    static final Map<String, String> REFUSED = Map.of(
            "tools", "the server has no tools",
            "functions", "the server has no functions",
            "audio", "the model writes text only",
            "prediction", "predicted outputs are not implemented",
            "reasoning_effort", "the model has no reasoning mode",
            "web_search_options", "the server does not search the web",
            "metadata", "the server stores no completions",
            "verbosity", "the model has no verbosity setting");

    private final ServerParts parts;

    ChatEndpoint(ServerParts parts) {
        this.parts = parts;
    }

    /** A parsed chat request, before its images are loaded and its prompt tokenized. */
    record Parsed(String text, List<String> imageUrls, SamplingFields sampling, int n, boolean stream,
                          boolean includeUsage, int logprobs, TokenConstraint.Factory constraint) {}

    /** What generation needs of a request; the body, its JSON and the image bytes are gone by then. */
    private record Ready(Scheduler.Request request, boolean stream, boolean includeUsage) {}

    void handle(Context ctx) throws IOException {
        Ready ready = prepare(ctx);
        String id = Responses.newId("chatcmpl-");
        if (ready.stream()) {
            new ChatStream(parts, id, ready.request(), ready.includeUsage()).run(ctx);
            return;
        }
        List<Scheduler.Handle> handles = parts.submitChoices(ready.request(), i -> null);
        List<Scheduler.Completion> done = new ArrayList<>();
        try {
            for (Scheduler.Handle h : handles) done.add(Responses.await(h));
        } finally {
            for (Scheduler.Handle h : handles) h.cancel(); // no-op for finished ones; frees the rest on an error
        }
        ObjectNode out = Responses.JSON.createObjectNode();
        out.put("id", id).put("object", "chat.completion").put("created", Responses.now()).put("model", parts.modelId());
        ArrayNode choices = out.putArray("choices");
        int completionTokens = 0;
        for (int i = 0; i < done.size(); i++) {
            Scheduler.Completion c = done.get(i);
            ObjectNode choice = choices.addObject();
            choice.put("index", i);
            choice.putObject("message").put("role", "assistant").put("content", c.text()).putNull("refusal");
            if (c.logprobs() == null) {
                choice.putNull("logprobs");
            } else {
                ObjectNode lp = choice.putObject("logprobs");
                ArrayNode content = lp.putArray("content");
                for (TokenLogprob t : c.logprobs()) content.add(logprob(t));
                lp.putNull("refusal");
            }
            choice.put("finish_reason", Responses.finishReason(c.finishReason()));
            completionTokens += c.tokens().length;
        }
        Responses.usage(out.putObject("usage"), done.getFirst().promptPositions(), completionTokens);
        ctx.contentType("application/json").result(Responses.JSON.writeValueAsString(out));
    }

    /** One token's entry of OpenAI's {@code logprobs.content}: text, log-probability, bytes, alternatives. */
    ObjectNode logprob(TokenLogprob t) {
        ObjectNode o = entry(t.token(), t.logprob());
        ArrayNode top = o.putArray("top_logprobs");
        for (int k = 0; k < t.topTokens().length; k++) top.add(entry(t.topTokens()[k], t.topLogprobs()[k]));
        return o;
    }

    private ObjectNode entry(int token, double logprob) {
        ObjectNode o = Responses.JSON.createObjectNode();
        byte[] bytes = parts.tokenBytes(token);
        o.put("token", new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
        o.put("logprob", logprob);
        ArrayNode b = o.putArray("bytes");
        for (byte x : bytes) b.add(x & 0xff);
        return o;
    }

    /** Reads, parses and prepares the request: CPU-heavy steps on the front-end pool, remote images fetched here. */
    private Ready prepare(Context ctx) throws IOException {
        try (RequestBodies.Body body = parts.bodies().read(ctx.req().getInputStream(), ctx.req().getContentLengthLong())) {
            Parsed parsed = parts.frontEnd().run(() -> parse(body.json()));
            List<byte[]> fetched = parts.prompts().fetchRemote(parsed.imageUrls());
            PromptBuilder.Prompt prompt = parts.frontEnd().run(() -> parts.prompts().prepare(parsed.text(), parsed.imageUrls(), fetched));
            SamplingParams params = parsed.sampling().params(parts.model(), parts.options(), prompt.positions(), parsed.constraint());
            return new Ready(new Scheduler.Request(prompt.ids(), prompt.pixels(), params, parts.model()::newTextStream,
                    parsed.n(), parsed.logprobs()), parsed.stream(), parsed.includeUsage());
        }
    }

    Parsed parse(JsonNode body) {
        Fields.check(body, "", HONOURED, HARMLESS, REFUSED);
        parts.checkModel(body);
        int n = Fields.integer(body, "n", 1, parts.maxChoices(), 1, "");
        boolean stream = Fields.bool(body, "stream", "");
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw ApiException.badField("stream_options", "invalid_stream_options", "stream_options must be an object");
            if (!stream) throw ApiException.badField("stream_options", "invalid_stream_options", "stream_options needs stream: true");
            Fields.check(so, "stream_options.", Set.of("include_usage"), Map.of(), Map.of("include_obfuscation", "no obfuscation is added"));
            includeUsage = Fields.bool(so, "include_usage", "stream_options.");
        }
        boolean logprobs = Fields.bool(body, "logprobs", "");
        int top = Fields.integer(body, "top_logprobs", 0, TokenLogprob.MAX_TOP, 0, "");
        if (Fields.present(body, "top_logprobs") && !logprobs) {
            throw ApiException.badField("top_logprobs", "invalid_top_logprobs", "top_logprobs needs logprobs: true");
        }
        List<String> imageUrls = new ArrayList<>();
        PromptBuilder prompts = parts.prompts();
        String text = prompts.render(prompts.turns(body.get("messages"), imageUrls));
        prompts.checkLength(text, imageUrls.size());
        SamplingFields sampling = SamplingFields.parse(body, parts.options(), parts.vocabSize(), false);
        TokenConstraint.Factory constraint = parts.responseFormat(body.get("response_format"));
        return new Parsed(text, imageUrls, sampling, n, stream, includeUsage, logprobs ? top : -1, constraint);
    }
}
