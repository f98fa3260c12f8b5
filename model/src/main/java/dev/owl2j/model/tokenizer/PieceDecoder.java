package dev.owl2j.model.tokenizer;

/**
 * SentencePiece's decode as a left-to-right state machine, so that batch and streaming decoding share one code path:
 * <ul>
 *   <li>the first piece that starts with "▁" while nothing has been written loses that "▁" (the dummy prefix);
 *       after it, or after any text, spaces stay (sentencepiece 0.1.97+ {@code bos_ws_seen} rule);</li>
 *   <li>consecutive byte pieces form UTF-8; at each position a complete valid character is taken, otherwise one
 *       byte becomes U+FFFD;</li>
 *   <li>control pieces write nothing, the unknown piece writes the model's unk surface (" ⁇ ").</li>
 * </ul>
 * {@link #accept} returns text as soon as it is final: bytes wait only while they are a valid prefix of a
 * character that the next byte piece may complete.
 */
final class PieceDecoder {
    private static final char SPACE_SYMBOL = '\u2581';

    private final Tokenizer tokenizer;
    private final byte[] pending = new byte[4];
    private int pendingLength;
    private boolean wroteText;
    private boolean bosWsSeen;

    PieceDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    String accept(int id) {
        Vocab v = tokenizer.vocab();
        String piece = v.pieces()[id];
        byte kind = v.kinds()[id];
        StringBuilder out = new StringBuilder();
        if (kind == Vocab.BYTE) {
            pending[pendingLength++] = (byte) Integer.parseInt(piece.substring(3, 5), 16);
            drain(out, false);
            return note(out);
        }
        drain(out, true);
        boolean isBosWs = !(bosWsSeen || wroteText || out.length() > 0);
        bosWsSeen = false;
        if (kind == Vocab.CONTROL) {
            return note(out);
        }
        if (kind == Vocab.UNKNOWN) {
            out.append(v.unkSurface());
            return note(out);
        }
        String p = piece;
        if (isBosWs && (v.addDummyPrefix() || v.removeExtraWhitespaces()) && !p.isEmpty() && p.charAt(0) == SPACE_SYMBOL) {
            p = p.substring(1);
            bosWsSeen = !v.removeExtraWhitespaces();
        }
        out.append(p.replace(SPACE_SYMBOL, ' '));
        return note(out);
    }

    String finish() {
        StringBuilder out = new StringBuilder();
        drain(out, true);
        return note(out);
    }

    private String note(StringBuilder out) {
        if (out.length() > 0) {
            wroteText = true;
        }
        return out.toString();
    }

    /** Emits the pending bytes that are final; with {@code all}, everything (incomplete characters as U+FFFD). */
    private void drain(StringBuilder out, boolean all) {
        int p = 0;
        while (p < pendingLength) {
            int need = sequenceLength(pending[p]);
            if (need == 0) {
                out.append('\uFFFD');
                p++;
                continue;
            }
            int have = Math.min(need, pendingLength - p);
            boolean prefixOk = true;
            for (int k = 1; k < have && prefixOk; k++) {
                prefixOk = validContinuation(pending[p], k, pending[p + k]);
            }
            if (!prefixOk) {
                out.append('\uFFFD');
                p++;
            } else if (have < need) {
                if (!all) {
                    break;  // may still become a character
                }
                out.append('\uFFFD');
                p++;
            } else {
                out.append(new String(pending, p, need, java.nio.charset.StandardCharsets.UTF_8));
                p += need;
            }
        }
        System.arraycopy(pending, p, pending, 0, pendingLength - p);
        pendingLength -= p;
    }

    /** Length of a well-formed UTF-8 sequence starting with {@code lead}, or 0 if it cannot start one. */
    private static int sequenceLength(byte lead) {
        int b = lead & 0xff;
        if (b < 0x80) {
            return 1;
        } else if (b >= 0xC2 && b <= 0xDF) {
            return 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            return 3;
        } else if (b >= 0xF0 && b <= 0xF4) {
            return 4;
        }
        return 0;
    }

    /** Unicode Table 3-7: the second byte's range depends on the lead (no overlongs, surrogates, > U+10FFFF). */
    private static boolean validContinuation(byte lead, int index, byte b) {
        int x = b & 0xff;
        if (index == 1) {
            int l = lead & 0xff;
            int lo = 0x80, hi = 0xBF;
            if (l == 0xE0) {
                lo = 0xA0;
            } else if (l == 0xED) {
                hi = 0x9F;
            } else if (l == 0xF0) {
                lo = 0x90;
            } else if (l == 0xF4) {
                hi = 0x8F;
            }
            return x >= lo && x <= hi;
        }
        return x >= 0x80 && x <= 0xBF;
    }
}
