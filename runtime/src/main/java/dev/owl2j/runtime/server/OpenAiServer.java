package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.Owl2jException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An OpenAI-compatible HTTP server (Javalin on Jetty) over a {@link Scheduler}: {@code POST /v1/chat/completions}
 * and {@code POST /v1/completions} (plain and SSE streaming), {@code GET /v1/models}, {@code GET /health},
 * {@code GET /metrics} and the {@code POST /v1/score} extension. Every failure is answered as an OpenAI error object; stack traces never reach
 * the client. Request bodies are read with bounded memory and prepared on a bounded pool ({@link FrontEnd}), so
 * health and metrics stay answerable whatever the other requests cost.
 */
public final class OpenAiServer implements AutoCloseable {
    private final ServerModel model;
    private final ServerOptions options;
    private final Scheduler scheduler;
    private final FrontEnd frontEnd;
    private final ServerParts parts;
    private final Connections connections;
    private final ImageLoader images;
    private final AccessGuard access;
    private final long created = System.currentTimeMillis() / 1000;
    private final CountDownLatch closed = new CountDownLatch(1);
    private Javalin app;

    public OpenAiServer(ServerModel model, ServerOptions options) {
        this(model, options, new PublicAddresses());
    }

    /** {@code remoteAllowed}: the addresses remote images may come from (tests add their loopback image host). */
    OpenAiServer(ServerModel model, ServerOptions options, java.util.function.Predicate<java.net.InetAddress> remoteAllowed) {
        this.model = model;
        this.options = options;
        ServerMetrics metrics = new ServerMetrics();
        this.scheduler = new Scheduler(model.engine(), options.maxBatch(), options.queue(), model.eosId(), metrics);
        this.frontEnd = new FrontEnd(options.frontEndThreads(), options.queue(), metrics);
        metrics.gauge("owl2j_preparations_pending", "Requests being parsed, decoded or tokenized, or waiting for that.", frontEnd::pending);
        this.connections = new Connections(options, metrics);
        this.access = new AccessGuard(options);
        RequestBodies bodies = new RequestBodies(options.maxBodyBytes(), options.bodyBudgetBytes());
        metrics.gauge("owl2j_request_body_bytes", "Request-body bytes held in memory by requests being read or prepared.", bodies::heldBytes);
        this.images = new ImageLoader(options, remoteAllowed);
        this.parts = new ServerParts(model, options, scheduler, bodies, frontEnd, new PromptBuilder(model, options, images));
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** Binds host:port (port 0 picks a free one) and starts serving. */
    public OpenAiServer start() {
        ChatEndpoint chat = new ChatEndpoint(parts);
        ScoreEndpoint score = new ScoreEndpoint(parts);
        CompletionsEndpoint completions = new CompletionsEndpoint(parts);
        app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.useVirtualThreads = true;
            // Bodies are read by RequestBodies (which also bounds chunked ones); this keeps Javalin's check in line.
            config.http.maxRequestSize = options.maxBodyBytes();
            config.jetty.addConnector(connections::connector);
        });
        app.before(access::check);
        app.before(this::admit);
        app.options("/*", access::preflight);
        app.post("/v1/chat/completions", chat::handle);
        app.post("/v1/score", score::handle);
        app.post("/v1/completions", completions::handle);
        app.get("/v1/models", this::models);
        app.get("/v1/models/<name>", this::model);
        app.get("/health", this::health);
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(scheduler.metrics().render()));
        app.exception(ApiException.class, (e, ctx) -> Responses.error(ctx, e));
        // Safety net: a user error raised anywhere below the handlers (template, tokenizer) is still a 400.
        app.exception(Owl2jException.class, (e, ctx) -> Responses.error(ctx, Responses.toApi(e)));
        app.exception(HttpResponseException.class, (e, ctx) -> Responses.error(ctx, new ApiException(e.getStatus(),
                e.getStatus() == 404 ? "not_found_error" : "invalid_request_error", null, e.getMessage())));
        app.exception(Exception.class, (e, ctx) -> Responses.error(ctx, new ApiException(500, "server_error", null,
                "internal error: " + e.getClass().getSimpleName())));
        app.after(ctx -> scheduler.metrics().httpResponse(ctx.statusCode()));
        try {
            app.start();
        } catch (RuntimeException e) {
            scheduler.shutdown(false, 1, TimeUnit.SECONDS);
            frontEnd.close();
            images.close();
            throw new Owl2jException("cannot listen on " + options.host() + ":" + options.port() + ": " + rootMessage(e));
        }
        return this;
    }

    /** Checks {@code --cors} values: origins (scheme://host[:port]), no wildcard. One-line errors. */
    public static List<String> checkOrigins(List<String> origins) {
        return AccessGuard.checkOrigins(origins);
    }

    /** Checks {@code --host-name} values: DNS names. One-line errors. */
    public static List<String> checkHostNames(List<String> names) {
        return AccessGuard.checkHostNames(names);
    }

    /** The bound port. */
    public int port() {
        return app.port();
    }

    /**
     * Stops accepting work (new requests get 503), lets running generations finish (up to 30 s), then stops
     * listening. Idempotent.
     */
    @Override
    public void close() {
        scheduler.shutdown(true, 30, TimeUnit.SECONDS);
        if (app != null) app.stop();
        frontEnd.close();
        images.close();
        closed.countDown();
    }

    /** Blocks until {@link #close} has run (the serve command's main thread waits here). */
    public void awaitClose() throws InterruptedException {
        closed.await();
    }

    /** Paths answered on any connection, even one over the cap: cheap, and what a load balancer polls. */
    private static boolean isMonitoring(String path) {
        return path.equals("/health") || path.equals("/metrics");
    }

    /** Before every handler: a connection opened over the cap gets 503 for anything but health and metrics. */
    private void admit(Context ctx) {
        if (connections.overCap(org.eclipse.jetty.server.Request.getBaseRequest(ctx.req()))) {
            ctx.header("Connection", "close");
            if (!isMonitoring(ctx.path())) {
                throw new ApiException(503, "server_error", "too_many_connections", "the server has "
                        + options.maxConnections() + " connections open (--max-connections); retry later");
            }
        }
    }

    /** Answered from counters only: never waits for the engine or the preparation pool. */
    private void health(Context ctx) {
        boolean stopping = scheduler.isClosing();
        ObjectNode out = Responses.JSON.createObjectNode().put("status", stopping ? "shutting_down" : "ok").put("model", parts.modelId())
                .put("active", scheduler.activeCount()).put("queued", scheduler.queueDepth());
        ctx.status(stopping ? 503 : 200).json(out);
    }

    /** The served names (never a path on the server): the first is the id responses report, the others aliases. */
    private void models(Context ctx) throws IOException {
        ObjectNode out = Responses.JSON.createObjectNode();
        out.put("object", "list");
        com.fasterxml.jackson.databind.node.ArrayNode data = out.putArray("data");
        for (String name : parts.modelNames()) {
            data.addObject().put("id", name).put("object", "model").put("created", created).put("owned_by", "owl2j");
        }
        ctx.contentType("application/json").result(Responses.JSON.writeValueAsString(out));
    }

    private void model(Context ctx) throws IOException {
        String name = ctx.pathParam("name");
        if (!parts.modelNames().contains(name)) {
            throw new ApiException(404, "invalid_request_error", "model_not_found", "model", "the model '" + PromptBuilder.clip(name)
                    + "' does not exist (this server serves " + String.join(", ", parts.modelNames()) + ")");
        }
        ObjectNode m = Responses.JSON.createObjectNode();
        m.put("id", name).put("object", "model").put("created", created).put("owned_by", "owl2j");
        ctx.contentType("application/json").result(Responses.JSON.writeValueAsString(m));
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
