"""Independent numpy-only reference for the engine's checkpoint I/O (src/main/engine/io).

Written from the safetensors format definition (8-byte little-endian u64 header length N, N bytes of
UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the
data section, offsets relative to its start) and from the TensorFlow.js weightsManifest definition.
The Python `safetensors` package is deliberately not used.

usage:
  python3 tests/reference/safetensors_numpy.py fixtures OUTDIR        # write the committed fixtures
  python3 tests/reference/safetensors_numpy.py dump FILE [--digest]   # read FILE, print JSON
  python3 tests/reference/safetensors_numpy.py shard SRC OUTDIR N     # split SRC into N shards + index
  python3 tests/reference/safetensors_numpy.py round < values.json    # float64 -> F32/F16/BF16 bits

Values travel as hex of little-endian float64 bytes so NaN, infinities and -0 survive JSON.
"""
import hashlib
import json
import os
import struct
import sys
from fractions import Fraction

import numpy as np

DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # numpy has no bfloat16: kept as raw bits
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
# The reference writer orders data by alignment (largest first), then by name.
ALIGNMENT_ORDER = ["F64", "I64", "F32", "I32", "F16", "BF16", "I16", "I8", "U8", "BOOL"]


# ---------------------------------------------------------------- bfloat16, from the bits up

def bf16_bits_from_float32(values):
    """Round float32 values to bfloat16 bits, ties to even; NaN stays a quiet NaN with its sign."""
    bits = np.asarray(values, dtype="<f4").view("<u4").astype(np.uint64)
    is_nan = np.isnan(np.asarray(values, dtype="<f4"))
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    quiet_nan = (bits >> 16) | 0x40
    return np.where(is_nan, quiet_nan, rounded).astype("<u2")


def bf16_to_float64(bits):
    return (np.asarray(bits, dtype="<u2").astype(np.uint32) << 16).view("<f4").astype(np.float64)


_BF16_POSITIVE = None


def bf16_bits_exact(x):
    """Correctly rounded bfloat16 bits of a float64, by exact rational comparison with every bf16."""
    global _BF16_POSITIVE
    if _BF16_POSITIVE is None:
        finite = np.arange(0, 0x7F80, dtype=np.uint32)
        _BF16_POSITIVE = [Fraction(float(v)) for v in bf16_to_float64(finite)]
    sign = 0x8000 if (x < 0 or (x == 0 and np.copysign(1.0, x) < 0)) else 0
    if np.isnan(x):
        return sign | 0x7FC0
    if np.isinf(x):
        return sign | 0x7F80
    target = Fraction(abs(x))
    table = _BF16_POSITIVE
    lo, hi = 0, len(table) - 1
    if target >= table[hi]:
        # Past the largest finite value: halfway to 2^128 and beyond overflows (the tie goes to the even infinity).
        half_ulp_above = table[hi] + (table[hi] - table[hi - 1]) / 2
        return sign | (0x7F80 if target >= half_ulp_above else hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if table[mid] <= target:
            lo = mid
        else:
            hi = mid
    below, above = target - table[lo], table[hi] - target
    if below < above or (below == above and lo % 2 == 0):
        return sign | lo
    return sign | hi


# ---------------------------------------------------------------- safetensors reader and writer

def write_safetensors(path, tensors, metadata=None, order="alignment"):
    """tensors: list of (name, dtype, numpy array already in the dtype's storage type)."""
    items = list(tensors)
    if order == "alignment":
        items.sort(key=lambda t: (ALIGNMENT_ORDER.index(t[1]), t[0]))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    chunks, offset = [], 0
    for name, dtype, array in items:
        raw = np.ascontiguousarray(array, dtype=DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for raw in chunks:
            f.write(raw)


def read_safetensors(path):
    """Returns (metadata, [(name, dtype, shape, raw bytes, (begin, end))] in data order)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert 8 + n <= len(blob), "header length past end of file"
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    metadata = header.pop("__metadata__", None) or {}
    entries = []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        size = int(np.prod(info["shape"], dtype=np.int64)) * DTYPES[info["dtype"]].itemsize
        assert end - begin == size, f"{name}: byte length does not match shape"
        entries.append((name, info["dtype"], info["shape"], data[begin:end], (begin, end)))
    entries.sort(key=lambda e: e[4])
    cursor = 0
    for entry in entries:
        assert entry[4][0] == cursor, f"{entry[0]}: gap or overlap"
        cursor = entry[4][1]
    assert cursor == len(data), "data section not fully indexed"
    return metadata, entries


def to_float64(dtype, raw):
    if dtype == "BF16":
        return bf16_to_float64(np.frombuffer(raw, "<u2"))
    return np.frombuffer(raw, DTYPES[dtype]).astype(np.float64)


def hex64(values):
    return np.asarray(values, dtype="<f8").tobytes().hex()


def dump(path, digest):
    metadata, entries = read_safetensors(path)
    tensors = []
    for name, dtype, shape, raw, offsets in entries:
        values = to_float64(dtype, raw)
        item = {"name": name, "dtype": dtype, "shape": shape, "dataOffsets": list(offsets)}
        if digest:
            item["sha256"] = hashlib.sha256(raw).hexdigest()
            item["sum"] = float(values.sum())
            item["sumOfSquares"] = float((values * values).sum())
        else:
            item["hex"] = raw.hex()
            item["float64Hex"] = hex64(values)
        tensors.append(item)
    json.dump({"metadata": metadata, "tensors": tensors}, sys.stdout)


def shard(src, outdir, count):
    metadata, entries = read_safetensors(src)
    os.makedirs(outdir, exist_ok=True)
    # Contiguous runs of tensors, about the same number of bytes each, like transformers' max_shard_size.
    total = sum(len(e[3]) for e in entries)
    groups, current, size = [], [], 0
    for entry in entries:
        current.append(entry)
        size += len(entry[3])
        if size >= total * (len(groups) + 1) / count and len(groups) < count - 1:
            groups.append(current)
            current = []
    groups.append(current)
    weight_map = {}
    for i, group in enumerate(groups):
        name = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        tensors = [(e[0], e[1], np.frombuffer(e[3], DTYPES[e[1]]).reshape(e[2])) for e in group]
        write_safetensors(os.path.join(outdir, name), tensors, metadata, order="given")
        for e in group:
            weight_map[e[0]] = name
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(outdir, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
    json.dump({"shards": [f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors" for i in range(len(groups))]}, sys.stdout)


def round_values():
    """stdin: {"float64Hex": "..."}; stdout: bits of each value rounded to F32, F16 (numpy) and BF16."""
    request = json.load(sys.stdin)
    values = np.frombuffer(bytes.fromhex(request["float64Hex"]), "<f8")
    with np.errstate(over="ignore"):
        f32 = values.astype("<f4")
        f16 = values.astype("<f2")
    json.dump(
        {
            "f32": [int(b) for b in f32.view("<u4")],
            "f16": [int(b) for b in f16.view("<u2")],
            "bf16": [bf16_bits_exact(float(v)) for v in values],
            "bf16ViaFloat32": [int(b) for b in bf16_bits_from_float32(f32)],
        },
        sys.stdout,
    )


# ---------------------------------------------------------------- committed fixtures

def dtype_tensors():
    f32 = np.array([1.0, -2.5, 3.4028234663852886e38, 1e-45], dtype="<f4")
    return [
        ("float64.matrix", "F64", np.array([[0.1, -0.0, 1e308], [5e-324, np.inf, np.nan]], dtype="<f8")),
        ("float32.vector", "F32", f32),
        ("float32.scalar", "F32", np.array(np.float32(np.pi))),
        ("float32.empty", "F32", np.zeros((0, 3), dtype="<f4")),
        ("float16.matrix", "F16", np.array([[1.0, -65504.0], [6e-8, np.inf]], dtype="<f2")),
        ("bfloat16.vector", "BF16", bf16_bits_from_float32(np.array([1.0, 1.00390625, -3.1415927, 1e-40, np.float32(3.4e38)], dtype="<f4"))),
        ("int64.vector", "I64", np.array([2**53 + 1, -(2**63), 2**63 - 1, -7], dtype="<i8")),
        ("int32.vector", "I32", np.array([-(2**31), 2**31 - 1, 0], dtype="<i4")),
        ("int16.vector", "I16", np.array([-32768, 32767, -1], dtype="<i2")),
        ("int8.vector", "I8", np.array([-128, 127, 0, -1], dtype="i1")),
        ("uint8.vector", "U8", np.array([0, 1, 128, 255], dtype="u1")),
        ("bool.mask", "BOOL", np.array([True, False, True, True], dtype="?")),
    ]


def tfjs_fixture(outdir):
    """A layers-model model.json over two groups; group 1 spans two shard files with a weight straddling them."""
    rng = np.random.default_rng(7)
    kernel = rng.standard_normal((4, 3)).astype("<f4")
    bias = np.array([0.5, -0.25, 0.125], dtype="<f4")
    q8_source = rng.standard_normal((5, 4))
    q8_min, q8_max = float(q8_source.min()), float(q8_source.max())
    q8_scale = (q8_max - q8_min) / 255
    q8 = np.round((q8_source - q8_min) / q8_scale).astype("u1")
    ids = np.array([1, -2, 3, 2**31 - 1, -(2**31), 0], dtype="<i4")
    straddle = rng.standard_normal(7).astype("<f4")
    q16_scale, q16_min = 0.001, -1.5
    q16 = rng.integers(0, 65536, size=(3, 3)).astype("<u2")
    h16 = np.array([0.1, -2.0, 65504.0, 6e-8, 1.0, 0.333, -0.0, 1024.5, 3.0, 7.0], dtype="<f2")
    mask = np.array([1, 0, 0, 1, 1], dtype="u1")
    words = [b"siva", b"", "σ".encode("utf-8")]
    iq_scale, iq_min = 0.7, -3.0
    iq = np.array([0, 5, 10, 255], dtype="u1")
    extra = np.array([[2.0, 4.0]], dtype="<f4")

    group1 = [
        ({"name": "dense/kernel", "shape": [4, 3], "dtype": "float32"}, kernel.tobytes()),
        ({"name": "dense/bias", "shape": [3], "dtype": "float32"}, bias.tobytes()),
        ({"name": "embedding/q8", "shape": [5, 4], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": q8_scale, "min": q8_min}}, q8.tobytes()),
        ({"name": "vocab", "shape": [3], "dtype": "string"}, b"".join(struct.pack("<I", len(w)) + w for w in words)),
        ({"name": "ids", "shape": [6], "dtype": "int32"}, ids.tobytes()),
        ({"name": "straddle", "shape": [7], "dtype": "float32"}, straddle.tobytes()),
        ({"name": "dense_1/q16", "shape": [3, 3], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": q16_scale, "min": q16_min}}, q16.tobytes()),
        ({"name": "dense_1/h16", "shape": [10], "dtype": "float32", "quantization": {"dtype": "float16"}}, h16.tobytes()),
        ({"name": "mask", "shape": [5], "dtype": "bool"}, mask.tobytes()),
        ({"name": "int/q8", "shape": [4], "dtype": "int32", "quantization": {"dtype": "uint8", "scale": iq_scale, "min": iq_min}}, iq.tobytes()),
    ]
    blob = b"".join(raw for _, raw in group1)
    straddle_start = sum(len(raw) for _, raw in group1[:5])
    cut = straddle_start + 10  # inside "straddle": 10 of its 28 bytes in shard 1
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "group1-shard1of2.bin"), "wb") as f:
        f.write(blob[:cut])
    with open(os.path.join(outdir, "group1-shard2of2.bin"), "wb") as f:
        f.write(blob[cut:])
    with open(os.path.join(outdir, "group2-shard1of1.bin"), "wb") as f:
        f.write(extra.tobytes())
    model = {
        "format": "layers-model",
        "generatedBy": "safetensors_numpy.py (SiVA Studio test fixture)",
        "convertedBy": None,
        "modelTopology": {"class_name": "Sequential", "config": {"name": "fixture", "layers": []}},
        "weightsManifest": [
            {"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"], "weights": [spec for spec, _ in group1]},
            {"paths": ["group2-shard1of1.bin"], "weights": [{"name": "extra", "shape": [1, 2], "dtype": "float32"}]},
        ],
    }
    with open(os.path.join(outdir, "model.json"), "w") as f:
        json.dump(model, f, indent=1)

    def dequantized(q, scale, minimum):
        # tfjs: q*scale + min in float64, stored in a Float32Array
        return (q.astype(np.float64) * scale + minimum).astype("<f4").astype(np.float64)

    expected = {
        "dense/kernel": ("F32", kernel.astype(np.float64)),
        "dense/bias": ("F32", bias.astype(np.float64)),
        "embedding/q8": ("F32", dequantized(q8, q8_scale, q8_min)),
        "ids": ("I32", ids.astype(np.float64)),
        "straddle": ("F32", straddle.astype(np.float64)),
        "dense_1/q16": ("F32", dequantized(q16, q16_scale, q16_min)),
        "dense_1/h16": ("F32", h16.astype(np.float64)),
        "mask": ("BOOL", mask.astype(np.float64)),
        # tfjs rounds dequantised int32 weights with Math.round (halves toward +infinity)
        "int/q8": ("I32", np.floor(iq.astype(np.float64) * iq_scale + iq_min + 0.5)),
        "extra": ("F32", extra.astype(np.float64)),
    }
    return {
        "straddleStart": straddle_start,
        "shard1Bytes": cut,
        "tensors": {name: {"dtype": d, "float64Hex": hex64(v.ravel())} for name, (d, v) in expected.items()},
        "unreadable": ["vocab"],
    }


def fixtures(outdir):
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "dtypes.safetensors")
    metadata = {"format": "pt", "written_by": "safetensors_numpy.py", "note": "σ ≥ 0, unicode survives"}
    write_safetensors(path, dtype_tensors(), metadata)
    tfjs = tfjs_fixture(os.path.join(outdir, "tfjs"))
    with open(os.path.join(outdir, "tfjs.expected.json"), "w") as f:
        json.dump(tfjs, f, indent=1)
        f.write("\n")


def main(argv):
    if len(argv) >= 2 and argv[0] == "fixtures":
        fixtures(argv[1])
    elif len(argv) >= 2 and argv[0] == "dump":
        dump(argv[1], "--digest" in argv[2:])
    elif len(argv) == 4 and argv[0] == "shard":
        shard(argv[1], argv[2], int(argv[3]))
    elif argv[:1] == ["round"]:
        round_values()
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
