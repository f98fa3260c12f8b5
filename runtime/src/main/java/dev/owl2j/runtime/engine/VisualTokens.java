package dev.owl2j.runtime.engine;

import java.util.List;

/**
 * The visual tokens of one image ([65, hidden]: the abstractor's queries through visual_fc, then vit_eos) where
 * the engine computed them. A device engine keeps them in device memory, so that {@link Engine.Session#prefillEncoded}
 * splices them in without a round trip through the host; {@link #toHost} copies them out when a caller needs the
 * floats. Close them once no prefill needs them (a device engine frees any left open when it closes).
 */
public interface VisualTokens extends AutoCloseable {
    /** Floats held: tokens per image × the decoder's hidden size. */
    int floats();

    /** A copy on the host, [65 * hidden]. */
    float[] toHost();

    @Override
    default void close() {}

    /** Tokens already on the host (the CPU engine's, or computed elsewhere). */
    static VisualTokens of(float[] host) {
        return new VisualTokens() {
            @Override
            public int floats() {
                return host.length;
            }

            @Override
            public float[] toHost() {
                return host;
            }
        };
    }

    /** Host copies of several images' tokens. */
    static List<float[]> toHost(List<? extends VisualTokens> images) {
        return images.stream().map(VisualTokens::toHost).toList();
    }
}
