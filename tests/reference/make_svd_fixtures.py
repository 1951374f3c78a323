"""Reference fixtures for the SVD kernel (tests/unit/linalg/svd.test.ts), from numpy's LAPACK (gesdd).

usage: python3 tests/reference/make_svd_fixtures.py [OUT_DIR]   (default tests/fixtures/svd)

Writes manifest.json and, per case, raw little-endian float64 files:
  NAME.a.bin   the m×n matrix, row-major
  NAME.s.bin   numpy's r singular values, descending
  NAME.ub.bin  numpy's U[:, r−kmax:]   (m×kmax, row-major): bottom left singular vectors
  NAME.vb.bin  numpy's Vᵀ[r−kmax:, :]  (kmax×n, row-major): bottom right singular vectors
kmax is the largest k in the case's `ks`, the bottom-subspace sizes the test compares (only where the gap
σ_{r−k} − σ_{r−k+1} ≥ 1e-3·σ_max makes the subspace well defined). Fixed seeds: the files are reproducible.
"""
import json
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "svd")


def orthonormal(rng, m, k):
    q, r = np.linalg.qr(rng.standard_normal((m, k)))
    return q * np.sign(np.diag(r))


def from_spectrum(rng, m, n, sigma):
    """U·diag(σ)·Vᵀ with Haar-like random U, V: a matrix whose singular values we choose."""
    r = len(sigma)
    return (orthonormal(rng, m, r) * np.asarray(sigma)) @ orthonormal(rng, n, r).T


def default_ks(r):
    return sorted({1, max(1, round(0.1 * r)), max(1, round(0.25 * r))})


def with_a_gap(ks, s):
    """ks plus, when none of them has a gap σ_{r−k} − σ_{r−k+1} ≥ 1e-3·σ_max (graded and geometric
    spectra), the smallest k that has one, so that every case compares at least one subspace."""
    r = len(s)
    gapped = lambda k: 0 < k < r and s[r - k - 1] - s[r - k] >= 1e-3 * s[0]
    if r < 2 or s[0] == 0 or any(gapped(k) for k in ks):
        return ks
    extra = next((k for k in range(1, r) if gapped(k)), None)
    return sorted(set(ks) | ({extra} if extra else set()))


def cases():
    rng = np.random.default_rng(20240601)
    yield "random-64x64", rng.standard_normal((64, 64)), {}
    yield "random-200x200", rng.standard_normal((200, 200)), {}
    yield "tall-300x70", rng.standard_normal((300, 70)), {}
    yield "wide-70x300", rng.standard_normal((70, 300)), {}
    yield "tall-513x129", rng.standard_normal((513, 129)), {}
    yield "wide-129x513", rng.standard_normal((129, 513)), {}
    yield "cond1e6-120x100", from_spectrum(rng, 120, 100, np.geomspace(1.0, 1e-6, 100)), {}
    yield "cond1e12-100x100", from_spectrum(rng, 100, 100, np.geomspace(1.0, 1e-12, 100)), {}
    yield "cond1e15-90x140", from_spectrum(rng, 90, 140, np.geomspace(3.0, 3e-15, 90)), {}
    low = rng.standard_normal((100, 10)) @ rng.standard_normal((10, 80))
    yield "rank10-100x80", low, {"ks": default_ks(80) + [70]}
    # r = 1: the one singular pair is pinned down by orthonormality and reconstruction alone.
    yield "row-1x50", rng.standard_normal((1, 50)), {"ks": []}
    yield "column-60x1", rng.standard_normal((60, 1)), {"ks": []}
    clustered = np.concatenate([np.full(10, 5.0), np.full(20, 3.0), 2.0 + 1e-10 * np.arange(15), np.geomspace(1.0, 1e-3, 15)])
    yield "clustered-90x60", from_spectrum(rng, 90, 60, clustered), {"ks": [1, 6, 15, 30, 50]}
    graded = rng.standard_normal((80, 60)) * np.logspace(0, -12, 80)[:, None]
    yield "graded-rows-80x60", graded, {}
    yield "zero-20x30", np.zeros((20, 30)), {"ks": []}
    yield "identity-50x50", np.eye(50), {"ks": []}
    # GPT-like weight: heavy-tailed entries (Student t, 3 dof) at GPT-2's 0.02 scale plus a few strong
    # directions, so the spectrum has outliers at the top and a long tail.
    gpt = 0.02 * rng.standard_t(3, size=(256, 768)) + from_spectrum(rng, 256, 768, [4.0, 2.5, 1.5, 1.0])
    yield "gpt-like-256x768", gpt, {}


def write(name, array):
    np.ascontiguousarray(array, dtype="<f8").tofile(os.path.join(OUT, name))


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"generator": "tests/reference/make_svd_fixtures.py", "numpy": np.__version__, "cases": []}
    for name, a, extra in cases():
        a = np.ascontiguousarray(a, dtype=np.float64)
        m, n = a.shape
        r = min(m, n)
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        ks = extra["ks"] if "ks" in extra else with_a_gap(default_ks(r), s)
        kmax = max(ks) if ks else 0
        write(f"{name}.a.bin", a)
        write(f"{name}.s.bin", s)
        if kmax:
            write(f"{name}.ub.bin", u[:, r - kmax :])
            write(f"{name}.vb.bin", vt[r - kmax :, :])
        manifest["cases"].append({"name": name, "m": m, "n": n, "ks": ks, "kmax": kmax})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
