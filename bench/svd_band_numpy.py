"""numpy's side of bench/svd-band.ts: times np.linalg.svd (LAPACK gesdd, all vectors) on the bench's matrix,
and measures the accuracy of a band of singular vectors, ours (from files) and numpy's own, with BLAS.

usage: python3 bench/svd_band_numpy.py A.f64 M N START END REPEATS [U.f64 VT.f64 S.f64]
  A.f64: row-major float64 m×n; U.f64: m×k, VT.f64: k×n, S.f64: all r singular values (ours).
Prints one JSON object: seconds (best of REPEATS), openblas, and, given ours, the accuracy of both.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openblas_info import openblas_info  # noqa: E402


def band_accuracy(a, s_band, u, vt):
    """Largest residuals ‖A vᵢ − σᵢ uᵢ‖, ‖Aᵀuᵢ − σᵢ vᵢ‖ and orthogonality errors max|UᵀU − I|, max|VᵀV − I|."""
    k = u.shape[1]
    eye = np.eye(k)
    right = np.linalg.norm(a @ vt.T - u * s_band, axis=0).max()
    left = np.linalg.norm(a.T @ u - vt.T * s_band, axis=0).max()
    return {
        "residualRight": float(right),
        "residualLeft": float(left),
        "orthogonalityU": float(np.abs(u.T @ u - eye).max()),
        "orthogonalityV": float(np.abs(vt @ vt.T - eye).max()),
    }


def sin_angle(p, q):
    """sin of the largest principal angle between span(p) and span(q) (orthonormal columns), accurate for small angles."""
    return float(np.linalg.norm(q - p @ (p.T @ q), 2))


def main():
    path, m, n, start, end, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    a = np.fromfile(path, dtype="<f8").reshape(m, n)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        best = min(best, time.perf_counter() - t)
    out = {"seconds": best, "openblas": openblas_info(), "numpy": np.__version__, "python": sys.executable}
    if len(sys.argv) > 7:
        k = end - start
        ours_u = np.fromfile(sys.argv[7], dtype="<f8").reshape(m, k)
        ours_vt = np.fromfile(sys.argv[8], dtype="<f8").reshape(k, n)
        ours_s = np.fromfile(sys.argv[9], dtype="<f8")
        r = min(m, n)
        gap_above = s[start - 1] - s[start] if start > 0 else float("inf")
        gap_below = s[end - 1] - s[end] if end < r else float("inf")
        out.update(
            {
                "sigmaMax": float(s[0]),
                "sigmaBandError": float(np.abs(ours_s[start:end] - s[start:end]).max()),
                "sigmaAllError": float(np.abs(ours_s - s).max()),
                "ours": band_accuracy(a, ours_s[start:end], ours_u, ours_vt),
                "numpyBand": band_accuracy(a, s[start:end], u[:, start:end], vt[start:end]),
                "gap": float(min(gap_above, gap_below)),
                "sinU": sin_angle(u[:, start:end], ours_u),
                "sinV": sin_angle(vt[start:end].T, ours_vt.T),
            }
        )
    json.dump(out, sys.stdout)


main()
