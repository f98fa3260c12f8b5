package dev.owl2j.runtime.generation;

/**
 * The bytes each token writes, for constrained decoding and logprob answers: {@code bytes[id]} is null for
 * tokens that write no text of their own (control pieces: BOS, EOS, unknown).
 */
public record TokenVocabulary(byte[][] bytes, int eosId) {
    public int size() {
        return bytes.length;
    }
}
