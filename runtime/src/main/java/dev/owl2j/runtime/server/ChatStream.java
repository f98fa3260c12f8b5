package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.runtime.generation.TokenLogprob;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One streamed chat completion: OpenAI's chunk sequence (a role chunk per choice, a chunk per token with its text
 * and, when asked for, its log-probability, a finish chunk per choice, optionally a usage chunk with no choices, then
 * [DONE]).
 * A client that disconnects cancels every choice; its batch slots are freed at the next step.
 */
final class ChatStream {
    private record Event(int choice, String text, TokenLogprob logprob) {}

    private static final Event END = new Event(-1, null, null);

    private final ServerParts parts;
    private final String id;
    private final Scheduler.Request request;
    private final boolean includeUsage;
    private final ChatEndpoint chat;

    ChatStream(ServerParts parts, String id, Scheduler.Request request, boolean includeUsage) {
        this.parts = parts;
        this.id = id;
        this.request = request;
        this.includeUsage = includeUsage;
        this.chat = new ChatEndpoint(parts);
    }

    void run(Context ctx) throws IOException {
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        List<Scheduler.Handle> handles = parts.submitChoices(request, i -> new Scheduler.Listener() {
            @Override
            public void onToken(int tokenId, String textDelta, TokenLogprob logprob) {
                if (!textDelta.isEmpty() || logprob != null) events.add(new Event(i, textDelta, logprob));
            }
        });
        int[] left = {handles.size()};
        for (Scheduler.Handle h : handles) {
            h.result().whenComplete((c, e) -> {
                synchronized (left) {
                    if (--left[0] == 0) events.add(END);
                }
            });
        }
        OutputStream out = Responses.startEvents(ctx);
        try {
            for (int i = 0; i < handles.size(); i++) {
                ObjectNode first = chunk(i);
                ((ObjectNode) first.get("choices").get(0)).putObject("delta").put("role", "assistant").put("content", "");
                Responses.send(out, first);
            }
            while (true) {
                Event ev = events.take();
                if (ev == END) break;
                ObjectNode c = chunk(ev.choice());
                ObjectNode choice = (ObjectNode) c.get("choices").get(0);
                choice.putObject("delta").put("content", ev.text());
                if (ev.logprob() != null) {
                    ObjectNode lp = choice.putObject("logprobs");
                    lp.putArray("content").add(chat.logprob(ev.logprob()));
                    lp.putNull("refusal");
                }
                Responses.send(out, c);
            }
            List<Scheduler.Completion> done = new ArrayList<>();
            try {
                for (Scheduler.Handle h : handles) done.add(h.result().join());
            } catch (CompletionException | CancellationException e) {
                Responses.sendError(out, Responses.toApi(e.getCause() == null ? e : e.getCause()));
                return;
            }
            int completionTokens = 0;
            for (int i = 0; i < done.size(); i++) {
                ObjectNode last = chunk(i);
                ObjectNode choice = (ObjectNode) last.get("choices").get(0);
                choice.putObject("delta");
                choice.put("finish_reason", Responses.finishReason(done.get(i).finishReason()));
                Responses.send(out, last);
                completionTokens += done.get(i).tokens().length;
            }
            if (includeUsage) {
                ObjectNode usage = chunk(0);
                usage.putArray("choices");
                Responses.usage(usage.putObject("usage"), done.getFirst().promptPositions(), completionTokens);
                Responses.send(out, usage);
            }
            Responses.sendRaw(out, "data: [DONE]\n\n");
        } catch (IOException e) {
            // The client went away: free its batch slots at the next step.
            for (Scheduler.Handle h : handles) h.cancel();
        } catch (InterruptedException e) {
            for (Scheduler.Handle h : handles) h.cancel();
            Thread.currentThread().interrupt();
        }
    }

    private ObjectNode chunk(int index) {
        ObjectNode c = Responses.JSON.createObjectNode();
        c.put("id", id).put("object", "chat.completion.chunk").put("created", Responses.now()).put("model", parts.modelId());
        ArrayNode choices = c.putArray("choices");
        ObjectNode choice = choices.addObject();
        choice.put("index", index);
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        // OpenAI: with include_usage, every chunk carries "usage": null but the last, which carries the counts
        if (includeUsage) c.putNull("usage");
        return c;
    }
}
