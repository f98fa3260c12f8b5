#!/usr/bin/python3
"""Generates the PyTorch .bin test data of the formats module with real torch.save.

Run with Debian 12's python3-torch (1.13):  /usr/bin/python3 scripts/goldens/make_torch_fixtures.py
Writes (relative to the repository root):
  testdata/torch-bin/cases.bin              torch.save of a state_dict covering the cases the Java reader must honour
  testdata/torch-bin/cases.expected.safetensors  the same tensors made contiguous by torch (the golden)
  testdata/torch-bin/conversions.expected.safetensors  dtype conversions done by torch (golden for the converter)
  testdata/torch-bin/malicious.bin          torch.save layout whose pickle calls os.system (must be refused)
  testdata/torch-bin/legacy.bin             pre-1.6 non-zip torch.save (must be refused with a clear message)
  testdata/tiny-owl2-bin/                   the tiny fixture re-saved as 2 .bin shards + pytorch_model.bin.index.json
The goldens are written by torch (contiguous()/to()), not by the Java code under test.
"""
import collections, io, json, os, pickle, shutil, struct, sys, zipfile
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "testdata", "torch-bin")
TINY = os.path.join(ROOT, "testdata", "tiny-owl2-f16")
TINY_BIN = os.path.join(ROOT, "testdata", "tiny-owl2-bin")
ST_DTYPE = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32", torch.int64: "I64",
            torch.float64: "F64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}
FROM_ST = {v: k for k, v in ST_DTYPE.items()}


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = collections.OrderedDict()
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        dt = FROM_ST[e["dtype"]]
        buf = bytearray(data[a:b])
        if dt in (torch.float16, torch.bfloat16):
            t = torch.frombuffer(buf, dtype=torch.int16).view(dt)
        else:
            t = torch.frombuffer(buf, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out


def cases():
    g = torch.Generator().manual_seed(7)
    sd = collections.OrderedDict()
    sd["f16"] = torch.randn(3, 5, generator=g).half()
    sd["bf16"] = torch.randn(4, 6, generator=g).bfloat16()
    sd["f32"] = torch.randn(2, 3, 4, generator=g)
    sd["i64"] = torch.arange(-5, 7, dtype=torch.int64).reshape(3, 4)
    base = torch.randn(6, 7, generator=g).half()
    sd["transposed"] = base.t()                     # non-contiguous: strides (1, 7)
    sd["slice"] = base[2:5, 1:4]                    # storage offset 15, strides (7, 1): non-contiguous view
    sd["row_slice"] = base[3:]                      # storage offset 21, contiguous
    sd["shared_a"] = base                           # same storage as the three views above
    sd["param"] = torch.nn.Parameter(torch.randn(5, generator=g), requires_grad=True)
    sd["scalar"] = torch.tensor(3.5, dtype=torch.float32)
    sd["empty"] = torch.zeros(0, 4, dtype=torch.float16)
    torch.save(sd, os.path.join(OUT, "cases.bin"))
    write_safetensors(os.path.join(OUT, "cases.expected.safetensors"),
                      collections.OrderedDict((k, v.detach().contiguous()) for k, v in sd.items()))

    # dtype conversion goldens (round to nearest even, done by torch)
    src = torch.cat([torch.randn(200, generator=g) * s for s in (1e-6, 1e-3, 1.0, 100.0, 6e4)])
    src = torch.cat([src, torch.tensor([0.0, -0.0, 65504.0, -65504.0, 6.1e-5, 5.96e-8, 1e-8, 3e38])])
    f16 = src.half()
    conv = collections.OrderedDict()
    conv["f32"] = src
    conv["f32_to_f16"] = src.half()
    conv["f32_to_bf16"] = src.bfloat16()
    conv["f16"] = f16
    conv["f16_to_bf16"] = f16.bfloat16()
    conv["f16_to_bf16_to_f32"] = f16.bfloat16().float()
    conv["bf16_to_f16"] = src.bfloat16().half()
    write_safetensors(os.path.join(OUT, "conversions.expected.safetensors"), conv)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/owl2j-pwned-formats-test",))


def malicious():
    # A genuine torch.save archive of a small dict, then its data.pkl swapped for a pickle that calls os.system.
    path = os.path.join(OUT, "malicious.bin")
    torch.save({"w": torch.zeros(2)}, path)
    with zipfile.ZipFile(path) as z:
        entries = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for info, data in entries:
            if info.filename.endswith("/data.pkl"):
                data = pickle.dumps(collections.OrderedDict(w=Evil()), protocol=2)
            z.writestr(info, data)


def legacy():
    torch.save({"w": torch.zeros(2)}, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)


def tiny_bin():
    # Like the release: decoder layers in the first shard, everything else in the last; names without
    # zero padding (pytorch_model-1-of-2.bin); the abstractor's q_pos_embed/k_pos_embed are not stored.
    sd = read_safetensors(os.path.join(TINY, "model.safetensors"))
    shards = [collections.OrderedDict(), collections.OrderedDict()]
    for name, t in sd.items():
        if name.endswith("q_pos_embed") or name.endswith("k_pos_embed"):
            continue
        shards[0 if name.startswith("model.layers.") else 1][name] = t
    if os.path.isdir(TINY_BIN):
        shutil.rmtree(TINY_BIN)
    os.makedirs(TINY_BIN)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        fname = "pytorch_model-%d-of-%d.bin" % (i + 1, len(shards))
        torch.save(shard, os.path.join(TINY_BIN, fname))
        for name, t in shard.items():
            weight_map[name] = fname
            total += t.numel() * t.element_size()
    with open(os.path.join(TINY_BIN, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    for j in ("config.json", "generation_config.json", "preprocessor_config.json"):
        shutil.copy(os.path.join(TINY, j), os.path.join(TINY_BIN, j))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    print("torch", torch.__version__, file=sys.stderr)
    cases()
    malicious()
    legacy()
    tiny_bin()
