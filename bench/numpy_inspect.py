"""numpy's side of bench/inspect.ts: the same matrices as `siva inspect` (tests/reference/
spectra_reference.py decides which), read and decomposed one after another with LAPACK, timed inside
Python. Prints JSON: seconds, every matrix's singular values for the agreement check, and the OpenBLAS
numpy ran on (bench/openblas_info.py; bench/inspect sets OPENBLAS_CORETYPE).

usage: python3 bench/numpy_inspect.py CHECKPOINT.safetensors [--values-only]
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "reference"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openblas_info import openblas_info  # noqa: E402
from spectra_reference import matrices  # noqa: E402


def main():
    path = sys.argv[1]
    values_only = "--values-only" in sys.argv
    start = time.perf_counter()
    out = {}
    for block_name, _, _, m in matrices(path):
        if values_only:
            s = np.linalg.svd(m, compute_uv=False)
        else:
            _, s, _ = np.linalg.svd(m, full_matrices=False)
        out[block_name] = s.tolist()
    seconds = time.perf_counter() - start
    json.dump({"seconds": seconds, "singularValues": out, "openblas": openblas_info(), "numpy": np.__version__, "python": sys.executable}, sys.stdout)


if __name__ == "__main__":
    main()
