package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator.FinishReason;
import dev.owl2j.runtime.generation.Sampler;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.TextStream;
import dev.owl2j.runtime.generation.TokenLogprob;

import java.util.ArrayList;
import java.util.List;

/**
 * The decode state of one choice of a request (the scheduler's decode thread only, apart from the handle): its
 * session, sampler, tokens, text with stop strings, and log-probabilities when asked for.
 */
final class Sequence {
    final Scheduler.Handle handle = new Scheduler.Handle();
    final int eosId;
    private final SamplingParams params;
    private final Scheduler.Listener listener;
    private final TextStream text;
    private final Sampler sampler;
    private final ServerMetrics metrics;
    private final int logprobs;
    private final long submitted;
    private final List<Integer> tokens = new ArrayList<>();
    private final List<TokenLogprob> tokenLogprobs;
    private final StringBuilder out = new StringBuilder();
    private final int maxStop;
    Engine.Session session;
    int promptPositions;
    int pending;
    private long firstToken = -1;

    Sequence(int[] promptIds, SamplingParams params, TextStream text, Scheduler.Listener listener, int logprobs, int eosId,
             ServerMetrics metrics, long submitted) {
        this.params = params;
        this.text = text;
        this.listener = listener;
        this.logprobs = logprobs;
        this.eosId = eosId;
        this.metrics = metrics;
        this.submitted = submitted;
        this.sampler = new Sampler(params, promptIds);
        this.tokenLogprobs = logprobs >= 0 ? new ArrayList<>() : null;
        int m = 0;
        for (String s : params.stop()) m = Math.max(m, s.length());
        this.maxStop = m;
    }

    void started(int positions) {
        promptPositions = positions;
        listener.onStart(positions);
    }

    /** Samples from the logits and emits; true while the sequence needs another step. */
    boolean accept(float[] logits) {
        if (handle.isCancelled()) {
            finish(FinishReason.CANCELLED);
            return false;
        }
        int id;
        TokenLogprob lp;
        try {
            id = sampler.next(logits);
            lp = logprobs >= 0 && id != eosId ? TokenLogprob.of(logits, id, logprobs) : null;
        } catch (Owl2jException e) {
            fail(e); // invalid logits: the request fails with the reason instead of an arbitrary token
            return false;
        }
        try {
            if (firstToken < 0) {
                firstToken = System.nanoTime() - submitted;
            }
            if (id == eosId) {
                finish(FinishReason.STOP);
                return false;
            }
            tokens.add(id);
            if (tokenLogprobs != null) tokenLogprobs.add(lp);
            metrics.generatedTokens(1);
            String delta = text.push(id);
            int before = out.length();
            out.append(delta);
            int stopAt = findStop(out, params.stop(), Math.max(0, before - maxStop));
            if (stopAt >= 0) {
                String emitted = out.substring(before, Math.max(before, stopAt));
                out.setLength(stopAt);
                listener.onToken(id, emitted, lp);
                complete(FinishReason.STOP);
                return false;
            }
            listener.onToken(id, delta, lp);
            if (tokens.size() >= params.maxNewTokens() || session.position() >= session.capacity()) {
                finish(FinishReason.LENGTH);
                return false;
            }
            pending = id;
            return true;
        } catch (RuntimeException e) {
            // The listener failed (client gone): stop this request only.
            handle.cancel();
            finish(FinishReason.CANCELLED);
            return false;
        }
    }

    /** Flushes held-back text and completes. */
    void finish(FinishReason reason) {
        if (handle.result().isDone()) return;
        if (reason != FinishReason.CANCELLED) {
            try {
                String tail = text.flush();
                if (!tail.isEmpty()) {
                    out.append(tail);
                    listener.onToken(-1, tail, null);
                }
            } catch (RuntimeException e) {
                reason = FinishReason.CANCELLED;
            }
        }
        complete(reason);
    }

    private void complete(FinishReason reason) {
        closeSession();
        int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();
        long total = System.nanoTime() - submitted;
        metrics.finished(reason, firstToken, total);
        handle.result().complete(new Scheduler.Completion(ids, out.toString(), reason, promptPositions, firstToken, total,
                tokenLogprobs == null ? null : List.copyOf(tokenLogprobs)));
    }

    void fail(Owl2jException e) {
        closeSession();
        if (!handle.result().isDone()) {
            metrics.failed();
            handle.result().completeExceptionally(e);
        }
    }

    private void closeSession() {
        if (session != null) {
            session.close();
            session = null;
        }
    }

    private static int findStop(StringBuilder text, List<String> stops, int from) {
        int best = -1;
        for (String s : stops) {
            if (s.isEmpty()) continue;
            int i = text.indexOf(s, from);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }
}
