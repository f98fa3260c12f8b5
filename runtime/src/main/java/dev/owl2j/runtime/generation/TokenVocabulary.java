package dev.owl2j.runtime.generation;

/**
 * The bytes each token writes, for constrained decoding and logprob answers: {@code bytes[id]} is null for
 * tokens that write no text of their own (control pieces: BOS, EOS, unknown).
 */
public record TokenVocabulary(byte[][] bytes, int eosId) {
    /** The vocabulary of a tokenizer (its pieces' bytes). */
    public static TokenVocabulary of(dev.owl2j.model.tokenizer.Tokenizer tokenizer) {
        byte[][] bytes = new byte[tokenizer.vocabSize()][];
        for (int i = 0; i < bytes.length; i++) bytes[i] = tokenizer.tokenBytes(i);
        return new TokenVocabulary(bytes, tokenizer.eosId());
    }

    public int size() {
        return bytes.length;
    }
}
