package dev.owl2j.model.cpu;

/**
 * Receives named intermediate states of the forward pass (for tests and debugging), e.g.
 * "vision.embeddings", "vision.last_hidden_state", "abstractor.layer0", "visual_tokens", "inputs_embeds",
 * "decoder.layer0", "final_hidden", "last_logits". Each state is a fresh copy, row-major [rows, cols].
 */
@FunctionalInterface
public interface Trace {
    Trace NONE = (name, rows, cols, data) -> {};

    void stage(String name, int rows, int cols, float[] data);

    /** Hands a copy of the first rows·cols elements of data to the trace (nothing is copied for NONE). */
    static void emit(Trace trace, String name, int rows, int cols, float[] data) {
        if (trace != NONE) {
            trace.stage(name, rows, cols, java.util.Arrays.copyOf(data, rows * cols));
        }
    }
}
