package dev.owl2j.runtime.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.generation.Generator.FinishReason;
import dev.owl2j.runtime.generation.NonFiniteLogitsException;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.ExecutionException;

/** Writing answers: OpenAI error objects, usage, server-sent events, and failures mapped to HTTP statuses. */
final class Responses {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom IDS = new SecureRandom();

    private Responses() {}

    static String newId(String prefix) {
        byte[] b = new byte[12];
        IDS.nextBytes(b);
        return prefix + HexFormat.of().formatHex(b);
    }

    static long now() {
        return System.currentTimeMillis() / 1000;
    }

    static String finishReason(FinishReason r) {
        return r == FinishReason.LENGTH ? "length" : "stop";
    }

    static void usage(ObjectNode u, int promptTokens, int completionTokens) {
        u.put("prompt_tokens", promptTokens);
        u.put("completion_tokens", completionTokens);
        u.put("total_tokens", promptTokens + completionTokens);
    }

    static boolean bool(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw ApiException.badRequest("invalid_" + field, field + " must be true or false");
        return v.asBoolean();
    }

    /** Waits for a generation; its failure becomes the matching API error. */
    static Scheduler.Completion await(Scheduler.Handle handle) {
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

    /** The HTTP answer for a failure: user errors 400, overload and shutdown 503, broken model output 500. */
    static ApiException toApi(Throwable t) {
        if (t instanceof ApiException a) return a;
        if (t instanceof ShuttingDownException o) return new ApiException(503, "server_error", "shutting_down", o.getMessage());
        if (t instanceof ServerOutOfMemoryException o) return new ApiException(503, "server_error", "out_of_memory", o.getMessage());
        if (t instanceof NonFiniteLogitsException o) return new ApiException(500, "server_error", "non_finite_logits", o.getMessage());
        if (t instanceof Owl2jException o) return ApiException.badRequest("invalid_request", o.getMessage());
        return new ApiException(500, "server_error", null, "internal error: " + t.getClass().getSimpleName());
    }

    static ObjectNode errorBody(ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() == null) err.putNull("param");
        else err.put("param", e.param());
        if (e.code() == null) err.putNull("code");
        else err.put("code", e.code());
        return root;
    }

    static void error(Context ctx, ApiException e) {
        try {
            ctx.status(e.status()).contentType("application/json").result(JSON.writeValueAsString(errorBody(e)));
        } catch (JsonProcessingException ex) {
            ctx.status(500).result("{\"error\":{\"message\":\"internal error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
        }
    }

    /** Starts a text/event-stream answer and returns its stream. */
    static OutputStream startEvents(Context ctx) throws IOException {
        ctx.status(200).contentType("text/event-stream; charset=utf-8");
        ctx.header("Cache-Control", "no-cache");
        ctx.header("X-Accel-Buffering", "no");
        return ctx.res().getOutputStream();
    }

    static void send(OutputStream out, JsonNode node) throws IOException {
        sendRaw(out, "data: " + JSON.writeValueAsString(node) + "\n\n");
    }

    /** An error after the stream started: the error object as an event, then the end marker. */
    static void sendError(OutputStream out, ApiException e) throws IOException {
        send(out, errorBody(e));
        sendRaw(out, "data: [DONE]\n\n");
    }

    static void sendRaw(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
