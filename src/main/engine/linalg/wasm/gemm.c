/* Matrix-matrix product, BLIS style: op(A) and op(B) are copied ("packed") into contiguous micro-panels
 * of MR rows and NR columns, so that the inner kernel streams both operands linearly while an MR×NR block
 * of C stays in registers. Packing also absorbs the transposes and alpha. Block sizes: an MC×KC panel of
 * A (~200 KB) stays in L2, a KC×NR sliver of B (8 KB) in L1. The multiply-adds are vmadd (simd.h): one fused
 * multiply-add per lane pair in the relaxed-SIMD build. Measured on V8: 4×4 is the register-blocking sweet
 * spot (4×6, or this kernel unrolled twice over p, spills and runs at half the speed). */
#include "blas.h"
#include "simd.h"

#define MR 4
#define NR 4
#define KC 256
#define MC 96
#define NC 1024

static double packed_a[MC * KC] __attribute__((aligned(64)));
static double packed_b[KC * NC] __attribute__((aligned(64)));

static inline double elem(const double *x, int ld, int trans, int i, int j) {
  return trans ? x[j + (size_t)i * ld] : x[i + (size_t)j * ld];
}

/* op(A)[i0:i0+mc, p0:p0+kc]·alpha into MR-row slivers, zero-padded to a multiple of MR. */
static void pack_a(int trans, const double *a, int lda, int i0, int p0, int mc, int kc, double alpha) {
  double *dst = packed_a;
  for (int ir = 0; ir < mc; ir += MR) {
    int rows = imin(MR, mc - ir);
    if (!trans && rows == MR) {
      for (int p = 0; p < kc; p++) {
        const double *src = a + (i0 + ir) + (size_t)(p0 + p) * lda;
        dst[0] = alpha * src[0]; dst[1] = alpha * src[1]; dst[2] = alpha * src[2]; dst[3] = alpha * src[3];
        dst += MR;
      }
    } else if (trans && rows == MR) {
      /* Rows of op(A) are columns of A: four contiguous streams. */
      const double *r0 = a + p0 + (size_t)(i0 + ir) * lda, *r1 = r0 + lda, *r2 = r1 + lda, *r3 = r2 + lda;
      for (int p = 0; p < kc; p++) {
        dst[0] = alpha * r0[p]; dst[1] = alpha * r1[p]; dst[2] = alpha * r2[p]; dst[3] = alpha * r3[p];
        dst += MR;
      }
    } else {
      for (int p = 0; p < kc; p++) {
        for (int r = 0; r < MR; r++) dst[r] = r < rows ? alpha * elem(a, lda, trans, i0 + ir + r, p0 + p) : 0.0;
        dst += MR;
      }
    }
  }
}

/* op(B)[p0:p0+kc, j0:j0+nc] into NR-column slivers, zero-padded. */
static void pack_b(int trans, const double *b, int ldb, int p0, int j0, int kc, int nc) {
  double *dst = packed_b;
  for (int jr = 0; jr < nc; jr += NR) {
    int cols = imin(NR, nc - jr);
    if (!trans && cols == NR) {
      const double *c0 = b + p0 + (size_t)(j0 + jr) * ldb;
      const double *c1 = c0 + ldb, *c2 = c1 + ldb, *c3 = c2 + ldb;
      for (int p = 0; p < kc; p++) {
        dst[0] = c0[p]; dst[1] = c1[p]; dst[2] = c2[p]; dst[3] = c3[p];
        dst += NR;
      }
    } else if (trans && cols == NR) {
      for (int p = 0; p < kc; p++) {
        const double *src = b + (j0 + jr) + (size_t)(p0 + p) * ldb;
        dst[0] = src[0]; dst[1] = src[1]; dst[2] = src[2]; dst[3] = src[3];
        dst += NR;
      }
    } else {
      for (int p = 0; p < kc; p++) {
        for (int c = 0; c < NR; c++) dst[c] = c < cols ? elem(b, ldb, trans, p0 + p, j0 + jr + c) : 0.0;
        dst += NR;
      }
    }
  }
}

/* acc[MR×NR] = Ap·Bp over kc; result added to C (all of it, or the rows×cols corner at an edge). */
static void kernel(int kc, const double *ap, const double *bp, double *c, int ldc, int rows, int cols) {
  v128_t c00 = wasm_f64x2_splat(0.0), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int p = 0; p < kc; p++) {
    v128_t a0 = wasm_v128_load(ap), a1 = wasm_v128_load(ap + 2);
    v128_t b0 = wasm_v128_load64_splat(bp), b1 = wasm_v128_load64_splat(bp + 1);
    c00 = vmadd(a0, b0, c00);
    c01 = vmadd(a1, b0, c01);
    c10 = vmadd(a0, b1, c10);
    c11 = vmadd(a1, b1, c11);
    v128_t b2 = wasm_v128_load64_splat(bp + 2), b3 = wasm_v128_load64_splat(bp + 3);
    c20 = vmadd(a0, b2, c20);
    c21 = vmadd(a1, b2, c21);
    c30 = vmadd(a0, b3, c30);
    c31 = vmadd(a1, b3, c31);
    ap += MR;
    bp += NR;
  }
  if (rows == MR && cols == NR) {
    double *q0 = c, *q1 = c + ldc, *q2 = q1 + ldc, *q3 = q2 + ldc;
    wasm_v128_store(q0, wasm_f64x2_add(wasm_v128_load(q0), c00));
    wasm_v128_store(q0 + 2, wasm_f64x2_add(wasm_v128_load(q0 + 2), c01));
    wasm_v128_store(q1, wasm_f64x2_add(wasm_v128_load(q1), c10));
    wasm_v128_store(q1 + 2, wasm_f64x2_add(wasm_v128_load(q1 + 2), c11));
    wasm_v128_store(q2, wasm_f64x2_add(wasm_v128_load(q2), c20));
    wasm_v128_store(q2 + 2, wasm_f64x2_add(wasm_v128_load(q2 + 2), c21));
    wasm_v128_store(q3, wasm_f64x2_add(wasm_v128_load(q3), c30));
    wasm_v128_store(q3 + 2, wasm_f64x2_add(wasm_v128_load(q3 + 2), c31));
    return;
  }
  double t[MR * NR] __attribute__((aligned(16)));
  wasm_v128_store(t, c00); wasm_v128_store(t + 2, c01);
  wasm_v128_store(t + 4, c10); wasm_v128_store(t + 6, c11);
  wasm_v128_store(t + 8, c20); wasm_v128_store(t + 10, c21);
  wasm_v128_store(t + 12, c30); wasm_v128_store(t + 14, c31);
  for (int j = 0; j < cols; j++)
    for (int i = 0; i < rows; i++) c[i + (size_t)j * ldc] += t[i + j * MR];
}

void gemm(int transa, int transb, int m, int n, int k, double alpha, const double *a, int lda,
          const double *b, int ldb, double beta, double *c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (beta != 1.0)
    for (int j = 0; j < n; j++) {
      double *col = c + (size_t)j * ldc;
      /* beta = 0 overwrites, so that stale NaNs in C never leak through 0·NaN. */
      if (beta == 0.0) for (int i = 0; i < m; i++) col[i] = 0.0;
      else for (int i = 0; i < m; i++) col[i] *= beta;
    }
  if (k <= 0 || alpha == 0.0) return;
  for (int j0 = 0; j0 < n; j0 += NC) {
    int nc = imin(NC, n - j0);
    for (int p0 = 0; p0 < k; p0 += KC) {
      int kc = imin(KC, k - p0);
      pack_b(transb, b, ldb, p0, j0, kc, nc);
      for (int i0 = 0; i0 < m; i0 += MC) {
        int mc = imin(MC, m - i0);
        pack_a(transa, a, lda, i0, p0, mc, kc, alpha);
        for (int jr = 0; jr < nc; jr += NR)
          for (int ir = 0; ir < mc; ir += MR)
            kernel(kc, packed_a + (size_t)ir * kc, packed_b + (size_t)jr * kc, c + (i0 + ir) + (size_t)(j0 + jr) * ldc,
                   ldc, imin(MR, mc - ir), imin(NR, nc - jr));
      }
    }
  }
}
