package dev.owl2j.runtime.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.generation.Generator.FinishReason;
import dev.owl2j.runtime.generation.NonFiniteLogitsException;
import dev.owl2j.runtime.generation.SamplingParams;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An OpenAI-compatible HTTP server (Javalin) over a {@link Scheduler}: {@code POST /v1/chat/completions}
 * (plain and SSE streaming), {@code GET /v1/models}, {@code GET /health}, {@code GET /metrics} and the
 * {@code POST /v1/score} extension. Every failure is answered as an OpenAI error object; stack traces never
 * reach the client.
 */
public final class OpenAiServer implements AutoCloseable {
    static final String IMAGE_MARKER = "<|image|>";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_STOPS = 4;
    private static final int MAX_CANDIDATES = 64;
    private static final long IDLE_TIMEOUT_MILLIS = 30 * 60 * 1000L;

    private final ServerModel model;
    private final ServerOptions options;
    private final Scheduler scheduler;
    private final ImageLoader images;
    private final long created = System.currentTimeMillis() / 1000;
    private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    private Javalin app;

    public OpenAiServer(ServerModel model, ServerOptions options) {
        this.model = model;
        this.options = options;
        this.scheduler = new Scheduler(model.engine(), options.maxBatch(), options.queue(), model.eosId(), new ServerMetrics());
        this.images = new ImageLoader(options);
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** Binds host:port (port 0 picks a free one) and starts serving. */
    public OpenAiServer start() {
        app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.useVirtualThreads = true;
            config.http.maxRequestSize = 8L * options.maxImageBytes() * Math.max(1, options.maxImages()) / 6 + (1 << 20);
            // Our own connector: Jetty's 30 s idle timeout would drop a client whose request waits in the queue
            // or prefills a large model for longer than that without a byte on the wire.
            config.jetty.addConnector((server, httpConfig) -> {
                org.eclipse.jetty.server.ServerConnector c = new org.eclipse.jetty.server.ServerConnector(server,
                        new org.eclipse.jetty.server.HttpConnectionFactory(httpConfig));
                c.setHost(options.host());
                c.setPort(options.port());
                c.setIdleTimeout(IDLE_TIMEOUT_MILLIS);
                return c;
            });
        });
        app.post("/v1/chat/completions", this::chat);
        app.post("/v1/score", this::score);
        app.get("/v1/models", this::models);
        app.get("/health", ctx -> ctx.json(JSON.createObjectNode().put("status", "ok").put("model", model.id())
                .put("active", scheduler.activeCount()).put("queued", scheduler.queueDepth())));
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(scheduler.metrics().render()));
        app.exception(ApiException.class, (e, ctx) -> error(ctx, e));
        // Safety net: a user error raised anywhere below the handlers (template, tokenizer) is still a 400.
        app.exception(Owl2jException.class, (e, ctx) -> error(ctx, ApiException.badRequest("invalid_request", e.getMessage())));
        app.exception(HttpResponseException.class, (e, ctx) -> error(ctx, new ApiException(e.getStatus(),
                e.getStatus() == 404 ? "not_found_error" : "invalid_request_error", null, e.getMessage())));
        app.exception(Exception.class, (e, ctx) -> error(ctx, new ApiException(500, "server_error", null,
                "internal error: " + e.getClass().getSimpleName())));
        app.after(ctx -> scheduler.metrics().httpResponse(ctx.statusCode()));
        try {
            app.start();
        } catch (RuntimeException e) {
            scheduler.shutdown(false, 1, TimeUnit.SECONDS);
            throw new Owl2jException("cannot listen on " + options.host() + ":" + options.port() + ": " + rootMessage(e));
        }
        return this;
    }

    /** The bound port. */
    public int port() {
        return app.port();
    }

    /** Stops accepting work, lets running generations finish (up to 30 s), then stops listening. Idempotent. */
    @Override
    public void close() {
        scheduler.shutdown(true, 30, TimeUnit.SECONDS);
        if (app != null) app.stop();
        closed.countDown();
    }

    /** Blocks until {@link #close} has run (the serve command's main thread waits here). */
    public void awaitClose() throws InterruptedException {
        closed.await();
    }

    // ---------------------------------------------------------------- /v1/chat/completions

    /** A validated chat request. */
    private record Prompt(String text, List<float[]> pixels, int[] ids, int positions) {}

    private void chat(Context ctx) throws IOException {
        JsonNode body = parseBody(ctx);
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.canConvertToInt() && n.asInt() == 1 && n.isIntegralNumber())) {
            throw ApiException.badRequest("unsupported_n", "only n=1 is supported");
        }
        List<String> imageUrls = new ArrayList<>();
        List<ServerModel.Turn> turns = turns(body.get("messages"), imageUrls);
        Prompt prompt = prompt(render(turns), imageUrls);
        SamplingParams params = sampling(body, prompt.positions());
        boolean stream = bool(body, "stream");
        boolean includeUsage = stream && body.path("stream_options").isObject() && bool(body.get("stream_options"), "include_usage");
        Scheduler.Request request = new Scheduler.Request(prompt.ids(), prompt.pixels(), params, model.newTextStream());
        String id = "chatcmpl-" + Long.toHexString(System.nanoTime()) + Integer.toHexString((int) (Math.random() * 0xffff));
        if (stream) {
            stream(ctx, request, id, includeUsage);
        } else {
            Scheduler.Completion c = await(submit(request, null));
            ObjectNode out = JSON.createObjectNode();
            out.put("id", id).put("object", "chat.completion").put("created", now()).put("model", model.id());
            ObjectNode choice = out.putArray("choices").addObject();
            choice.put("index", 0);
            choice.putObject("message").put("role", "assistant").put("content", c.text());
            choice.putNull("logprobs");
            choice.put("finish_reason", finishReason(c.finishReason()));
            usage(out.putObject("usage"), c);
            ctx.contentType("application/json").result(JSON.writeValueAsString(out));
        }
    }

    private void stream(Context ctx, Scheduler.Request request, String id, boolean includeUsage) throws IOException {
        record Delta(String text) {}
        Object end = new Object();
        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        Scheduler.Handle handle = submit(request, new Scheduler.Listener() {
            @Override
            public void onToken(int tokenId, String textDelta) {
                if (!textDelta.isEmpty()) events.add(new Delta(textDelta));
            }
        });
        handle.result().whenComplete((c, e) -> events.add(end));
        ctx.status(200).contentType("text/event-stream; charset=utf-8");
        ctx.header("Cache-Control", "no-cache");
        ctx.header("X-Accel-Buffering", "no");
        OutputStream out = ctx.res().getOutputStream();
        try {
            ObjectNode first = chunk(id);
            ((ObjectNode) first.get("choices").get(0)).putObject("delta").put("role", "assistant").put("content", "");
            send(out, first);
            while (true) {
                Object ev = events.take();
                if (ev == end) break;
                ObjectNode chunk = chunk(id);
                ((ObjectNode) chunk.get("choices").get(0)).putObject("delta").put("content", ((Delta) ev).text());
                send(out, chunk);
            }
            Scheduler.Completion c;
            try {
                c = handle.result().join();
            } catch (CompletionException | CancellationException e) {
                ApiException api = toApi(e.getCause() == null ? e : e.getCause());
                ObjectNode err = JSON.createObjectNode();
                errorBody(err, api);
                send(out, err);
                sendRaw(out, "data: [DONE]\n\n");
                return;
            }
            ObjectNode last = chunk(id);
            ObjectNode choice = (ObjectNode) last.get("choices").get(0);
            choice.putObject("delta");
            choice.put("finish_reason", finishReason(c.finishReason()));
            send(out, last);
            if (includeUsage) {
                ObjectNode usage = chunk(id);
                usage.putArray("choices");
                usage(usage.putObject("usage"), c);
                send(out, usage);
            }
            sendRaw(out, "data: [DONE]\n\n");
        } catch (IOException e) {
            // The client went away: free its batch slot at the next step.
            handle.cancel();
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
        }
    }

    private ObjectNode chunk(String id) {
        ObjectNode c = JSON.createObjectNode();
        c.put("id", id).put("object", "chat.completion.chunk").put("created", now()).put("model", model.id());
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0);
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return c;
    }

    private static void send(OutputStream out, JsonNode node) throws IOException {
        sendRaw(out, "data: " + JSON.writeValueAsString(node) + "\n\n");
    }

    private static void sendRaw(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private void usage(ObjectNode u, Scheduler.Completion c) {
        u.put("prompt_tokens", c.promptPositions());
        u.put("completion_tokens", c.tokens().length);
        u.put("total_tokens", c.promptPositions() + c.tokens().length);
    }

    private static String finishReason(FinishReason r) {
        return r == FinishReason.LENGTH ? "length" : "stop";
    }

    private Scheduler.Handle submit(Scheduler.Request request, Scheduler.Listener listener) {
        try {
            return scheduler.submit(request, listener);
        } catch (QueueFullException e) {
            throw new ApiException(429, "server_busy", "queue_full", e.getMessage());
        } catch (ShuttingDownException e) {
            throw new ApiException(503, "server_error", "shutting_down", e.getMessage());
        }
    }

    private static Scheduler.Completion await(Scheduler.Handle handle) {
        try {
            return handle.result().get();
        } catch (ExecutionException e) {
            throw toApi(e.getCause());
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, "interrupted");
        }
    }

    private static ApiException toApi(Throwable t) {
        if (t instanceof ApiException a) return a;
        if (t instanceof ShuttingDownException o) return new ApiException(503, "server_error", "shutting_down", o.getMessage());
        if (t instanceof ServerOutOfMemoryException o) return new ApiException(503, "server_error", "out_of_memory", o.getMessage());
        if (t instanceof NonFiniteLogitsException o) return new ApiException(500, "server_error", "non_finite_logits", o.getMessage());
        if (t instanceof Owl2jException o) return ApiException.badRequest("invalid_request", o.getMessage());
        return new ApiException(500, "server_error", null, "internal error: " + t.getClass().getSimpleName());
    }

    /** The conversation's turns; image parts become {@code <|image|>} markers and their URLs are collected in order. */
    private List<ServerModel.Turn> turns(JsonNode messages, List<String> imageUrls) {
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.badRequest("invalid_messages", "'messages' must be a non-empty array");
        }
        List<ServerModel.Turn> turns = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) throw ApiException.badRequest("invalid_messages", where + " must be an object");
            String role = m.path("role").asText("");
            if (!List.of("system", "user", "assistant").contains(role)) {
                throw ApiException.badRequest("invalid_messages", where + ".role must be system, user or assistant, got '" + role + "'");
            }
            turns.add(new ServerModel.Turn(role, content(m.get("content"), where, imageUrls)));
        }
        return turns;
    }

    private String content(JsonNode content, String where, List<String> imageUrls) {
        if (content == null || content.isNull()) return "";
        if (content.isTextual()) return plainText(content.asText(), where);
        if (!content.isArray()) {
            throw ApiException.badRequest("invalid_messages", where + ".content must be a string or an array of parts");
        }
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < content.size(); j++) {
            JsonNode part = content.get(j);
            String pw = where + ".content[" + j + "]";
            String type = part.path("type").asText("");
            switch (type) {
                case "text" -> {
                    if (!part.path("text").isTextual()) throw ApiException.badRequest("invalid_messages", pw + ".text must be a string");
                    text.append(plainText(part.get("text").asText(), pw));
                }
                case "image_url" -> {
                    JsonNode url = part.path("image_url");
                    String u = url.isTextual() ? url.asText() : url.path("url").asText(null);
                    imageUrls.add(u);
                    text.append(IMAGE_MARKER);
                }
                default -> throw ApiException.badRequest("unsupported_content_part",
                        pw + ": unsupported part type '" + type + "' (use 'text' or 'image_url')");
            }
        }
        return text.toString();
    }

    private String render(List<ServerModel.Turn> turns) {
        try {
            return model.renderChat(turns);
        } catch (Owl2jException e) {
            throw ApiException.badRequest("invalid_messages", e.getMessage());
        }
    }

    private static String plainText(String s, String where) {
        if (s.contains(IMAGE_MARKER)) {
            throw ApiException.badRequest("invalid_messages", where + ": text must not contain " + IMAGE_MARKER + "; send images as image_url parts");
        }
        return s;
    }

    /** Loads and preprocesses the images, tokenizes and checks the prompt against the context. */
    private Prompt prompt(String text, List<String> imageUrls) {
        if (imageUrls.size() > options.maxImages()) {
            throw ApiException.badRequest("too_many_images", imageUrls.size() + " images, the limit is " + options.maxImages() + " per request");
        }
        List<float[]> pixels = new ArrayList<>();
        for (int i = 0; i < imageUrls.size(); i++) {
            String what = "image " + (i + 1);
            byte[] data = images.load(imageUrls.get(i), what);
            try {
                pixels.add(model.pixelValues(data, what));
            } catch (Owl2jException e) {
                throw ApiException.badRequest("invalid_image", what + ": " + e.getMessage());
            }
        }
        int[] ids;
        try {
            ids = model.encodePrompt(text);
        } catch (Owl2jException e) {
            throw ApiException.badRequest("invalid_prompt", e.getMessage());
        }
        int markers = 0;
        for (int id : ids) if (id == -200) markers++;
        if (markers != pixels.size()) {
            throw ApiException.badRequest("invalid_prompt", "the prompt has " + markers + " image markers for " + pixels.size() + " images");
        }
        int positions = ids.length + markers * (model.engine().config().tokensPerImage() - 1);
        int capacity = model.engine().config().maxPositionEmbeddings();
        if (positions >= capacity) {
            throw ApiException.badRequest("context_length_exceeded", "the prompt is " + positions
                    + " positions (images count " + model.engine().config().tokensPerImage() + " each), the context holds " + capacity);
        }
        return new Prompt(text, pixels, ids, positions);
    }

    private SamplingParams sampling(JsonNode body, int promptPositions) {
        JsonNode mt = body.has("max_completion_tokens") && !body.get("max_completion_tokens").isNull()
                ? body.get("max_completion_tokens") : body.get("max_tokens");
        int capacity = model.engine().config().maxPositionEmbeddings();
        int maxTokens = Math.min(options.maxTokens(), capacity - promptPositions);
        if (mt != null && !mt.isNull()) {
            if (!mt.isIntegralNumber() || mt.asLong() < 1) {
                throw ApiException.badRequest("invalid_max_tokens", "max_tokens must be a positive integer");
            }
            if (mt.asLong() > options.maxTokens()) {
                throw ApiException.badRequest("invalid_max_tokens", "max_tokens is " + mt.asLong() + ", the server allows at most " + options.maxTokens());
            }
            maxTokens = (int) Math.min(mt.asLong(), maxTokens);
        }
        double temperature = number(body, "temperature", model.defaultTemperature(), 0, 2);
        double topP = number(body, "top_p", model.defaultTopP(), 0, 1);
        if (topP <= 0) throw ApiException.badRequest("invalid_top_p", "top_p must be in (0, 1]");
        Long seed = null;
        JsonNode s = body.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) throw ApiException.badRequest("invalid_seed", "seed must be an integer");
            seed = s.asLong();
        }
        List<String> stop = new ArrayList<>();
        JsonNode st = body.get("stop");
        if (st != null && !st.isNull()) {
            if (st.isTextual()) {
                stop.add(st.asText());
            } else if (st.isArray()) {
                for (JsonNode x : st) {
                    if (!x.isTextual()) throw ApiException.badRequest("invalid_stop", "stop must be a string or an array of strings");
                    stop.add(x.asText());
                }
            } else {
                throw ApiException.badRequest("invalid_stop", "stop must be a string or an array of strings");
            }
            if (stop.size() > MAX_STOPS) throw ApiException.badRequest("invalid_stop", "at most " + MAX_STOPS + " stop strings");
        }
        return new SamplingParams(temperature, model.defaultTopK(), topP, seed, Math.max(1, maxTokens), stop);
    }

    private static double number(JsonNode body, String field, double dflt, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
            throw ApiException.badRequest("invalid_" + field, field + " must be a number in [" + fmt(min) + ", " + fmt(max) + "]");
        }
        return v.asDouble();
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    private static boolean bool(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw ApiException.badRequest("invalid_" + field, field + " must be true or false");
        return v.asBoolean();
    }

    // ---------------------------------------------------------------- /v1/score

    private void score(Context ctx) throws IOException {
        JsonNode body = parseBody(ctx);
        List<String> imageUrls = new ArrayList<>();
        String text;
        if (body.has("messages")) {
            if (body.has("prompt")) throw ApiException.badRequest("invalid_request", "give either 'messages' or 'prompt', not both");
            text = render(turns(body.get("messages"), imageUrls));
        } else if (body.path("prompt").isTextual()) {
            text = body.get("prompt").asText();
        } else {
            throw ApiException.badRequest("invalid_request", "'messages' (array) or 'prompt' (string) is required");
        }
        JsonNode imgs = body.get("images");
        if (imgs != null && !imgs.isNull()) {
            if (!imgs.isArray()) throw ApiException.badRequest("invalid_images", "'images' must be an array of data URIs");
            for (JsonNode u : imgs) {
                if (!u.isTextual()) throw ApiException.badRequest("invalid_images", "'images' must be an array of data URIs");
                imageUrls.add(u.asText());
            }
        }
        JsonNode cands = body.get("candidates");
        if (cands == null || !cands.isArray() || cands.isEmpty()) {
            throw ApiException.badRequest("invalid_candidates", "'candidates' must be a non-empty array of strings");
        }
        if (cands.size() > MAX_CANDIDATES) {
            throw ApiException.badRequest("invalid_candidates", "at most " + MAX_CANDIDATES + " candidates");
        }
        List<String> candidates = new ArrayList<>();
        for (JsonNode c : cands) {
            if (!c.isTextual() || c.asText().isEmpty()) throw ApiException.badRequest("invalid_candidates", "each candidate must be a non-empty string");
            candidates.add(plainText(c.asText(), "candidate"));
        }
        Prompt prompt = prompt(text, imageUrls);

        // A candidate's tokens are those of prompt+candidate beyond the prefix all share with the prompt, so
        // that the tokenizer's merges across the boundary are the ones the model would have produced.
        int[] promptIds = prompt.ids();
        List<int[]> fulls = new ArrayList<>();
        int shared = promptIds.length;
        for (String c : candidates) {
            int[] full = model.encodePrompt(text + c);
            fulls.add(full);
            int k = 0;
            while (k < Math.min(full.length, promptIds.length) && full[k] == promptIds[k]) k++;
            shared = Math.min(shared, k);
        }
        if (shared == 0) throw ApiException.badRequest("invalid_prompt", "the prompt is empty");
        int[] sharedIds = java.util.Arrays.copyOf(promptIds, shared);
        int markers = 0;
        for (int id : sharedIds) if (id == -200) markers++;
        if (markers != prompt.pixels().size()) {
            throw ApiException.badRequest("invalid_prompt", "the candidates change how the prompt's images are tokenized");
        }
        List<int[]> candidateIds = new ArrayList<>();
        for (int i = 0; i < fulls.size(); i++) {
            int[] t = java.util.Arrays.copyOfRange(fulls.get(i), shared, fulls.get(i).length);
            for (int id : t) if (id == -200) throw ApiException.badRequest("invalid_candidates", "candidate " + (i + 1) + " contains an image marker");
            if (t.length == 0) throw ApiException.badRequest("invalid_candidates", "candidate '" + candidates.get(i) + "' adds no tokens");
            candidateIds.add(t);
        }
        List<float[]> pixels = prompt.pixels();
        List<Scorer.CandidateScore> scores;
        try {
            scores = scheduler.submitTask(engine -> {
                List<float[]> visual = new ArrayList<>();
                for (float[] p : pixels) visual.add(engine.encodeImage(p));
                return Scorer.score(engine, sharedIds, visual, candidateIds);
            }).get();
        } catch (QueueFullException e) {
            throw new ApiException(429, "server_busy", "queue_full", e.getMessage());
        } catch (ExecutionException e) {
            throw toApi(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, "interrupted");
        } catch (ShuttingDownException e) {
            throw new ApiException(503, "server_error", "shutting_down", e.getMessage());
        }
        scheduler.metrics().scored();
        ObjectNode out = JSON.createObjectNode();
        out.put("object", "score").put("model", model.id());
        out.put("prompt_tokens", shared + markers * (model.engine().config().tokensPerImage() - 1));
        ArrayNode arr = out.putArray("scores");
        for (int i = 0; i < scores.size(); i++) {
            Scorer.CandidateScore s = scores.get(i);
            ObjectNode o = arr.addObject();
            o.put("candidate", candidates.get(i));
            o.put("logprob", s.logprob());
            ArrayNode ids = o.putArray("token_ids");
            for (int t : s.tokens()) ids.add(t);
            ArrayNode lps = o.putArray("token_logprobs");
            for (double lp : s.tokenLogprobs()) lps.add(lp);
        }
        ctx.contentType("application/json").result(JSON.writeValueAsString(out));
    }

    // ---------------------------------------------------------------- misc

    private void models(Context ctx) throws IOException {
        ObjectNode out = JSON.createObjectNode();
        out.put("object", "list");
        ObjectNode m = out.putArray("data").addObject();
        m.put("id", model.id()).put("object", "model").put("created", created).put("owned_by", "owl2j");
        ctx.contentType("application/json").result(JSON.writeValueAsString(out));
    }

    private static JsonNode parseBody(Context ctx) {
        String body = ctx.body();
        if (body.isBlank()) throw ApiException.badRequest("invalid_json", "the request body is empty; send a JSON object");
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            String msg = e.getOriginalMessage().lines().findFirst().orElse("");
            throw ApiException.badRequest("invalid_json", "malformed JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ": " + msg);
        }
        if (node == null || !node.isObject()) throw ApiException.badRequest("invalid_json", "the request body must be a JSON object");
        return node;
    }

    private static void errorBody(ObjectNode root, ApiException e) {
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        err.putNull("param");
        if (e.code() == null) err.putNull("code");
        else err.put("code", e.code());
    }

    private static void error(Context ctx, ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        errorBody(root, e);
        try {
            ctx.status(e.status()).contentType("application/json").result(JSON.writeValueAsString(root));
        } catch (JsonProcessingException ex) {
            ctx.status(500).result("{\"error\":{\"message\":\"internal error\",\"type\":\"server_error\",\"code\":null}}");
        }
    }

    private static long now() {
        return System.currentTimeMillis() / 1000;
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
