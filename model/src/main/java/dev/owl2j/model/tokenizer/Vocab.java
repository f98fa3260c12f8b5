package dev.owl2j.model.tokenizer;

import java.util.List;

/**
 * What a tokenizer file holds once read: pieces by id, their kinds, how pairs merge, and the normalizer flags.
 * Both readers ({@link SentencePieceModelReader}, {@link TokenizerJsonReader}) produce this.
 */
record Vocab(
        String[] pieces,
        byte[] kinds,
        MergeTable merges,
        boolean byteFallback,
        boolean addDummyPrefix,
        boolean removeExtraWhitespaces,
        boolean escapeWhitespaces,
        int unkId,
        int bosId,
        int eosId,
        String unkSurface,
        /* Strings that, written in the text, stand for their id (LlamaTokenizer's special tokens). */
        List<SpecialToken> textSpecials) {

    // Piece kinds, numbered as SentencePiece's ModelProto.SentencePiece.Type.
    static final byte NORMAL = 1;
    static final byte UNKNOWN = 2;
    static final byte CONTROL = 3;
    static final byte USER_DEFINED = 4;
    static final byte UNUSED = 5;
    static final byte BYTE = 6;

    record SpecialToken(String text, int id, boolean skipOnDecode) {}

    /** How adjacent symbols merge: a priority (higher merges first) or NaN when the pair never merges. */
    interface MergeTable {
        double priority(String left, String right, String merged);
    }
}
