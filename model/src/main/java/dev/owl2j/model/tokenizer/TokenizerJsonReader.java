package dev.owl2j.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Reads a Hugging Face {@code tokenizer.json} of the LLaMA kind: a BPE model with byte fallback, a normalizer that
 * prepends "▁" and turns spaces into "▁" (or a Metaspace pre-tokenizer doing the same), and added tokens.
 * Merges keep their file order as priority, as the tokenizers library does.
 */
final class TokenizerJsonReader {
    private TokenizerJsonReader() {}

    static Vocab read(byte[] json, String fileName) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new Owl2jException("corrupt tokenizer.json " + fileName + ": " + firstLine(e.getMessage()));
        }
        try {
            return parse(root, fileName);
        } catch (Owl2jException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new Owl2jException("corrupt tokenizer.json " + fileName + ": " + e.getMessage());
        }
    }

    private static Vocab parse(JsonNode root, String fileName) {
        JsonNode model = root == null ? null : root.get("model");
        if (model == null || !model.isObject()) {
            throw new Owl2jException("corrupt tokenizer.json " + fileName + ": no \"model\" object");
        }
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw new Owl2jException("tokenizer.json " + fileName + " has a " + type
                    + " model; only BPE (as LLaMA) is supported");
        }
        JsonNode vocabNode = model.get("vocab");
        if (vocabNode == null || !vocabNode.isObject()) {
            throw new Owl2jException("corrupt tokenizer.json " + fileName + ": model.vocab is not an object");
        }
        Map<String, Integer> ids = new HashMap<>();
        int maxId = -1;
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw new Owl2jException("corrupt tokenizer.json " + fileName + ": bad id for piece '" + e.getKey() + "'");
            }
            ids.put(e.getKey(), e.getValue().asInt());
            maxId = Math.max(maxId, e.getValue().asInt());
        }
        List<JsonNode> added = new ArrayList<>();
        root.path("added_tokens").forEach(added::add);
        for (JsonNode a : added) {
            maxId = Math.max(maxId, a.path("id").asInt(-1));
        }
        String[] pieces = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            pieces[e.getValue()] = e.getKey();
        }
        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        byte[] kinds = new byte[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            kinds[i] = byteFallback && isBytePiece(pieces[i]) ? Vocab.BYTE : Vocab.NORMAL;
        }
        String unkToken = model.path("unk_token").asText("<unk>");
        List<Vocab.SpecialToken> specials = new ArrayList<>();
        for (JsonNode a : added) {
            int id = a.path("id").asInt(-1);
            String content = a.path("content").asText(null);
            if (id < 0 || content == null || content.isEmpty()) {
                throw new Owl2jException("corrupt tokenizer.json " + fileName + ": bad entry in added_tokens");
            }
            if (pieces[id] == null) {
                pieces[id] = content;
            }
            boolean special = a.path("special").asBoolean(false);
            kinds[id] = content.equals(unkToken) ? Vocab.UNKNOWN : special ? Vocab.CONTROL : Vocab.USER_DEFINED;
            specials.add(new Vocab.SpecialToken(content, id, special));
        }
        for (int i = 0; i < pieces.length; i++) {
            if (pieces[i] == null) {
                throw new Owl2jException("corrupt tokenizer.json " + fileName + ": no piece has id " + i);
            }
        }
        Integer unk = ids.get(unkToken);
        if (unk != null) {
            kinds[unk] = Vocab.UNKNOWN;
        }
        Map<String, Integer> ranks = new HashMap<>();
        int rank = 0;
        for (JsonNode m : model.path("merges")) {
            String left, right;
            if (m.isTextual()) {
                String s = m.asText();
                int sp = s.indexOf(' ', 1);
                if (sp < 0) {
                    throw new Owl2jException("corrupt tokenizer.json " + fileName + ": merge '" + s + "' has no space");
                }
                left = s.substring(0, sp);
                right = s.substring(sp + 1);
            } else if (m.isArray() && m.size() == 2) {
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else {
                throw new Owl2jException("corrupt tokenizer.json " + fileName + ": bad merge entry " + m);
            }
            ranks.putIfAbsent(left + ' ' + right, rank++);
        }
        // The tokenizers library applies the lowest-rank merge first; we hand out higher priority = lower rank.
        Vocab.MergeTable merges = (left, right, merged) -> {
            Integer r = ranks.get(left + ' ' + right);
            return r == null || !ids.containsKey(merged) ? Double.NaN : -(double) r;
        };
        boolean prepend = false, replaceSpace = false;
        for (JsonNode n : flatten(root.get("normalizer"), "normalizers")) {
            String t = n.path("type").asText();
            if (t.equals("Prepend") && n.path("prepend").asText().equals("\u2581")) {
                prepend = true;
            } else if (t.equals("Replace") && n.path("pattern").path("String").asText().equals(" ")
                    && n.path("content").asText().equals("\u2581")) {
                replaceSpace = true;
            }
        }
        for (JsonNode p : flatten(root.get("pre_tokenizer"), "pretokenizers")) {
            if (p.path("type").asText().equals("Metaspace")) {
                replaceSpace = true;
                String scheme = p.path("prepend_scheme").asText("");
                prepend = p.path("add_prefix_space").asBoolean(false) || scheme.equals("always") || scheme.equals("first");
            }
        }
        int bos = ids.getOrDefault("<s>", -1);
        int eos = ids.getOrDefault("</s>", -1);
        return new Vocab(pieces, kinds, merges, byteFallback, prepend, false, replaceSpace,
                unk == null ? -1 : unk, bos, eos, " \u2047 ", specials);
    }

    private static List<JsonNode> flatten(JsonNode node, String listKey) {
        List<JsonNode> out = new ArrayList<>();
        if (node == null || node.isNull()) {
            return out;
        }
        if (node.has(listKey)) {
            node.get(listKey).forEach(out::add);
        } else {
            out.add(node);
        }
        return out;
    }

    static boolean isBytePiece(String p) {
        return p.length() == 6 && p.startsWith("<0x") && p.endsWith(">")
                && Character.digit(p.charAt(3), 16) >= 0 && Character.digit(p.charAt(4), 16) >= 0;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable JSON";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
