package dev.owl2j.model.tokenizer;

import dev.owl2j.model.Owl2jException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a SentencePiece {@code tokenizer.model} (a serialized {@code sentencepiece.ModelProto}).
 *
 * <p>The protobuf wire format is decoded by hand: we need five fields of three messages, the file is small (~500 kB
 * for LLaMA), and pulling in protobuf-java plus generated classes for that would cost far more than this reader.
 * Field numbers follow {@code sentencepiece_model.proto}; unknown fields are skipped, as protobuf requires.
 */
final class SentencePieceModelReader {
    private SentencePieceModelReader() {}

    private static final int MODEL_BPE = 2;

    static Vocab read(byte[] data, String fileName) {
        try {
            return parse(data, fileName);
        } catch (Owl2jException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new Owl2jException("corrupt SentencePiece model " + fileName + ": " + e.getMessage());
        }
    }

    private static Vocab parse(byte[] data, String fileName) {
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<Byte> kinds = new ArrayList<>();
        // proto2 defaults of TrainerSpec / NormalizerSpec
        int modelType = 1;
        boolean byteFallback = false;
        int unkId = 0, bosId = 1, eosId = 2;
        String unkSurface = " \u2047 ";
        String normalizerName = "";
        int charsmapLength = 0;
        boolean addDummyPrefix = true, removeExtraWhitespaces = true, escapeWhitespaces = true;
        boolean whitespaceAsSuffix = false;

        Wire top = new Wire(data, 0, data.length);
        while (top.more()) {
            int tag = top.tag();
            int field = tag >>> 3;
            if (field == 1 && (tag & 7) == 2) {                 // repeated SentencePiece pieces
                Wire p = top.message();
                String piece = null;
                float score = 0;
                int type = Vocab.NORMAL;
                while (p.more()) {
                    int t = p.tag();
                    switch (t >>> 3) {
                        case 1 -> piece = p.string(t);
                        case 2 -> score = p.float32(t);
                        case 3 -> type = (int) p.varint(t);
                        default -> p.skip(t);
                    }
                }
                if (piece == null) {
                    throw new IllegalStateException("piece " + pieces.size() + " has no text");
                }
                if (type < 1 || type > 6) {
                    throw new IllegalStateException("piece " + pieces.size() + " has unknown type " + type);
                }
                if (type == Vocab.BYTE && !TokenizerJsonReader.isBytePiece(piece)) {
                    // decoding reads the byte from the piece's two hex digits (fuzzing finding: "<0x6\">" crashed)
                    throw new IllegalStateException("piece " + pieces.size() + " has type BYTE but is not written <0xHH>");
                }
                pieces.add(piece);
                scores.add(score);
                kinds.add((byte) type);
            } else if (field == 2 && (tag & 7) == 2) {          // TrainerSpec
                Wire t = top.message();
                while (t.more()) {
                    int tt = t.tag();
                    switch (tt >>> 3) {
                        case 3 -> modelType = (int) t.varint(tt);
                        case 24 -> whitespaceAsSuffix = t.varint(tt) != 0;
                        case 35 -> byteFallback = t.varint(tt) != 0;
                        case 40 -> unkId = (int) t.varint(tt);
                        case 41 -> bosId = (int) t.varint(tt);
                        case 42 -> eosId = (int) t.varint(tt);
                        case 44 -> unkSurface = t.string(tt);
                        default -> t.skip(tt);
                    }
                }
            } else if (field == 3 && (tag & 7) == 2) {          // NormalizerSpec
                Wire n = top.message();
                while (n.more()) {
                    int nt = n.tag();
                    switch (nt >>> 3) {
                        case 1 -> normalizerName = n.string(nt);
                        case 2 -> charsmapLength = n.bytesLength(nt);
                        case 3 -> addDummyPrefix = n.varint(nt) != 0;
                        case 4 -> removeExtraWhitespaces = n.varint(nt) != 0;
                        case 5 -> escapeWhitespaces = n.varint(nt) != 0;
                        default -> n.skip(nt);
                    }
                }
            } else {
                top.skip(tag);
            }
        }
        if (pieces.isEmpty()) {
            throw new Owl2jException("corrupt SentencePiece model " + fileName + ": no pieces");
        }
        if (modelType != MODEL_BPE) {
            throw new Owl2jException("SentencePiece model " + fileName + " is of type " + modelType
                    + "; only BPE models (type 2, as LLaMA) are supported");
        }
        if (charsmapLength > 0 && !normalizerName.equals("identity")) {
            throw new Owl2jException("SentencePiece model " + fileName + " uses normalizer '" + normalizerName
                    + "'; only the identity normalizer (as LLaMA) is supported");
        }
        if (whitespaceAsSuffix) {
            throw new Owl2jException("SentencePiece model " + fileName
                    + " treats whitespace as suffix; not supported");
        }
        int n = pieces.size();
        for (int id : new int[] {unkId, bosId, eosId}) {
            if (id >= n) {
                throw new Owl2jException("corrupt SentencePiece model " + fileName + ": special id " + id
                        + " outside the " + n + " pieces");
            }
        }
        String[] pieceArray = pieces.toArray(String[]::new);
        byte[] kindArray = new byte[n];
        Map<String, Integer> mergeable = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            kindArray[i] = kinds.get(i);
            byte k = kindArray[i];
            if (k == Vocab.NORMAL || k == Vocab.USER_DEFINED || k == Vocab.UNUSED) {
                mergeable.putIfAbsent(pieceArray[i], i);
            }
        }
        float[] scoreArray = new float[n];
        for (int i = 0; i < n; i++) {
            scoreArray[i] = scores.get(i);
        }
        // SentencePiece BPE merges a pair when the concatenation is a piece; the piece's score is the priority.
        Vocab.MergeTable merges = (left, right, merged) -> {
            Integer id = mergeable.get(merged);
            return id == null ? Double.NaN : scoreArray[id];
        };
        // LlamaTokenizer's special tokens (unk, bos, eos) written in the text become their ids.
        List<Vocab.SpecialToken> specials = new ArrayList<>();
        for (int id : new int[] {unkId, bosId, eosId}) {
            if (id >= 0) {
                specials.add(new Vocab.SpecialToken(pieceArray[id], id, true));
            }
        }
        return new Vocab(pieceArray, kindArray, merges, byteFallback, addDummyPrefix, removeExtraWhitespaces,
                escapeWhitespaces, unkId, bosId, eosId, unkSurface, specials);
    }

    /** A cursor over one protobuf message. */
    private static final class Wire {
        private final byte[] b;
        private int pos;
        private final int end;

        Wire(byte[] b, int pos, int end) {
            this.b = b;
            this.pos = pos;
            this.end = end;
        }

        boolean more() {
            return pos < end;
        }

        int tag() {
            long t = rawVarint();
            if (t <= 0 || t > Integer.MAX_VALUE) {
                throw new IllegalStateException("bad field tag at byte " + pos);
            }
            return (int) t;
        }

        private long rawVarint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw new IllegalStateException("truncated varint at byte " + pos);
                }
                int x = b[pos++] & 0xff;
                v |= (long) (x & 0x7f) << shift;
                if ((x & 0x80) == 0) {
                    return v;
                }
            }
            throw new IllegalStateException("varint too long at byte " + pos);
        }

        long varint(int tag) {
            expect(tag, 0);
            return rawVarint();
        }

        float float32(int tag) {
            expect(tag, 5);
            need(4);
            int bits = (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8 | (b[pos + 2] & 0xff) << 16 | (b[pos + 3] & 0xff) << 24;
            pos += 4;
            return Float.intBitsToFloat(bits);
        }

        private int length(int tag) {
            expect(tag, 2);
            long len = rawVarint();
            if (len < 0 || len > end - pos) {
                throw new IllegalStateException("length " + len + " runs past the end at byte " + pos);
            }
            return (int) len;
        }

        String string(int tag) {
            int len = length(tag);
            String s = new String(b, pos, len, StandardCharsets.UTF_8);
            pos += len;
            return s;
        }

        int bytesLength(int tag) {
            int len = length(tag);
            pos += len;
            return len;
        }

        Wire message() {
            int len = length(2); // wire type 2, the caller checked the tag
            Wire w = new Wire(b, pos, pos + len);
            pos += len;
            return w;
        }

        void skip(int tag) {
            switch (tag & 7) {
                case 0 -> rawVarint();
                case 1 -> { need(8); pos += 8; }
                case 2 -> {
                    int len = length(tag);  // not "pos += length(tag)": that reads pos before length() moves it
                    pos += len;
                }
                case 5 -> { need(4); pos += 4; }
                default -> throw new IllegalStateException("unsupported wire type " + (tag & 7) + " at byte " + pos);
            }
        }

        private void need(int n) {
            if (end - pos < n) {
                throw new IllegalStateException("truncated field at byte " + pos);
            }
        }

        private void expect(int tag, int wireType) {
            if ((tag & 7) != wireType) {
                throw new IllegalStateException("field " + (tag >>> 3) + " has wire type " + (tag & 7)
                        + ", expected " + wireType);
            }
        }
    }
}
