#!/usr/bin/python3
"""Trains a small SentencePiece BPE model with byte fallback (Debian `sentencepiece` 0.1.97, spm_train) and writes
golden ids and decodes from python3-sentencepiece for the strings of strings.mjs (exported to strings.json).

The model mirrors LLaMA's settings: BPE, byte_fallback, identity normalizer, dummy prefix, no whitespace removal,
unk/bos/eos = 0/1/2. One user-defined symbol ("@@") exercises that piece type.

Run: apt-get install -y sentencepiece python3-sentencepiece python3-protobuf
     node -e 'import("./strings.mjs").then(m=>require("fs").writeFileSync("strings.json",JSON.stringify(m.testStrings())))'
     python3 spm_goldens.py            # writes ../../../testdata/tokenizer/small-bpe.model and small-bpe-goldens.json
"""
import json, os, random, subprocess, sys, tempfile
import sentencepiece as spm

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../../testdata/tokenizer"))
os.makedirs(out, exist_ok=True)
strings = json.load(open(os.path.join(here, "strings.json"), encoding="utf-8"))

# Corpus: English licence texts shipped with Debian plus the test strings (so CJK etc. get a few pieces).
corpus = []
for name in ["GPL-3", "Apache-2.0", "LGPL-2.1", "Artistic", "MPL-2.0"]:
    p = os.path.join("/usr/share/common-licenses", name)
    if os.path.exists(p):
        corpus.extend(l.strip() for l in open(p, encoding="utf-8") if l.strip())
corpus.extend(s.replace("\n", " ") for s in strings if s.strip())


def train(vocab_size, byte_fallback, coverage):
    with tempfile.TemporaryDirectory() as tmp:
        txt = os.path.join(tmp, "corpus.txt")
        with open(txt, "w", encoding="utf-8") as f:
            f.write("\n".join(corpus) + "\n")
        prefix = os.path.join(tmp, "small-bpe")
        subprocess.run(["spm_train", f"--input={txt}", f"--model_prefix={prefix}", "--model_type=bpe",
                        f"--vocab_size={vocab_size}", f"--byte_fallback={str(byte_fallback).lower()}",
                        "--normalization_rule_name=identity", "--remove_extra_whitespaces=false",
                        "--add_dummy_prefix=true", f"--character_coverage={coverage}",
                        "--user_defined_symbols=@@", "--split_digits=false", "--max_sentencepiece_length=16",
                        "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=-1", "--num_threads=1",
                        "--minloglevel=2"], check=True)
        return open(prefix + ".model", "rb").read()


model_bytes = train(1200, True, 0.9995)
open(os.path.join(out, "small-bpe.model"), "wb").write(model_bytes)

sp = spm.SentencePieceProcessor(model_proto=model_bytes)
cases = [{"text": s, "ids": sp.encode(s), "decoded": sp.decode(sp.encode(s))} for s in strings]
# Decoding of arbitrary id sequences (byte pieces that do not form UTF-8, leading "▁" pieces, control ids).
rng = random.Random(1234)
byte_ids = [i for i in range(sp.get_piece_size()) if sp.is_byte(i)]
n = sp.get_piece_size()
decodes = []
special_ids = {sp.unk_id(), sp.bos_id(), sp.eos_id()}


def decode_case(ids):
    # decoded_skip is LlamaTokenizer.decode(ids, skip_special_tokens=True): transformers drops the special ids
    # (unk, bos, eos) first and hands the remaining pieces to one sentencepiece decode call.
    return {"ids": ids, "decoded": sp.decode(ids),
            "decoded_skip": sp.decode([i for i in ids if i not in special_ids])}


for k in range(150):
    length = rng.randint(1, 12)
    ids = []
    for _ in range(length):
        r = rng.random()
        ids.append(rng.choice(byte_ids) if r < 0.35 else (rng.randint(0, 2) if r < 0.45 else rng.randint(3, n - 1)))
    decodes.append(decode_case(ids))
for ids in ([sp.piece_to_id("\u2581")], [sp.piece_to_id("\u2581"), sp.piece_to_id("\u2581")],
            sp.encode(" Hello") , sp.encode("  x"), [1] + sp.encode(" a"), sp.encode("中") , sp.encode("中")[:-1]):
    decodes.append(decode_case(ids))
json.dump({"producer": f"scripts/goldens/tokenizer/spm_goldens.py (sentencepiece {spm.__version__})",
           "note": "ids without BOS (plain sentencepiece: special-token text is not split); decoded = SentencePieceProcessor.decode(ids)",
           "vocab_size": n, "bos": sp.bos_id(), "eos": sp.eos_id(), "unk": sp.unk_id(),
           "pieces": [sp.id_to_piece(i) for i in range(n)],
           "cases": cases, "decodes": decodes},
          open(os.path.join(out, "small-bpe-goldens.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)

# Variants for the rarer code paths, each with ids and decodes of every string:
#  - small-bpe-unused.model: the same model with a few frequent merged pieces marked UNUSED (SentencePiece then
#    splits them back into the pieces they were merged from); needs python3-protobuf.
#  - small-bpe-nofallback.model: trained without byte fallback and lower character coverage, so rare characters
#    become <unk> (a run of them one <unk>).
from sentencepiece import sentencepiece_model_pb2 as pb
proto = pb.ModelProto()
proto.ParseFromString(model_bytes)
unused = ["\u2581the", "er", "\u2581a", "ion", "ing"]
for piece in proto.pieces:
    if piece.piece in unused:
        piece.type = pb.ModelProto.SentencePiece.UNUSED
variants = {"small-bpe-unused": proto.SerializeToString(), "small-bpe-nofallback": train(700, False, 0.98)}
for name, data in variants.items():
    open(os.path.join(out, name + ".model"), "wb").write(data)
    vsp = spm.SentencePieceProcessor(model_proto=data)
    special = {vsp.unk_id(), vsp.bos_id(), vsp.eos_id()}
    vcases = []
    for s in strings:
        ids = vsp.encode(s)
        vcases.append({"text": s, "ids": ids, "decoded": vsp.decode(ids),
                       "decoded_skip": vsp.decode([i for i in ids if i not in special])})
    json.dump({"producer": f"scripts/goldens/tokenizer/spm_goldens.py (sentencepiece {spm.__version__})",
               "vocab_size": vsp.get_piece_size(), "cases": vcases},
              open(os.path.join(out, name + "-goldens.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print(f"vocab {n}, {len(cases)} cases, {len(decodes)} decodes -> {out}")
