package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.runtime.engine.VisualTokens;
import io.javalin.http.Context;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * {@code POST /v1/score} (extension): log-probabilities of candidate continuations of one prompt, prefilled once
 * (docs/server.md). A candidate's tokens are those of prompt + candidate beyond the prefix they share with the
 * prompt, so the tokenizer's merges across the boundary are the ones the model would have produced.
 */
final class ScoreEndpoint {
    static final int MAX_CANDIDATES = 64;

    private final ServerParts parts;

    ScoreEndpoint(ServerParts parts) {
        this.parts = parts;
    }

    record Parsed(String text, List<String> imageUrls, List<String> candidates) {}

    /** The shared prompt ids, its images' pixels, each candidate's ids. */
    record Ready(int[] sharedIds, List<float[]> pixels, List<String> candidates, List<int[]> candidateIds, int markers) {}

    void handle(Context ctx) throws IOException {
        Ready ready = prepare(ctx);
        List<Scorer.CandidateScore> scores;
        try {
            scores = parts.scheduler().submitTask(engine -> {
                List<VisualTokens> visual = new ArrayList<>();
                try {
                    for (float[] p : ready.pixels()) visual.add(engine.encode(p));
                    return Scorer.scoreEncoded(engine, ready.sharedIds(), visual, ready.candidateIds());
                } finally {
                    for (VisualTokens v : visual) v.close();
                }
            }).get();
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
        parts.scheduler().metrics().scored();
        ObjectNode out = Responses.JSON.createObjectNode();
        out.put("object", "score").put("model", parts.modelId());
        out.put("prompt_tokens", ready.sharedIds().length + ready.markers() * (parts.prompts().tokensPerImage() - 1));
        ArrayNode arr = out.putArray("scores");
        for (int i = 0; i < scores.size(); i++) {
            Scorer.CandidateScore s = scores.get(i);
            ObjectNode o = arr.addObject();
            o.put("candidate", ready.candidates().get(i));
            o.put("logprob", s.logprob());
            ArrayNode ids = o.putArray("token_ids");
            for (int t : s.tokens()) ids.add(t);
            ArrayNode lps = o.putArray("token_logprobs");
            for (double lp : s.tokenLogprobs()) lps.add(lp);
        }
        ctx.contentType("application/json").result(Responses.JSON.writeValueAsString(out));
    }

    private Ready prepare(Context ctx) throws IOException {
        try (RequestBodies.Body body = parts.bodies().read(ctx.req().getInputStream(), ctx.req().getContentLengthLong())) {
            Parsed parsed = parts.frontEnd().run(() -> parse(body.json()));
            List<byte[]> fetched = parts.prompts().fetchRemote(parsed.imageUrls());
            return parts.frontEnd().run(() -> tokenize(parsed, fetched));
        }
    }

    static final java.util.Set<String> HONOURED = java.util.Set.of("model", "messages", "prompt", "images", "candidates");

    Parsed parse(JsonNode body) {
        Fields.check(body, "", HONOURED, java.util.Map.of(), java.util.Map.of());
        parts.checkModel(body);
        List<String> imageUrls = new ArrayList<>();
        PromptBuilder prompts = parts.prompts();
        String text;
        if (body.has("messages")) {
            if (body.has("prompt")) throw ApiException.badRequest("invalid_request", "give either 'messages' or 'prompt', not both");
            text = prompts.render(prompts.turns(body.get("messages"), imageUrls));
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
            String candidate = PromptBuilder.plainText(c.asText(), "candidate");
            prompts.checkLength(text + candidate, imageUrls.size());
            candidates.add(candidate);
        }
        prompts.checkLength(text, imageUrls.size());
        return new Parsed(text, imageUrls, candidates);
    }

    Ready tokenize(Parsed parsed, List<byte[]> fetched) {
        PromptBuilder.Prompt prompt = parts.prompts().prepare(parsed.text(), parsed.imageUrls(), fetched);
        int[] promptIds = prompt.ids();
        List<int[]> fulls = new ArrayList<>();
        int shared = promptIds.length;
        for (String c : parsed.candidates()) {
            int[] full = parts.model().encodePrompt(parsed.text() + c);
            fulls.add(full);
            int k = 0;
            while (k < Math.min(full.length, promptIds.length) && full[k] == promptIds[k]) k++;
            shared = Math.min(shared, k);
        }
        if (shared == 0) throw ApiException.badRequest("invalid_prompt", "the prompt is empty");
        int[] sharedIds = Arrays.copyOf(promptIds, shared);
        int markers = 0;
        for (int id : sharedIds) if (id == PromptBuilder.IMAGE_ID) markers++;
        if (markers != prompt.pixels().size()) {
            throw ApiException.badRequest("invalid_prompt", "the candidates change how the prompt's images are tokenized");
        }
        List<int[]> candidateIds = new ArrayList<>();
        for (int i = 0; i < fulls.size(); i++) {
            int[] t = Arrays.copyOfRange(fulls.get(i), shared, fulls.get(i).length);
            for (int id : t) {
                if (id == PromptBuilder.IMAGE_ID) throw ApiException.badRequest("invalid_candidates", "candidate " + (i + 1) + " contains an image marker");
            }
            if (t.length == 0) {
                throw ApiException.badRequest("invalid_candidates", "candidate '" + PromptBuilder.clip(parsed.candidates().get(i)) + "' adds no tokens");
            }
            candidateIds.add(t);
        }
        return new Ready(sharedIds, prompt.pixels(), parsed.candidates(), candidateIds, markers);
    }
}
