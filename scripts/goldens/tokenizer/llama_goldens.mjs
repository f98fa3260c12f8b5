// Produces testdata/tokenizer/llama2-tokenizer.json.gz and testdata/tokenizer/llama2-goldens.json.
//
// The real LLaMA-2 vocabulary and merge list ship inside the npm package llama-tokenizer-js (1.2.2), which was
// converted from Meta's tokenizer.json. We rebuild an HF-style tokenizer.json from them, then compute ids for every
// string of strings.mjs with two independent encoders:
//   - llama-tokenizer-js itself (its own BPE; it does not know special tokens inside text), and
//   - @lenml/tokenizers (a transformers.js fork) fed the rebuilt tokenizer.json; like LlamaTokenizer it turns
//     "<s>", "</s>", "<unk>" written in the text into ids 1, 2, 0.
// Both must agree on every string without special-token text; strings with it take the lenml result.
//
// Run: cd scripts/goldens/tokenizer && npm install llama-tokenizer-js@1.2.2 @lenml/tokenizers@3.7.2 && node llama_goldens.mjs
import llamaTokenizer from "llama-tokenizer-js";
import { TokenizerLoader } from "@lenml/tokenizers";
import { testStrings } from "./strings.mjs";
import fs from "node:fs";
import zlib from "node:zlib";
import path from "node:path";

const out = path.resolve(process.argv[2] || "../../../testdata/tokenizer");
fs.mkdirSync(out, { recursive: true });

const vocabById = llamaTokenizer.vocabById;
if (vocabById.length !== 32000) throw new Error("expected 32000 pieces, got " + vocabById.length);
const vocab = {};
vocabById.forEach((p, i) => { vocab[p] = i; });
// merges: Map "left right" -> priority, inserted in file order
const merges = [...llamaTokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map((e) => e[0]);

const special = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
const tokenizerJson = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
  normalizer: { type: "Sequence", normalizers: [
    { type: "Prepend", prepend: "\u2581" },
    { type: "Replace", pattern: { String: " " }, content: "\u2581" } ] },
  pre_tokenizer: null,
  post_processor: { type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
           { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
    special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } } },
  decoder: { type: "Sequence", decoders: [
    { type: "Replace", pattern: { String: "\u2581" }, content: " " },
    { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 } ] },
  model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: true, byte_fallback: true, vocab, merges },
};
const jsonText = JSON.stringify(tokenizerJson);
fs.writeFileSync(path.join(out, "llama2-tokenizer.json.gz"), zlib.gzipSync(Buffer.from(jsonText, "utf8"), { level: 9 }));

const lenml = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(jsonText),
  tokenizerConfig: { tokenizer_class: "LlamaTokenizer", add_bos_token: true, add_eos_token: false, legacy: true,
    bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", clean_up_tokenization_spaces: false },
});

const hasSpecialText = (s) => s.includes("<s>") || s.includes("</s>") || s.includes("<unk>");
const cases = [];
let disagreements = 0;
for (const text of testStrings()) {
  const a = text.length === 0 ? [] : llamaTokenizer.encode(text, false, true);
  const b = lenml.encode(text, { add_special_tokens: false });
  const same = JSON.stringify(a) === JSON.stringify(b);
  let source;
  if (hasSpecialText(text)) {
    source = "lenml";
  } else if (!same) {
    disagreements++;
    console.error("DISAGREE", JSON.stringify(text), JSON.stringify(a), JSON.stringify(b));
    continue;
  } else {
    source = "both";
  }
  cases.push({ text, ids: b, source });
}
// Sanity against ids published with llama-tokenizer-js / the LLaMA vocab.
const check = (t, want) => {
  const got = JSON.stringify(lenml.encode(t));
  if (got !== JSON.stringify(want)) throw new Error(`sanity ${t}: ${got}`);
};
check("Hello world", [1, 15043, 3186]);
check("USER: ", [1, 3148, 1001, 29901, 29871]);
fs.writeFileSync(path.join(out, "llama2-goldens.json"), JSON.stringify({
  producer: "scripts/goldens/tokenizer/llama_goldens.mjs (llama-tokenizer-js 1.2.2 + @lenml/tokenizers)",
  note: "ids without BOS; source=both: both encoders agree, lenml: special-token text, lenml only",
  cases }, null, 1) + "\n");
console.log(`wrote ${cases.length} cases, ${disagreements} disagreements dropped`);
