#!/usr/bin/env python3
"""Writes a LLaMA-2-7B-shaped GGUF with random weights for llama.cpp, straight in Q4_0 or Q8_0.

The matrices Owl2J quantizes under `owl2j bench --synthetic 7b --quant q4_0|q8_0` (q, k, v, o, gate, up, down of
every layer) are written as random blocks of that format: random quants with one fixed, realistic scale per block
(weights spread like N(0, 0.02)), made directly as bytes so no 13 GB F16 intermediate and no quantizer is needed.
token_embd and output (lm_head) are F16 and the norms F32, as in Owl2J's synthetic model, so both engines read the
same bytes per token. A tokenizer of 32000 placeholder pieces (<unk>, <s>, </s>, the 256 byte pieces, then
"t<i>") makes the file loadable; no text is ever tokenized.

Needs numpy and the `gguf` package (llama.cpp's gguf-py, on PyPI as gguf). Usage: make_gguf.py q4_0|q8_0 OUT.gguf
"""
import sys

import numpy as np
import gguf

VOCAB, DIM, LAYERS, FFN, HEADS, CTX = 32000, 4096, 32, 11008, 32, 4096
BLOCK = 32


def random_quant_rows(rows, cols, qtype, rng):
    """Rows of random blocks in GGML's layout: an f16 scale then the quants (Q4_0: 16 bytes of nibbles, Q8_0: 32 int8)."""
    nb = cols // BLOCK
    if qtype == gguf.GGMLQuantizationType.Q4_0:
        per, scale = 18, 0.02 * 3 / 8  # nibble q in 0..15 means (q - 8) * d
    else:
        per, scale = 34, 0.02 * 3 / 127
    blocks = np.frombuffer(rng.bytes(rows * nb * per), dtype=np.uint8).reshape(rows, nb, per).copy()
    blocks[:, :, 0:2] = np.frombuffer(np.float16(scale).tobytes(), dtype=np.uint8)
    return blocks.reshape(rows, nb * per)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("q4_0", "q8_0"):
        sys.exit("usage: make_gguf.py q4_0|q8_0 OUT.gguf")
    qtype = gguf.GGMLQuantizationType.Q4_0 if sys.argv[1] == "q4_0" else gguf.GGMLQuantizationType.Q8_0
    rng = np.random.default_rng(1)

    w = gguf.GGUFWriter(sys.argv[2], "llama")
    w.add_name("random LLaMA-2-7B shapes (Owl2J yardstick)")
    w.add_context_length(CTX)
    w.add_embedding_length(DIM)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(HEADS)
    w.add_rope_dimension_count(DIM // HEADS)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0 if sys.argv[1] == "q4_0" else gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_tokenizer_model("llama")
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    tokens += ["t%d" % i for i in range(VOCAB - len(tokens))]
    types += [gguf.TokenType.NORMAL] * (VOCAB - len(types))
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * VOCAB)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)

    # (name, rows, cols, kind): numpy shapes are (rows = out features, cols = in features)
    plan = [("token_embd.weight", VOCAB, DIM, "f16")]
    for l in range(LAYERS):
        p = "blk.%d." % l
        plan += [(p + "attn_norm.weight", 1, DIM, "norm"),
                 (p + "attn_q.weight", DIM, DIM, "q"), (p + "attn_k.weight", DIM, DIM, "q"),
                 (p + "attn_v.weight", DIM, DIM, "q"), (p + "attn_output.weight", DIM, DIM, "q"),
                 (p + "ffn_norm.weight", 1, DIM, "norm"),
                 (p + "ffn_gate.weight", FFN, DIM, "q"), (p + "ffn_up.weight", FFN, DIM, "q"),
                 (p + "ffn_down.weight", DIM, FFN, "q")]
    plan += [("output_norm.weight", 1, DIM, "norm"), ("output.weight", VOCAB, DIM, "f16")]

    # header and tensor table first, then each tensor's data as it is made: memory stays at one matrix
    for name, rows, cols, kind in plan:
        if kind == "q":
            nbytes = rows * (cols // BLOCK) * (18 if qtype == gguf.GGMLQuantizationType.Q4_0 else 34)
            w.add_tensor_info(name, (rows, nbytes // rows), np.dtype(np.uint8), nbytes, raw_dtype=qtype)
        elif kind == "f16":
            w.add_tensor_info(name, (rows, cols), np.dtype(np.float16), rows * cols * 2)
        else:
            w.add_tensor_info(name, (cols,), np.dtype(np.float32), cols * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for name, rows, cols, kind in plan:
        if kind == "q":
            data = random_quant_rows(rows, cols, qtype, rng)
        elif kind == "f16":
            data = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)
        else:
            data = np.ones(cols, dtype=np.float32)
        w.write_tensor_data(data)
    w.close()


if __name__ == "__main__":
    main()
