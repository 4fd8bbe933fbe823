#!/usr/bin/env python3
"""make_corpus.py: writes the seed inputs of tests/fuzz/corpus (valid files of each format, the
starting points for libFuzzer) and, as crash-*, every hostile input the targets were hardened
against (each once crashed frost, hung it, blew up its memory or was accepted silently).
Inputs libFuzzer finds later are added to the same folders by tools/fuzz.sh. Run from anywhere:
    python3 tests/fuzz/make_corpus.py
"""
import gzip, json, os, struct, zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def st_header(entries, meta=None):  # header-mode input of the safetensors target: text NUL data
    h = dict(entries)
    if meta:
        h["__metadata__"] = meta
    return json.dumps(h, separators=(",", ":")).encode()


def safetensors():
    data = struct.pack("<4f", 1, 2, 3, 4) + bytes([1, 0, 1]) + struct.pack("<i", -7)
    ok = st_header({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                    "b": {"dtype": "BOOL", "shape": [3], "data_offsets": [16, 19]},
                    "i": {"dtype": "I32", "shape": [1], "data_offsets": [19, 23]}},
                   {"format": "pt", "frost_crc32": json.dumps({"w": "%08x" % zlib.crc32(data[:16])})})
    put("safetensors", "seed-three-dtypes", ok + b"\0" + data)
    raw = st_header({"e": {"dtype": "F64", "shape": [0, 3], "data_offsets": [0, 0]}})
    raw += b" " * ((8 - len(raw) % 8) % 8)
    put("safetensors", "seed-raw-file", struct.pack("<Q", len(raw)) + raw)
    put("safetensors", "crash-bytes-wrap", st_header({"x": {"dtype": "I32", "shape": [2**62], "data_offsets": [0, 0]}}))
    put("safetensors", "crash-bytes-wrap-2d", st_header({"x": {"dtype": "F64", "shape": [2**31, 2**31], "data_offsets": [0, 0]}}))
    put("safetensors", "crash-stride-overflow", st_header({"x": {"dtype": "F32", "shape": [0, 2**62, 2**62], "data_offsets": [0, 0]}}))
    e = '"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'
    put("safetensors", "silent-duplicate-key", ("{" + e + "," + e + "}").encode() + b"\0abcd")
    put("safetensors", "silent-nul-padding", ("{" + e + "}").encode() + b"\0\0\0")  # the padding NULs end the header early
    put("safetensors", "silent-hole", st_header({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}) + b"\0" + bytes(8))
    put("safetensors", "silent-trailing-payload", ("{" + e + "}").encode() + b"\0abcd<script>")
    put("safetensors", "silent-bool-7", st_header({"b": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}) + b"\0\1\7")
    put("safetensors", "bomb-nesting", b'{"x":' + b"[" * 200000 + b"}")
    put("safetensors", "silent-bad-checksum", st_header({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
                                                       {"frost_crc32": '{"w":"00000000"}'}) + b"\0abcd")


def json_config():
    lora = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["qkv"], "lora_dropout": 0.0,
            "bias": "none", "rank_pattern": {"blocks.0.attn.qkv": 4}, "alpha_pattern": {}, "modules_to_save": ["head"]}
    put("json_config", "seed-adapter-config", json.dumps(lora))
    put("json_config", "seed-frost-peft", json.dumps({"format": "frost-peft", "version": 1, "peft": "lora:r=8+vpt:tokens=5",
                                                      "architecture": "vit", "num_classes": 10, "tensors": 4}))
    put("json_config", "seed-model-args", json.dumps({"img_size": 32, "patch_size": 8, "embed_dim": 48, "depth": 2,
                                                      "num_heads": 3, "depths": [2, 2], "dims": [8, 16, 24, 32], "mlp_ratio": 4.0}))
    put("json_config", "crash-r-1e300", '{"peft_type":"LORA","r":1e300,"target_modules":["qkv"]}')
    put("json_config", "bomb-r-huge", '{"peft_type":"LORA","r":1000000000,"target_modules":["qkv"]}')
    put("json_config", "crash-rank-pattern-float", '{"r":8,"target_modules":["qkv"],"rank_pattern":{"qkv":1e300}}')
    put("json_config", "crash-embed-dim-1e300", '{"embed_dim":1e300,"depth":1e19}')
    put("json_config", "silent-duplicate-r", '{"r":8,"r":800000,"target_modules":["qkv"]}')
    put("json_config", "bomb-nesting", "[" * 100000)


def png(w, h, rows=None, ihdr_only=False):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    if ihdr_only:
        return out
    raw = b"".join(b"\0" + bytes(3 * w) for _ in range(h)) if rows is None else rows
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def image():
    put("image", "seed-png-4x3", png(4, 3))
    bmp_pixels = bytes(16)  # 2x2 at 24 bits, each row padded to 8 bytes
    bmp = b"BM" + struct.pack("<IHHI", 54 + len(bmp_pixels), 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, len(bmp_pixels), 0, 0, 0, 0)
    put("image", "seed-bmp-2x2", bmp + bmp_pixels)
    put("image", "seed-pgm", b"P5\n3 2\n255\n" + bytes(range(6)))
    put("image", "bomb-png-16384", png(16384, 16384, ihdr_only=True) + b"\0\0\0\0IDAT\0\0\0\0")
    put("image", "bomb-png-65535-wide", png(65535, 4000, ihdr_only=True))
    put("image", "crash-truncated-png", png(4, 3)[:40])
    put("image", "bad-html", b"<html><body>not an image</body></html>")


def idx():
    def gz(data):  # mode 0: a gzip member
        return b"\0" + gzip.compress(data, mtime=0)
    put("idx", "seed-gzip", gz(b"hello " * 20))
    lie = bytearray(gzip.compress(b"abcd", mtime=0))
    lie[-4:] = b"\xff\xff\xff\xff"
    put("idx", "bomb-gzip-trailer-4gib", b"\0" + bytes(lie))

    def pair(images, labels):  # mode 1: <u16 length><images><labels>
        return b"\1" + struct.pack("<H", len(images)) + images + labels
    imgs = struct.pack(">IIII", 0x803, 2, 2, 2) + bytes(range(8))
    labs = struct.pack(">II", 0x801, 2) + bytes([0, 9])
    put("idx", "seed-idx-pair", pair(imgs, labs))
    put("idx", "seed-idx-pair-gzipped", pair(gzip.compress(imgs, mtime=0), gzip.compress(labs, mtime=0)))
    put("idx", "crash-idx-zero-height", pair(struct.pack(">IIII", 0x803, 2, 0, 28), labs))
    put("idx", "crash-idx-wrap", pair(struct.pack(">IIII", 0x803, 2**31, 2**31, 4), labs))
    rec = bytes([3]) + bytes(range(256)) * 12
    put("idx", "seed-cifar10", b"\2" + rec + rec)
    put("idx", "bad-cifar10-label", b"\2" + bytes([200]) + rec[1:])
    put("idx", "seed-cifar100", b"\3" + bytes([1, 42]) + rec[1:])


def split_list():
    put("split_list", "seed-vtab", b"\0a.png 0\na.png 1\r\n\na.png 2\n")
    put("split_list", "silent-vtab-label-typo", b"\0a.png 0\na.png 1\na.png 999999\n")
    put("split_list", "bad-vtab-negative", b"\0a.png -1\n")
    put("split_list", "bad-vtab-huge", b"\0a.png 99999999999999999999\n")
    put("split_list", "seed-fgvc", b"\1" + json.dumps({"a.png": 3}).encode())
    put("split_list", "bad-fgvc-float", b"\1" + b'{"a.png": 1e300}')
    put("split_list", "silent-fgvc-duplicate", b"\1" + b'{"a.png": 1, "a.png": 2}')


def checkpoint():
    pos = {"epoch": 2, "batch": 3, "step": 17, "best_epoch": 1, "rng_seed": "42", "rng_offset": "9"}
    ident = {"model": "vit_tiny_patch16_224", "model_args": {"num_classes": 3}, "peft": "lora:r=8", "num_classes": 3}
    line = lambda p, i=ident, v="1.5 3 50": (json.dumps(p) + "\n" + json.dumps(i) + "\n" + v).encode()
    put("checkpoint", "seed-position", line(pos))
    put("checkpoint", "silent-negative-epoch", line(dict(pos, epoch=-5)))
    put("checkpoint", "crash-step-1e30", line(dict(pos, step=1e30)))
    put("checkpoint", "crash-stoull", line(dict(pos, rng_seed="12x")))
    put("checkpoint", "crash-map-at", line({"epoch": 1}))
    put("checkpoint", "crash-type", line(dict(pos, batch="three")))
    put("checkpoint", "silent-nan-state", line(pos, ident, "nan inf 500"))
    put("checkpoint", "crash-identity-not-json", line(pos, "{\"model\":"))


for make in (safetensors, json_config, image, idx, split_list, checkpoint):
    make()
