package dev.owl2j.runtime.server;

import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.TextStream;

import java.util.List;

/**
 * What the server needs of a loaded model: the engine plus the text and image front end (tokenizer, chat
 * template, image preprocessor). Kept as an interface so the HTTP layer is tested with any tokenizer.
 */
public interface ServerModel {
    /** One chat turn: role ("system", "user", "assistant") and text with a {@code <|image|>} marker per image. */
    record Turn(String role, String text) {}

    /** The model name reported by /v1/models and in responses. */
    String id();

    Engine engine();

    /** Renders a conversation with the model's chat template, ending where the assistant's reply starts. */
    String renderChat(List<Turn> turns);

    /** Prompt ids (BOS first) with -200 for each {@code <|image|>} marker. */
    int[] encodePrompt(String prompt);

    /** A fresh incremental decoder for one reply. */
    TextStream newTextStream();

    int eosId();

    /**
     * Decodes and preprocesses one image file into pixel values [3·S·S]; unreadable or unsupported data
     * raises an Owl2jException naming the problem.
     */
    float[] pixelValues(byte[] data, String name);

    /**
     * A lower bound on the ids {@link #encodePrompt} returns for {@code prompt}, computed from its length without
     * tokenizing (0 when the model cannot tell). The server refuses a prompt whose bound passes the context
     * before tokenizing it.
     */
    default long tokenLowerBound(String prompt) {
        return 0;
    }

    /**
     * The bytes token {@code id} writes, for log-probability answers and constrained decoding; null for tokens
     * that write no text of their own (control tokens) and by default (a model without this cannot offer
     * structured output).
     */
    default byte[] tokenBytes(int id) {
        return null;
    }

    /** Default temperature when a request gives none (the checkpoint's generation config). */
    default double defaultTemperature() {
        return 0;
    }

    /** Default top_p when a request gives none. */
    default double defaultTopP() {
        return 1;
    }

    /** Top-k applied to every sampled request (OpenAI has no such field); 0 = off. */
    default int defaultTopK() {
        return 0;
    }
}
