package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.runtime.generation.SamplingParams;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;

/** {@code POST /v1/chat/completions}: plain and server-sent-events streaming (docs/server.md). */
final class ChatEndpoint {
    private final ServerParts parts;

    ChatEndpoint(ServerParts parts) {
        this.parts = parts;
    }

    /** A parsed chat request, before its images are loaded and its prompt tokenized. */
    private record Parsed(String text, List<String> imageUrls, SamplingFields sampling, boolean stream, boolean includeUsage) {}

    /** What generation needs of a request; the body, its JSON and the image bytes are gone by then. */
    private record Ready(Scheduler.Request request, boolean stream, boolean includeUsage) {}

    void handle(Context ctx) throws IOException {
        Ready ready = prepare(ctx);
        String id = Responses.newId("chatcmpl-");
        if (ready.stream()) {
            stream(ctx, ready.request(), id, ready.includeUsage());
        } else {
            Scheduler.Completion c = Responses.await(parts.submit(ready.request(), null));
            ObjectNode out = Responses.JSON.createObjectNode();
            out.put("id", id).put("object", "chat.completion").put("created", Responses.now()).put("model", parts.modelId());
            ObjectNode choice = out.putArray("choices").addObject();
            choice.put("index", 0);
            choice.putObject("message").put("role", "assistant").put("content", c.text());
            choice.putNull("logprobs");
            choice.put("finish_reason", Responses.finishReason(c.finishReason()));
            Responses.usage(out.putObject("usage"), c);
            ctx.contentType("application/json").result(Responses.JSON.writeValueAsString(out));
        }
    }

    /** Reads, parses and prepares the request: CPU-heavy steps on the front-end pool, remote images fetched here. */
    private Ready prepare(Context ctx) throws IOException {
        try (RequestBodies.Body body = parts.bodies().read(ctx.req().getInputStream(), ctx.req().getContentLengthLong())) {
            Parsed parsed = parts.frontEnd().run(() -> parse(body.json()));
            List<byte[]> fetched = parts.prompts().fetchRemote(parsed.imageUrls());
            PromptBuilder.Prompt prompt = parts.frontEnd().run(() -> parts.prompts().prepare(parsed.text(), parsed.imageUrls(), fetched));
            SamplingParams params = parsed.sampling().params(parts.model(), parts.options(), prompt.positions());
            return new Ready(new Scheduler.Request(prompt.ids(), prompt.pixels(), params, parts.model().newTextStream()),
                    parsed.stream(), parsed.includeUsage());
        }
    }

    private Parsed parse(JsonNode body) {
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.canConvertToInt() && n.asInt() == 1 && n.isIntegralNumber())) {
            throw ApiException.badRequest("unsupported_n", "only n=1 is supported");
        }
        List<String> imageUrls = new ArrayList<>();
        PromptBuilder prompts = parts.prompts();
        String text = prompts.render(prompts.turns(body.get("messages"), imageUrls));
        prompts.checkLength(text, imageUrls.size());
        SamplingFields sampling = SamplingFields.parse(body, parts.options());
        boolean stream = Responses.bool(body, "stream");
        boolean includeUsage = stream && body.path("stream_options").isObject() && Responses.bool(body.get("stream_options"), "include_usage");
        return new Parsed(text, imageUrls, sampling, stream, includeUsage);
    }

    private void stream(Context ctx, Scheduler.Request request, String id, boolean includeUsage) throws IOException {
        record Delta(String text) {}
        Object end = new Object();
        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        Scheduler.Handle handle = parts.submit(request, new Scheduler.Listener() {
            @Override
            public void onToken(int tokenId, String textDelta) {
                if (!textDelta.isEmpty()) events.add(new Delta(textDelta));
            }
        });
        handle.result().whenComplete((c, e) -> events.add(end));
        OutputStream out = Responses.startEvents(ctx);
        try {
            ObjectNode first = chunk(id);
            ((ObjectNode) first.get("choices").get(0)).putObject("delta").put("role", "assistant").put("content", "");
            Responses.send(out, first);
            while (true) {
                Object ev = events.take();
                if (ev == end) break;
                ObjectNode chunk = chunk(id);
                ((ObjectNode) chunk.get("choices").get(0)).putObject("delta").put("content", ((Delta) ev).text());
                Responses.send(out, chunk);
            }
            Scheduler.Completion c;
            try {
                c = handle.result().join();
            } catch (CompletionException | CancellationException e) {
                Responses.sendError(out, Responses.toApi(e.getCause() == null ? e : e.getCause()));
                return;
            }
            ObjectNode last = chunk(id);
            ObjectNode choice = (ObjectNode) last.get("choices").get(0);
            choice.putObject("delta");
            choice.put("finish_reason", Responses.finishReason(c.finishReason()));
            Responses.send(out, last);
            if (includeUsage) {
                ObjectNode usage = chunk(id);
                usage.putArray("choices");
                Responses.usage(usage.putObject("usage"), c);
                Responses.send(out, usage);
            }
            Responses.sendRaw(out, "data: [DONE]\n\n");
        } catch (IOException e) {
            // The client went away: free its batch slot at the next step.
            handle.cancel();
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
        }
    }

    private ObjectNode chunk(String id) {
        ObjectNode c = Responses.JSON.createObjectNode();
        c.put("id", id).put("object", "chat.completion.chunk").put("created", Responses.now()).put("model", parts.modelId());
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0);
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return c;
    }
}
