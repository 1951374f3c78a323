"""numpy's side of bench/inspect.ts: the same matrices as `siva inspect` (tests/reference/
spectra_reference.py decides which), read and decomposed one after another with LAPACK, timed inside
Python. Prints JSON: seconds, and every matrix's singular values for the agreement check.

usage: python3 bench/numpy_inspect.py CHECKPOINT.safetensors [--values-only]
"""
import json
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "reference"))
from spectra_reference import EMBEDDING, read_safetensors  # noqa: E402


def main():
    path = sys.argv[1]
    values_only = "--values-only" in sys.argv
    start = time.perf_counter()
    out = {}
    for name, (dtype, shape, arr) in read_safetensors(path).items():
        if len(shape) != 2 or EMBEDDING.search(name):
            continue
        a = arr.astype(np.float64)
        blocks = [(name, a)]
        if re.search(r"(^|\.)attn\.c_attn\.weight$", name) and shape[1] == 3 * shape[0]:
            w = shape[0]
            blocks = [(f"{name}.{p}", a[:, i * w:(i + 1) * w]) for i, p in enumerate("qkv")]
        for block_name, m in blocks:
            if values_only:
                s = np.linalg.svd(m, compute_uv=False)
            else:
                _, s, _ = np.linalg.svd(m, full_matrices=False)
            out[block_name] = s.tolist()
    seconds = time.perf_counter() - start
    json.dump({"seconds": seconds, "singularValues": out}, sys.stdout)


if __name__ == "__main__":
    main()
