package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.TextStream;
import dev.owl2j.runtime.generation.TokenLogprob;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * {@code POST /v1/completions} (OpenAI's legacy completions): a text prompt or token ids, several prompts at once,
 * {@code echo} of the prompt with the log-probability of each prompt token (what evaluation harnesses use to score
 * a continuation, with {@code max_tokens: 0}), {@code logprobs} with up to 20 alternatives, stop strings, n choices
 * per prompt and streaming. No images: use chat completions for those.
 */
final class CompletionsEndpoint {
    static final int MAX_PROMPTS = 16;
    static final Set<String> HONOURED;
    static {
        Set<String> s = new java.util.HashSet<>(SamplingFields.FIELDS);
        s.addAll(Set.of("model", "prompt", "n", "stream", "stream_options", "logprobs", "echo", "best_of")); // best_of: only = n
        HONOURED = Set.copyOf(s);
    }
    static final Map<String, Fields.Harmless> HARMLESS = Map.of(
            "user", new Fields.Harmless(JsonNode::isTextual, "user must be a string"),
            "suffix", new Fields.Harmless(v -> Fields.isText(v, ""), "the model cannot fill in text before a suffix"));

    private final ServerParts parts;

    CompletionsEndpoint(ServerParts parts) {
        this.parts = parts;
    }

    /** One prompt: its ids and the text echo writes for it. */
    record Prompt(int[] ids, String text) {}

    record Parsed(List<Object> prompts, SamplingFields sampling, int n, boolean echo, int logprobs, boolean stream,
                          boolean includeUsage, long maxTokens) {}

    /** One prompt ready: ids, echoed text, generation request (null for max_tokens 0). */
    private record Ready(Prompt prompt, Scheduler.Request request) {}

    void handle(Context ctx) throws IOException {
        Parsed parsed;
        List<Ready> ready = new ArrayList<>();
        try (RequestBodies.Body body = parts.bodies().read(ctx.req().getInputStream(), ctx.req().getContentLengthLong())) {
            parsed = parts.frontEnd().run(() -> parse(body.json()));
            for (Object p : parsed.prompts()) {
                Prompt prompt = parts.frontEnd().run(() -> prompt(p));
                Scheduler.Request request = null;
                if (parsed.maxTokens() != 0) {
                    SamplingParams params = parsed.sampling().params(parts.model(), parts.options(), prompt.ids().length, null);
                    request = new Scheduler.Request(prompt.ids(), List.of(), params, parts.model()::newTextStream, parsed.n(), parsed.logprobs());
                }
                ready.add(new Ready(prompt, request));
            }
        }
        // Echoed prompts' log-probabilities come from one scoring pass per prompt on the decode thread.
        List<List<TokenLogprob>> echoLogprobs = new ArrayList<>();
        for (Ready r : ready) {
            echoLogprobs.add(parsed.echo() && parsed.logprobs() >= 0 ? promptLogprobs(r.prompt().ids(), parsed.logprobs()) : null);
        }
        String id = Responses.newId("cmpl-");
        if (parsed.stream()) {
            stream(ctx, id, parsed, ready, echoLogprobs);
            return;
        }
        List<List<Scheduler.Handle>> handles = new ArrayList<>();
        try {
            for (Ready r : ready) handles.add(r.request() == null ? List.of() : parts.submitChoices(r.request(), i -> null));
            ObjectNode out = Responses.JSON.createObjectNode();
            out.put("id", id).put("object", "text_completion").put("created", Responses.now()).put("model", parts.modelId());
            ArrayNode choices = out.putArray("choices");
            int promptTokens = 0, completionTokens = 0;
            for (int p = 0; p < ready.size(); p++) {
                Prompt prompt = ready.get(p).prompt();
                promptTokens += prompt.ids().length;
                for (int i = 0; i < parsed.n(); i++) {
                    Scheduler.Completion c = handles.get(p).isEmpty() ? null : Responses.await(handles.get(p).get(i));
                    ObjectNode choice = choices.addObject();
                    Logprobs lp = parsed.logprobs() < 0 ? null : new Logprobs();
                    StringBuilder text = new StringBuilder();
                    if (parsed.echo()) {
                        text.append(prompt.text());
                        if (lp != null) lp.add(prompt.ids(), echoLogprobs.get(p), 0);
                    }
                    if (c != null) {
                        if (lp != null) lp.add(c.tokens(), c.logprobs(), text.length());
                        text.append(c.text());
                        completionTokens += c.tokens().length;
                    }
                    choice.put("text", text.toString());
                    choice.put("index", p * parsed.n() + i);
                    if (lp == null) choice.putNull("logprobs");
                    else choice.set("logprobs", lp.json);
                    choice.put("finish_reason", c == null ? "length" : Responses.finishReason(c.finishReason()));
                }
            }
            Responses.usage(out.putObject("usage"), promptTokens, completionTokens);
            ctx.contentType("application/json").result(Responses.JSON.writeValueAsString(out));
        } finally {
            for (List<Scheduler.Handle> hs : handles) for (Scheduler.Handle h : hs) h.cancel();
        }
    }

    /** OpenAI's completions logprobs object: tokens, token_logprobs, top_logprobs (token text to logprob), text_offset. */
    private final class Logprobs {
        final ObjectNode json = Responses.JSON.createObjectNode();
        final ArrayNode tokens = json.putArray("tokens");
        final ArrayNode values = json.putArray("token_logprobs");
        final ArrayNode top = json.putArray("top_logprobs");
        final ArrayNode offsets = json.putArray("text_offset");

        /** Tokens whose text starts at {@code offset} of the choice's text; their texts as the decoder writes them. */
        void add(int[] ids, List<TokenLogprob> lps, int offset) {
            TextStream stream = parts.model().newTextStream();
            int at = offset;
            for (int k = 0; k < ids.length; k++) {
                tokens.add(text(ids[k]));
                TokenLogprob lp = lps == null || k >= lps.size() ? null : lps.get(k);
                if (lp == null) {
                    values.addNull();
                    top.addNull();
                } else {
                    values.add(lp.logprob());
                    ObjectNode alternatives = top.addObject();
                    for (int j = 0; j < lp.topTokens().length; j++) alternatives.put(text(lp.topTokens()[j]), lp.topLogprobs()[j]);
                }
                offsets.add(at);
                at += stream.push(ids[k]).length();
            }
        }
    }

    private String text(int token) {
        return new String(parts.tokenBytes(token), StandardCharsets.UTF_8);
    }

    private List<TokenLogprob> promptLogprobs(int[] ids, int top) {
        try {
            return parts.scheduler().submitTask(engine -> Scorer.promptLogprobs(engine, ids, top)).get();
        } catch (QueueFullException e) {
            throw new ApiException(429, "server_busy", "queue_full", e.getMessage());
        } catch (ExecutionException e) {
            throw Responses.toApi(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, "interrupted");
        } catch (ShuttingDownException e) {
            throw new ApiException(503, "server_error", "shutting_down", e.getMessage());
        }
    }

    Parsed parse(JsonNode body) {
        Fields.check(body, "", HONOURED, HARMLESS, Map.of("response_format", "structured output is on /v1/chat/completions"));
        parts.checkModel(body);
        if (Fields.present(body, "best_of") && !(body.get("best_of").isIntegralNumber()
                && body.get("best_of").asLong() == Fields.integer(body, "n", 1, parts.maxChoices(), 1, ""))) {
            throw Fields.unsupported("best_of", "generate n choices and pick yourself");
        }
        int n = Fields.integer(body, "n", 1, parts.maxChoices(), 1, "");
        boolean echo = Fields.bool(body, "echo", "");
        int logprobs = Fields.present(body, "logprobs") ? Fields.integer(body, "logprobs", 0, TokenLogprob.MAX_TOP, 0, "") : -1;
        boolean stream = Fields.bool(body, "stream", "");
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject() || !stream) throw ApiException.badField("stream_options", "invalid_stream_options", "stream_options must be an object and needs stream: true");
            Fields.check(so, "stream_options.", Set.of("include_usage"), Map.of(), Map.of());
            includeUsage = Fields.bool(so, "include_usage", "stream_options.");
        }
        SamplingFields sampling = SamplingFields.parse(body, parts.options(), parts.vocabSize(), true);
        long maxTokens = sampling.maxTokens() == null ? 16 : sampling.maxTokens(); // OpenAI's default for completions
        if (sampling.maxTokens() == null) {
            sampling = new SamplingFields(16L, sampling.temperature(), sampling.topP(), sampling.topK(), sampling.seed(), sampling.stop(),
                    sampling.presencePenalty(), sampling.frequencyPenalty(), sampling.repetitionPenalty(), sampling.logitBias());
        }
        if (maxTokens == 0 && stream) throw ApiException.badField("max_tokens", "invalid_max_tokens", "max_tokens 0 needs stream: false");
        List<Object> prompts = prompts(body.get("prompt"));
        if ((long) prompts.size() * n > parts.options().queue() * (long) parts.maxChoices()) {
            throw ApiException.badField("prompt", "invalid_prompt", "too many prompts times n for this server");
        }
        return new Parsed(prompts, sampling, n, echo, logprobs, stream, includeUsage, maxTokens);
    }

    /** The prompts: each a String or an int[] of token ids. */
    private List<Object> prompts(JsonNode p) {
        List<Object> out = new ArrayList<>();
        if (p == null || p.isNull()) throw ApiException.badField("prompt", "invalid_prompt", "prompt is required (a string, token ids, or a list of either)");
        if (p.isTextual()) {
            out.add(p.asText());
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
            out.add(ids(p, "prompt"));
        } else if (p.isArray() && !p.isEmpty()) {
            if (p.size() > MAX_PROMPTS) throw ApiException.badField("prompt", "invalid_prompt", "at most " + MAX_PROMPTS + " prompts per request");
            for (int i = 0; i < p.size(); i++) {
                JsonNode x = p.get(i);
                if (x.isTextual()) out.add(x.asText());
                else if (x.isArray()) out.add(ids(x, "prompt[" + i + "]"));
                else throw ApiException.badField("prompt[" + i + "]", "invalid_prompt", "prompt[" + i + "] must be a string or token ids");
            }
        } else {
            throw ApiException.badField("prompt", "invalid_prompt", "prompt must be a string, token ids, or a non-empty list of either");
        }
        return out;
    }

    private int[] ids(JsonNode a, String where) {
        if (a.isEmpty()) throw ApiException.badField(where, "invalid_prompt", where + " has no tokens");
        if (a.size() >= parts.prompts().capacity()) {
            throw ApiException.badField(where, "context_length_exceeded", where + " is " + a.size() + " tokens, the context holds " + parts.prompts().capacity());
        }
        int vocab = parts.vocabSize();
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode x = a.get(i);
            if (!x.isIntegralNumber() || !x.canConvertToInt() || x.asInt() < 0 || x.asInt() >= vocab) {
                throw ApiException.badField(where, "invalid_prompt", where + "[" + i + "] must be a token id from 0 to " + (vocab - 1));
            }
            ids[i] = x.asInt();
        }
        return ids;
    }

    /** Tokenizes a text prompt (after the cheap length check) or decodes token ids for echo. */
    Prompt prompt(Object p) {
        if (p instanceof String text) {
            PromptBuilder.plainText(text, "prompt");
            parts.prompts().checkLength(text, 0);
            int[] ids = parts.model().encodePrompt(text);
            if (ids.length >= parts.prompts().capacity()) {
                throw ApiException.badField("prompt", "context_length_exceeded", "the prompt is " + ids.length + " tokens, the context holds " + parts.prompts().capacity());
            }
            return new Prompt(ids, text);
        }
        int[] ids = (int[]) p;
        TextStream stream = parts.model().newTextStream();
        StringBuilder text = new StringBuilder();
        for (int id : ids) text.append(stream.push(id));
        return new Prompt(ids, text.append(stream.flush()).toString());
    }

    // ---------------------------------------------------------------- streaming

    private record Event(int choice, String text, TokenLogprob logprob, int token) {}

    private static final Event END = new Event(-1, null, null, -1);

    private void stream(Context ctx, String id, Parsed parsed, List<Ready> ready, List<List<TokenLogprob>> echo) throws IOException {
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        List<Scheduler.Handle> all = new ArrayList<>();
        int n = parsed.n();
        for (int p = 0; p < ready.size(); p++) {
            int base = p * n;
            all.addAll(parts.submitChoices(ready.get(p).request(), i -> new Scheduler.Listener() {
                @Override
                public void onToken(int tokenId, String textDelta, TokenLogprob logprob) {
                    if (!textDelta.isEmpty() || logprob != null) events.add(new Event(base + i, textDelta, logprob, tokenId));
                }
            }));
        }
        int[] left = {all.size()};
        for (Scheduler.Handle h : all) {
            h.result().whenComplete((c, e) -> {
                synchronized (left) {
                    if (--left[0] == 0) events.add(END);
                }
            });
        }
        OutputStream out = Responses.startEvents(ctx);
        int[] offsets = new int[all.size()];
        try {
            if (parsed.echo()) {
                for (int p = 0; p < ready.size(); p++) {
                    for (int i = 0; i < n; i++) {
                        Logprobs lp = parsed.logprobs() < 0 ? null : new Logprobs();
                        if (lp != null) lp.add(ready.get(p).prompt().ids(), echo.get(p), 0);
                        Responses.send(out, chunk(id, p * n + i, ready.get(p).prompt().text(), lp == null ? null : lp.json, null, parsed.includeUsage()));
                        offsets[p * n + i] = ready.get(p).prompt().text().length();
                    }
                }
            }
            while (true) {
                Event ev = events.take();
                if (ev == END) break;
                ObjectNode lp = null;
                if (parsed.logprobs() >= 0 && ev.token() >= 0) {
                    Logprobs l = new Logprobs();
                    l.add(new int[]{ev.token()}, java.util.Collections.singletonList(ev.logprob()), offsets[ev.choice()]);
                    lp = l.json;
                }
                offsets[ev.choice()] += ev.text().length();
                Responses.send(out, chunk(id, ev.choice(), ev.text(), lp, null, parsed.includeUsage()));
            }
            List<Scheduler.Completion> done = new ArrayList<>();
            try {
                for (Scheduler.Handle h : all) done.add(h.result().join());
            } catch (CompletionException e) {
                Responses.sendError(out, Responses.toApi(e.getCause() == null ? e : e.getCause()));
                return;
            }
            int completionTokens = 0, promptTokens = 0;
            for (int k = 0; k < done.size(); k++) {
                Responses.send(out, chunk(id, k, "", null, Responses.finishReason(done.get(k).finishReason()), parsed.includeUsage()));
                completionTokens += done.get(k).tokens().length;
            }
            for (Ready r : ready) promptTokens += r.prompt().ids().length;
            if (parsed.includeUsage()) {
                ObjectNode usage = Responses.JSON.createObjectNode();
                usage.put("id", id).put("object", "text_completion").put("created", Responses.now()).put("model", parts.modelId());
                usage.putArray("choices");
                Responses.usage(usage.putObject("usage"), promptTokens, completionTokens);
                Responses.send(out, usage);
            }
            Responses.sendRaw(out, "data: [DONE]\n\n");
        } catch (IOException e) {
            for (Scheduler.Handle h : all) h.cancel();
        } catch (InterruptedException e) {
            for (Scheduler.Handle h : all) h.cancel();
            Thread.currentThread().interrupt();
        }
    }

    /** {@code usageNull}: with include_usage, OpenAI sends "usage": null in every chunk but the last. */
    private ObjectNode chunk(String id, int index, String text, ObjectNode logprobs, String finish, boolean usageNull) {
        ObjectNode c = Responses.JSON.createObjectNode();
        c.put("id", id).put("object", "text_completion").put("created", Responses.now()).put("model", parts.modelId());
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("text", text).put("index", index);
        if (logprobs == null) choice.putNull("logprobs");
        else choice.set("logprobs", logprobs);
        if (finish == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finish);
        if (usageNull) c.putNull("usage");
        return c;
    }
}
