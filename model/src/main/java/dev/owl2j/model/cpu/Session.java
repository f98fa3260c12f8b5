package dev.owl2j.model.cpu;

import java.util.List;

/**
 * One conversation on an {@link Owl2Model}: a KV cache that grows with every prefill chunk and decode step.
 * Multi-turn chat appends each new user turn with {@link #prefill} at the next positions. Not thread-safe.
 * {@link #close} releases the cache (held off the Java heap) at once: its memory goes to the next session's cache
 * where caches reserve their storage, else back to the system (KVCache, Reserved storage); an unclosed session's
 * cache is released after the session becomes unreachable. Close a session only from the thread that runs it.
 */
public final class Session implements AutoCloseable {
    private final Owl2Model model;
    private final KVCache cache;
    private final Trace trace;

    Session(Owl2Model model, KVCache cache, Trace trace) {
        this.model = model;
        this.cache = cache;
        this.trace = trace;
    }

    /**
     * Appends a prompt chunk: ids may contain -200, each replaced by the next of imageTokens (from
     * {@link Owl2Model#encodeImage}).
     *
     * @return the logits of the chunk's last position
     */
    public float[] prefill(int[] ids, List<float[]> imageTokens) {
        return prefill(ids, imageTokens, model.prefillChunk());
    }

    /** {@link #prefill(int[], List)} with the decoder run over at most chunk positions at a time. */
    float[] prefill(int[] ids, List<float[]> imageTokens, int chunk) {
        SplicedInput in = model.splice(ids, imageTokens);
        if (trace != Trace.NONE) {
            Trace.emit(trace, "inputs_embeds", in.length(), model.config().hiddenSize(), in.embeds());
            float[] modality = new float[in.length()];
            for (int i = 0; i < modality.length; i++) modality[i] = in.modality()[i];
            trace.stage("modality_indicators", in.length(), 1, modality);
        }
        int n = in.length();
        if (trace != Trace.NONE || n <= chunk) {
            return model.decoder().forward(in.embeds(), in.modality(), n, cache, trace);
        }
        // Long prompts run in chunks (each attends to the cache so far): the activations of 1500 positions at once
        // are gigabytes of short-lived arrays per layer, which the collector promoted and copied (7B Q4_0: peak
        // RSS 11.3 GiB, 70-270 ms pauses, the first decode steps after it 2.4 instead of 3.7 tok/s).
        int hidden = model.config().hiddenSize();
        float[] logits = null;
        for (int c = 0; c < n; c += chunk) {
            int len = Math.min(chunk, n - c);
            float[] x = java.util.Arrays.copyOfRange(in.embeds(), c * hidden, (c + len) * hidden);
            int[] modality = java.util.Arrays.copyOfRange(in.modality(), c, c + len);
            logits = model.decoder().forward(x, modality, len, cache, trace);
        }
        return logits;
    }

    /** Appends one generated (text, modality 0) token and returns the logits of the next position. */
    public float[] step(int token) {
        float[] x = new float[model.config().hiddenSize()];
        model.decoder().embed(token, x, 0);
        return model.decoder().forward(x, new int[]{0}, 1, cache, trace);
    }

    /** Positions held so far = the position of the next token. */
    public int position() {
        return cache.length();
    }

    /** Forgets the positions from {@code position} on (e.g. to regenerate a reply). */
    public void truncate(int position) {
        cache.truncate(position);
    }

    public KVCache cache() {
        return cache;
    }

    /** A new session that continues from this one's positions with its own copy of the cache. */
    public Session fork() {
        return new Session(model, cache.copy(), trace);
    }

    /** Releases the KV cache; the session cannot be used afterwards. */
    @Override
    public void close() {
        cache.close();
    }
}
