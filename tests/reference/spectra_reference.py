"""Independent reference for `siva inspect`: reads a safetensors checkpoint with numpy alone (from the
format's definition), takes the SVD with LAPACK through numpy, and computes the spectral summaries.

usage: python3 tests/reference/spectra_reference.py CHECKPOINT.safetensors [--perc 0.1] > out.json

Matrices: every 2-D float tensor except embedding tables; GPT-2's fused attn.c_attn.weight
([in, 3*in], Conv1D layout) split into q, k, v column blocks. Mirrors the documented behaviour, not the
TypeScript code.
"""
import argparse
import json
import re
import struct
import sys

import numpy as np

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
EMBEDDING = re.compile(r"(^|[._/])(wte|wpe|embeddings?|word_embeddings|position_embeddings|token_type_embeddings|shared|embed_tokens)([._/]|$)", re.I)


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
            arr = bits.view("<f4")
        else:
            arr = np.frombuffer(raw, DTYPES[info["dtype"]])
        tensors[name] = (info["dtype"], info["shape"], arr.reshape(info["shape"]))
    return tensors


def metrics(s, perc):
    """The summaries, computed on s / s[0] (every ratio is unchanged by the scale, and neither
    sigma**2 near 1e200 overflows nor near 1e-170 underflows); the condition number, one division,
    from s itself."""
    r = len(s)
    t = s / s[0] if s[0] > 0 else s
    total = t.sum()
    if total > 0:
        p = t / total
        p = p[p > 0]
        erank = float(np.exp(-(p * np.log(p)).sum()))
    else:
        erank = 0.0
    energy = float((t ** 2).sum())
    k = min(r, max(1, int(np.floor(perc * r + 0.5))))
    with np.errstate(over="ignore", divide="ignore"):
        condition = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    return {
        "singularValues": [float(x) for x in s],
        "effectiveRank": erank,
        "stableRank": energy if s[0] > 0 else 0.0,
        "spectralNorm": float(s[0]),
        "conditionNumber": condition if np.isfinite(condition) else None,
        "bottomK": k,
        "bottomEnergyShare": float((t[r - k:] ** 2).sum() / energy) if energy > 0 else 0.0,
    }


def matrices(path):
    """(name, tensor name, dtype, float64 matrix) for every matrix inspect analyses, in file order."""
    for name, (dtype, shape, arr) in read_safetensors(path).items():
        if len(shape) != 2 or dtype not in ("F64", "F32", "F16", "BF16") or EMBEDDING.search(name):
            continue
        a = arr.astype(np.float64)
        if re.search(r"(^|\.)attn\.c_attn\.weight$", name) and shape[1] == 3 * shape[0]:
            w = shape[0]
            for i, part in enumerate("qkv"):
                yield f"{name}.{part}", name, dtype, a[:, i * w:(i + 1) * w]
        else:
            yield name, name, dtype, a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--perc", type=float, default=0.1)
    args = ap.parse_args()
    out = []
    for block_name, name, dtype, m in matrices(args.path):
        s = np.linalg.svd(m, compute_uv=False)
        out.append({"name": block_name, "tensor": name, "shape": list(m.shape), "dtype": dtype, **metrics(s, args.perc)})
    json.dump({"source": args.path, "tensors": out}, sys.stdout)


if __name__ == "__main__":
    main()
