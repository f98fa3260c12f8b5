package dev.owl2j.model.tokenizer;

import dev.owl2j.model.Owl2jException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.zip.GZIPInputStream;

/**
 * The LLaMA SentencePiece BPE tokenizer with byte fallback, behaving as the slow {@code LlamaTokenizer} of
 * transformers 4.31 (legacy mode) over sentencepiece:
 * <ul>
 *   <li>{@code <s>}, {@code </s>}, {@code <unk>} written in the text are cut out and become ids 1, 2, 0;</li>
 *   <li>every remaining text run is one SentencePiece call: dummy-prefix "▁", spaces as U+2581, BPE merges,
 *       characters outside the vocabulary as {@code <0xNN>} byte pieces;</li>
 *   <li>decoding drops the special ids (or writes them as text), strips the first piece's leading space, and
 *       joins byte pieces into UTF-8 (an invalid byte becomes U+FFFD).</li>
 * </ul>
 * Instances are immutable and thread-safe.
 */
public final class Tokenizer {
    private static final char SPACE_SYMBOL = '\u2581';

    private final Vocab v;
    private final Map<String, Integer> pieceIds = new HashMap<>();
    private final int[] byteIds = new int[256];
    private final boolean[] skippedOnDecode;
    private final String[] userDefined;
    private final int longestPiece;

    Tokenizer(Vocab vocab) {
        this.v = vocab;
        Arrays.fill(byteIds, -1);
        int n = vocab.pieces().length;
        for (int i = 0; i < n; i++) {
            byte k = vocab.kinds()[i];
            if (k == Vocab.NORMAL || k == Vocab.USER_DEFINED || k == Vocab.UNUSED) {
                pieceIds.putIfAbsent(vocab.pieces()[i], i);
            } else if (k == Vocab.BYTE) {
                byteIds[Integer.parseInt(vocab.pieces()[i].substring(3, 5), 16)] = i;
            }
        }
        skippedOnDecode = new boolean[n];
        for (Vocab.SpecialToken s : vocab.textSpecials()) {
            if (s.skipOnDecode()) {
                skippedOnDecode[s.id()] = true;
            }
        }
        // User-defined pieces of a SentencePiece model are matched whole before merging (not added tokens of
        // tokenizer.json, which are cut out before normalization like the special tokens).
        java.util.List<String> user = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            String p = vocab.pieces()[i];
            if (vocab.kinds()[i] == Vocab.USER_DEFINED
                    && vocab.textSpecials().stream().noneMatch(s -> s.text().equals(p))) {
                user.add(p);
            }
        }
        userDefined = user.toArray(String[]::new);
        int longest = 1;
        for (String p : vocab.pieces()) longest = Math.max(longest, p.length());
        for (Vocab.SpecialToken t : vocab.textSpecials()) longest = Math.max(longest, t.text().length());
        longestPiece = longest;
    }

    /** Reads a SentencePiece {@code tokenizer.model} or a Hugging Face {@code tokenizer.json} (also gzipped). */
    public static Tokenizer load(Path file) {
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new Owl2jException("cannot read tokenizer " + file + ": " + e.getMessage());
        }
        String name = file.toString();
        if (data.length >= 2 && (data[0] & 0xff) == 0x1f && (data[1] & 0xff) == 0x8b) {
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(data))) {
                data = in.readAllBytes();
            } catch (IOException e) {
                throw new Owl2jException("corrupt gzip tokenizer file " + name + ": " + e.getMessage());
            }
        }
        int first = 0;
        while (first < data.length && Character.isWhitespace(data[first])) {
            first++;
        }
        boolean json = name.endsWith(".json") || name.endsWith(".json.gz") || (first < data.length && data[first] == '{');
        return new Tokenizer(json ? TokenizerJsonReader.read(data, name) : SentencePieceModelReader.read(data, name));
    }

    /** The tokenizer of a model directory: {@code tokenizer.model} if present, else {@code tokenizer.json}. */
    public static Tokenizer fromModelDir(Path dir) {
        for (String name : new String[] {"tokenizer.model", "tokenizer.json", "tokenizer.json.gz"}) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                return load(p);
            }
        }
        throw new Owl2jException("no tokenizer.model or tokenizer.json in " + dir);
    }

    public int bosId() {
        return v.bosId();
    }

    public int eosId() {
        return v.eosId();
    }

    public int vocabSize() {
        return v.pieces().length;
    }

    /** The piece text of an id as stored in the vocabulary ("▁Hello", "<0x0A>", "</s>"). */
    public String piece(int id) {
        checkId(id);
        return v.pieces()[id];
    }

    /**
     * A lower bound on the ids {@code encode(text, false)} returns, from the text's length alone: every id covers
     * at most as many characters of the normalized text as the longest piece has. It lets a server refuse a
     * prompt that cannot fit its context before paying for tokenizing it (linear, no allocation).
     */
    public long tokenLowerBound(String text) {
        long chars = 0;
        boolean lastSpace = true;
        for (int k = 0; k < text.length(); k++) {
            boolean space = text.charAt(k) == ' ';
            if (!space || !v.removeExtraWhitespaces() || !lastSpace) chars++;
            lastSpace = space;
        }
        int longest = longestPiece;
        return (chars + longest - 1) / longest;
    }

    /**
     * The bytes token {@code id} adds to decoded text (UTF-8 of its piece with "▁" as a space; a byte piece's one
     * byte), or null for control and unknown pieces, which write no text of their own. A piece at the start of a
     * reply may lose its leading space when decoded (the dummy prefix); these are the bytes before that rule.
     */
    public byte[] tokenBytes(int id) {
        checkId(id);
        byte kind = v.kinds()[id];
        if (kind == Vocab.CONTROL || kind == Vocab.UNKNOWN || skippedOnDecode[id]) {
            return null;
        }
        String piece = v.pieces()[id];
        if (kind == Vocab.BYTE) {
            return new byte[]{(byte) Integer.parseInt(piece.substring(3, 5), 16)};
        }
        return piece.replace(SPACE_SYMBOL, ' ').getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Ids of {@code text} with BOS first. */
    public int[] encode(String text) {
        return encode(text, true);
    }

    public int[] encode(String text, boolean addBos) {
        IntList out = new IntList(text.length() + 2);
        if (addBos && v.bosId() >= 0) {
            out.add(v.bosId());
        }
        // Cut out special-token text (longest match at the earliest position, as transformers' Trie.split);
        // each run in between is its own SentencePiece call with its own dummy prefix (legacy LlamaTokenizer).
        int runStart = 0;
        int i = 0;
        List<Vocab.SpecialToken> specials = v.textSpecials();
        while (i < text.length()) {
            Vocab.SpecialToken best = null;
            for (Vocab.SpecialToken s : specials) {
                if (text.startsWith(s.text(), i) && (best == null || s.text().length() > best.text().length())) {
                    best = s;
                }
            }
            if (best == null) {
                i++;
                continue;
            }
            encodeRun(text.substring(runStart, i), out);
            out.add(best.id());
            i += best.text().length();
            runStart = i;
        }
        encodeRun(text.substring(runStart), out);
        return out.toArray();
    }

    /** SentencePiece normalization for the identity rule: optional whitespace cleanup, dummy prefix, "▁". */
    private String normalize(String text) {
        String s = text;
        if (v.removeExtraWhitespaces()) {
            StringBuilder b = new StringBuilder(s.length());
            boolean lastSpace = true;
            for (int k = 0; k < s.length(); k++) {
                char c = s.charAt(k);
                if (c == ' ') {
                    if (!lastSpace) {
                        b.append(c);
                    }
                    lastSpace = true;
                } else {
                    b.append(c);
                    lastSpace = false;
                }
            }
            if (b.length() > 0 && b.charAt(b.length() - 1) == ' ') {
                b.setLength(b.length() - 1);
            }
            s = b.toString();
        }
        if (s.isEmpty()) {
            return s;
        }
        if (v.addDummyPrefix()) {
            s = " " + s;
        }
        return v.escapeWhitespaces() ? s.replace(' ', SPACE_SYMBOL) : s;
    }

    private record Candidate(double priority, int left, int right, int size) {}

    private void encodeRun(String text, IntList out) {
        String s = normalize(text);
        if (s.isEmpty()) {
            return;
        }
        // Symbols are [start, end) ranges of s in a doubly linked list; user-defined pieces are frozen whole.
        int cap = s.length();
        int[] start = new int[cap], end = new int[cap], prev = new int[cap], next = new int[cap];
        boolean[] frozen = new boolean[cap];
        int n = 0;
        int pos = 0;
        while (pos < s.length()) {
            int len = 0;
            for (String u : userDefined) {
                if (u.length() > len && s.startsWith(u, pos)) {
                    len = u.length();
                }
            }
            boolean isUser = len > 0;
            if (!isUser) {
                len = Character.charCount(s.codePointAt(pos));
            }
            start[n] = pos;
            end[n] = pos + len;
            frozen[n] = isUser;
            prev[n] = n - 1;
            next[n] = n + 1;
            n++;
            pos += len;
        }
        next[n - 1] = -1;
        boolean[] alive = new boolean[n];
        Arrays.fill(alive, true);
        // Highest priority first; among equals the leftmost (SentencePiece's and the tokenizers library's order).
        PriorityQueue<Candidate> agenda = new PriorityQueue<>((a, b) -> a.priority != b.priority
                ? Double.compare(b.priority, a.priority) : Integer.compare(a.left, b.left));
        Map<String, String[]> unusedSplits = null;
        for (int k = 0; k + 1 < n; k++) {
            offer(s, k, k + 1, start, end, frozen, agenda);
        }
        while (!agenda.isEmpty()) {
            Candidate c = agenda.poll();
            int l = c.left, r = c.right;
            if (!alive[l] || !alive[r] || next[l] != r || end[r] - start[l] != c.size) {
                continue;   // stale: one side has merged since
            }
            String merged = s.substring(start[l], end[r]);
            Integer mergedId = pieceIds.get(merged);
            if (mergedId != null && v.kinds()[mergedId] == Vocab.UNUSED) {
                if (unusedSplits == null) {
                    unusedSplits = new HashMap<>();
                }
                unusedSplits.put(merged, new String[] {s.substring(start[l], end[l]), s.substring(start[r], end[r])});
            }
            end[l] = end[r];
            alive[r] = false;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            if (prev[l] >= 0) {
                offer(s, prev[l], l, start, end, frozen, agenda);
            }
            if (next[l] >= 0) {
                offer(s, l, next[l], start, end, frozen, agenda);
            }
        }
        boolean lastWasUnk = false;
        for (int k = 0; k >= 0; k = next[k]) {
            lastWasUnk = emit(s.substring(start[k], end[k]), unusedSplits, out, lastWasUnk);
        }
    }

    private void offer(String s, int l, int r, int[] start, int[] end, boolean[] frozen, PriorityQueue<Candidate> agenda) {
        if (frozen[l] || frozen[r]) {
            return;
        }
        double p = v.merges().priority(s.substring(start[l], end[l]), s.substring(start[r], end[r]),
                s.substring(start[l], end[r]));
        if (!Double.isNaN(p)) {
            agenda.add(new Candidate(p, l, r, end[r] - start[l]));
        }
    }

    /** Appends the ids of one final symbol; returns whether it was an unknown-id emission. */
    private boolean emit(String piece, Map<String, String[]> unusedSplits, IntList out, boolean lastWasUnk) {
        Integer id = pieceIds.get(piece);
        if (id != null && v.kinds()[id] != Vocab.UNUSED) {
            out.add(id);
            return false;
        }
        if (unusedSplits != null && unusedSplits.containsKey(piece)) {
            // SentencePiece resegments pieces marked unused into the two pieces they were merged from.
            String[] lr = unusedSplits.get(piece);
            boolean u = emit(lr[0], unusedSplits, out, lastWasUnk);
            return emit(lr[1], unusedSplits, out, u);
        }
        if (v.byteFallback()) {
            for (byte b : piece.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                out.add(byteIds[b & 0xff] >= 0 ? byteIds[b & 0xff] : v.unkId());
            }
            return false;
        }
        if (!lastWasUnk) {   // without byte fallback, SentencePiece merges a run of unknowns into one <unk>
            out.add(v.unkId());
        }
        return true;
    }

    /** Text of {@code ids} with the special tokens skipped (the reference decodes replies this way). */
    public String decode(int[] ids) {
        return decode(ids, true);
    }

    /**
     * Text of {@code ids}. Without skipping, special tokens are written as their text the way LlamaTokenizer 4.31
     * does it: a space before a special token that follows ordinary pieces, and each run of ordinary pieces
     * decoded on its own (so its first leading space is dropped).
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        for (int id : ids) {
            checkId(id);
        }
        if (skipSpecialTokens) {
            PieceDecoder d = new PieceDecoder(this);
            StringBuilder b = new StringBuilder();
            for (int id : ids) {
                if (!skippedOnDecode[id]) {
                    b.append(d.accept(id));
                }
            }
            return b.append(d.finish()).toString();
        }
        // LlamaTokenizer.convert_tokens_to_string (4.31): the space goes before the decoded run, not after it.
        StringBuilder out = new StringBuilder();
        StringBuilder runText = new StringBuilder();
        PieceDecoder run = new PieceDecoder(this);
        boolean prevSpecial = false;
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (skippedOnDecode[id]) {
                if (!prevSpecial && i != 0) {
                    out.append(' ');
                }
                out.append(runText).append(run.finish()).append(v.pieces()[id]);
                runText.setLength(0);
                run = new PieceDecoder(this);
                prevSpecial = true;
            } else {
                runText.append(run.accept(id));
                prevSpecial = false;
            }
        }
        return out.append(runText).append(run.finish()).toString();
    }

    /** A decoder for a stream of generated ids; its output equals {@link #decode(int[])} of all ids. */
    public StreamingDecoder newStreamingDecoder() {
        return new StreamingDecoder(this);
    }

    boolean skippedOnDecode(int id) {
        return skippedOnDecode[id];
    }

    Vocab vocab() {
        return v;
    }

    void checkId(int id) {
        if (id < 0 || id >= v.pieces().length) {
            throw new Owl2jException("token id " + id + " is outside the vocabulary [0, " + v.pieces().length + ")");
        }
    }

    /** A growable int array (no boxing on the encode path). */
    static final class IntList {
        private int[] a;
        private int size;

        IntList(int capacity) {
            a = new int[Math.max(4, capacity)];
        }

        void add(int x) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            a[size++] = x;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
