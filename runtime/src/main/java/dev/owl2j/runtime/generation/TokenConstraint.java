package dev.owl2j.runtime.generation;

/**
 * Restricts which tokens may come next (constrained decoding), one instance per generated sequence. The sampler
 * asks for the mask before each draw and reports the token drawn.
 */
public interface TokenConstraint {
    /** Makes one for each sequence; shared, so it may keep caches that all sequences use. */
    interface Factory {
        TokenConstraint start();
    }

    /**
     * Sets every token that may not come next to -infinity. {@code remaining}: tokens the sequence may still
     * generate (its limit minus what it has); a constraint uses it to finish in time.
     */
    void mask(float[] logits, int remaining);

    /** The token that was drawn (it passed the mask). */
    void accept(int token);
}
