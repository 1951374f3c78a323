"""Independent numpy reference for the spectral and low-rank methods (src/main/engine/peft).

usage: python3 tests/reference/peft_reference.py IN.safetensors < request.json

IN.safetensors holds `W` ([out, in], F64) and, per request, the method's trained values (`delta` for
siva/topk/svdiff, `A` [r, in] and `B` [out, r] for lora). request.json: {"method": ..., "k": k,
"scaling": alpha/r}. Prints JSON {"delta_w": hex of float64 [out·in], "s_before": [...], "s_after": [...]}
computed from numpy's own SVD (LAPACK gesdd): the band of singular vectors is chosen here, not taken
from the code under test.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_numpy import read_safetensors, to_float64  # noqa: E402


def load(path):
    _, tensors = read_safetensors(path)
    return {name: to_float64(dtype, raw).reshape(shape) for name, dtype, shape, raw, _ in tensors}


def main():
    tensors = load(sys.argv[1])
    request = json.load(sys.stdin)
    w = tensors["W"]
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    r = len(s)
    method = request["method"]
    if method in ("siva", "topk"):
        k = request["k"]
        band = slice(r - k, r) if method == "siva" else slice(0, k)
        delta = tensors["delta"].reshape(-1)
        dw = u[:, band] @ np.diag(delta) @ vt[band, :]
    elif method == "svdiff":
        delta = tensors["delta"].reshape(-1)
        dw = u @ np.diag(np.maximum(s + delta, 0) - s) @ vt
    elif method == "lora":
        dw = request["scaling"] * tensors["B"] @ tensors["A"]
    else:
        raise SystemExit(f"unknown method {method}")
    after = np.linalg.svd(w + dw, compute_uv=False)
    print(json.dumps({"delta_w": np.ascontiguousarray(dw, dtype="<f8").tobytes().hex(), "s_before": s.tolist(), "s_after": after.tolist()}))


if __name__ == "__main__":
    main()
