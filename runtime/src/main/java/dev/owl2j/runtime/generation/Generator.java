package dev.owl2j.runtime.generation;

import dev.owl2j.runtime.engine.DeviceSampling;
import dev.owl2j.runtime.engine.Engine;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The decoding loop: from the logits of a prefill, draw a token, feed it back, repeat until EOS, a stop
 * string or the token limit (docs/model.md, Generation). Text is streamed to a listener as it becomes complete.
 */
public final class Generator {
    /** Receives each generated token and the text it completed. */
    public interface Listener {
        void onToken(int id, String textDelta);
    }

    public enum FinishReason { STOP, LENGTH, CANCELLED }

    public record Result(int[] tokens, String text, FinishReason finishReason) {}

    private Generator() {}

    /**
     * Generates from {@code firstLogits} (the prefill's last position). The EOS token ends generation and is
     * neither fed back nor part of the text. Generation also stops when the session's context is full.
     * A session with {@link Engine.Capability#DEVICE_SAMPLING} picks the later tokens on its device with the uniform draws
     * of the same seeded generator, so the tokens are those host sampling would pick from the same logits.
     */
    public static Result generate(Engine.Session session, float[] firstLogits, SamplingParams params, int eosId,
                                  TextStream text, Listener listener, BooleanSupplier cancelled) {
        return generate(session, new int[0], firstLogits, params, eosId, text, listener, cancelled);
    }

    /**
     * As above, with the prompt's ids for the repetition penalty. Logit processing (penalties, bias, a constraint)
     * needs the logits on the host, so a session that samples on its device is then stepped as any other.
     */
    public static Result generate(Engine.Session session, int[] promptIds, float[] firstLogits, SamplingParams params, int eosId,
                                  TextStream text, Listener listener, BooleanSupplier cancelled) {
        Sampler sampler = new Sampler(params, promptIds);
        List<Integer> tokens = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        float[] logits = firstLogits;
        DeviceSampling device = sampler.usesRawLogits() && session.capabilities().contains(Engine.Capability.DEVICE_SAMPLING)
                ? (DeviceSampling) session : null;
        int pending = -1; // the token the device already picked
        FinishReason reason = FinishReason.LENGTH;
        while (tokens.size() < params.maxNewTokens()) {
            if (cancelled != null && cancelled.getAsBoolean()) {
                reason = FinishReason.CANCELLED;
                break;
            }
            int id = pending >= 0 ? pending : sampler.next(logits);
            if (id == eosId) {
                reason = FinishReason.STOP;
                break;
            }
            tokens.add(id);
            String delta = text.push(id);
            int before = out.length();
            out.append(delta);
            int stopAt = findStop(out, params.stop(), Math.max(0, before - maxLength(params.stop())));
            if (stopAt >= 0) {
                String emitted = out.substring(before, Math.max(before, stopAt));
                out.setLength(stopAt);
                if (listener != null) listener.onToken(id, emitted);
                reason = FinishReason.STOP;
                return new Result(toArray(tokens), out.toString(), reason);
            }
            if (listener != null) listener.onToken(id, delta);
            if (tokens.size() >= params.maxNewTokens() || session.position() >= session.capacity()) {
                reason = FinishReason.LENGTH;
                break;
            }
            if (device != null) {
                pending = device.stepSampled(id, params.temperature(), params.topK(), params.topP(), sampler.nextUniform());
            } else {
                logits = session.step(id);
            }
        }
        String tail = text.flush();
        if (!tail.isEmpty()) {
            out.append(tail);
            if (listener != null) listener.onToken(-1, tail);
        }
        return new Result(toArray(tokens), out.toString(), reason);
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

    private static int maxLength(List<String> stops) {
        int m = 0;
        for (String s : stops) m = Math.max(m, s.length());
        return m;
    }

    private static int[] toArray(List<Integer> l) {
        int[] a = new int[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i);
        return a;
    }
}
