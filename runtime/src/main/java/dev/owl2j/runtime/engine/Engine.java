package dev.owl2j.runtime.engine;

import dev.owl2j.model.config.Owl2Config;

import java.util.ArrayList;
import java.util.List;

/**
 * One loaded mPLUG-Owl2 model on one backend (CPU Vector API, OpenCL, CUDA). The generation loop, the CLI
 * and the server talk only to this interface, never to a backend directly.
 */
public interface Engine extends AutoCloseable {
    /** For logs and --stats: backend, device, weight type ("cpu, 2 threads, F16"). */
    String description();

    Owl2Config config();

    /** Vision encoder + abstractor for one image: pixel_values [3*S*S] CHW in, visual tokens [65*hidden] out. */
    float[] encodeImage(float[] pixelValues);

    /**
     * {@link #encodeImage}, with the tokens left where the engine computed them (device memory on a device
     * engine) for {@link Session#prefillEncoded}.
     */
    default VisualTokens encode(float[] pixelValues) {
        return VisualTokens.of(encodeImage(pixelValues));
    }

    /** A fresh conversation with its own KV cache. */
    Session newSession();

    /**
     * A fresh conversation that will hold at most {@code maxPositions} positions (at most the model's context), so
     * an engine may reserve less cache for it (the CPU's cache grows only up to that; a device reserves the whole
     * context anyway).
     */
    default Session newSession(int maxPositions) {
        return newSession();
    }

    /**
     * One decode step for several sessions at once (continuous batching). Backends that can share the weight
     * reads across sessions override this; the default steps them one by one.
     */
    default List<float[]> stepBatch(List<Session> sessions, int[] tokens) {
        List<float[]> out = new ArrayList<>(sessions.size());
        for (int i = 0; i < sessions.size(); i++) {
            out.add(sessions.get(i).step(tokens[i]));
        }
        return out;
    }

    @Override
    void close();

    /** What a session can do beyond prefill and step, asked through {@link Session#capabilities}. */
    enum Capability {
        /** {@link Session#truncate} forgets positions. */
        TRUNCATE,
        /** {@link Session#fork} copies the session. */
        FORK,
        /** The session implements {@link DeviceSampling}: the next token is picked where the logits are. */
        DEVICE_SAMPLING
    }

    /** A KV cache and the positions it holds. Not thread-safe: one generation at a time per session. */
    interface Session extends AutoCloseable {
        /**
         * Appends ids at the next positions and returns the logits of the last one. Each -200 in ids is replaced
         * by the next entry of imageTokens (docs/model.md, Splice); its positions get modality 1, text gets modality 0.
         */
        float[] prefill(int[] ids, List<float[]> imageTokens);

        /** {@link #prefill} with images from {@link Engine#encode}, read where they are (no host round trip on a device). */
        default float[] prefillEncoded(int[] ids, List<? extends VisualTokens> images) {
            return prefill(ids, VisualTokens.toHost(images));
        }

        /** Appends one generated (text) token and returns the logits for the next. */
        float[] step(int token);

        /** Positions held in the cache so far. */
        int position();

        /** Most positions the session can hold (the model's max_position_embeddings). */
        int capacity();

        /** What this session can do beyond prefill and step; ask here before calling truncate, fork or DeviceSampling. */
        default java.util.Set<Capability> capabilities() {
            return java.util.Set.of();
        }

        /** Forgets the positions from {@code position} on (scoring, regenerating a reply); needs {@link Capability#TRUNCATE}. */
        default void truncate(int position) {
            throw new UnsupportedOperationException("this backend cannot truncate a session");
        }

        /** A new session holding a copy of this one's positions (scores several continuations of one prompt); needs {@link Capability#FORK}. */
        default Session fork() {
            throw new UnsupportedOperationException("this backend cannot fork a session");
        }

        @Override
        default void close() {}
    }
}
