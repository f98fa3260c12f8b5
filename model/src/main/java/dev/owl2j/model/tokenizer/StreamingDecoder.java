package dev.owl2j.model.tokenizer;

/**
 * Turns generated ids into text as they arrive. Special tokens are skipped; a UTF-8 character spread over several
 * byte pieces is held back until complete. The concatenation of all {@link #accept} results and {@link #finish()}
 * equals {@link Tokenizer#decode(int[])} of the same ids. Not thread-safe; one per generation.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final PieceDecoder decoder;

    StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.decoder = new PieceDecoder(tokenizer);
    }

    /** Feeds one id; returns the text that became final with it (often the piece's text, sometimes ""). */
    public String accept(int id) {
        tokenizer.checkId(id);
        if (tokenizer.skippedOnDecode(id)) {
            return "";  // batch decode drops these before joining bytes, so they must not flush pending bytes
        }
        return decoder.accept(id);
    }

    /** Ends the stream: pending bytes that never formed a character come out as U+FFFD. */
    public String finish() {
        return decoder.finish();
    }
}
