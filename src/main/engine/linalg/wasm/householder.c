#include "householder.h"
#include "alloc.h"
#include "blas.h"

double householder_make(int n, double *alpha, double *x, int incx) {
  if (n <= 1) return 0.0;
  double xnorm = vnrm2(n - 1, x, incx);
  if (xnorm == 0.0) return 0.0; /* already of the form (alpha, 0): H = I */
  /* beta = −sign(alpha)·‖(alpha, x)‖ makes alpha − beta a sum of like-signed terms: no cancellation. */
  double beta = -dsign(dhypot(*alpha, xnorm), *alpha);
  double tau = (beta - *alpha) / beta;
  double scale = 1.0 / (*alpha - beta);
  for (int i = 0; i < n - 1; i++) x[i * incx] *= scale;
  *alpha = beta;
  return tau;
}

void householder_apply_left(int m, int n, const double *v, double tau, double *c, int ldc, double *work) {
  if (tau == 0.0) return;
  gemv_t(m, n, c, ldc, v, 0.0, work); /* w = Cᵀv */
  for (int j = 0; j < n; j++) vaxpy(m, -tau * work[j], v, c + (size_t)j * ldc);
}

void householder_block_t(int m, int k, const double *v, int ldv, const double *tau, double *t, int ldt) {
  /* Column i of T is −τ_i·T[0:i,0:i]·(V[:,0:i]ᵀv_i), from H₀⋯H_i = (I − V T Vᵀ)(I − τ_i v_i v_iᵀ). All the
   * inner products at once as one GEMM, G = VᵀV (upper part used), then the small triangular recurrence. */
  size_t mark = ws_mark();
  double *g = ws_doubles((size_t)k * k);
  gemm(1, 0, k, k, m, 1.0, v, ldv, v, ldv, 0.0, g, k);
  for (int i = 0; i < k; i++) {
    double *ti = t + (size_t)i * ldt;
    for (int r = i + 1; r < k; r++) ti[r] = 0.0;
    ti[i] = tau[i];
    for (int r = 0; r < i; r++) ti[r] = -tau[i] * g[r + (size_t)i * k];
    /* ti ← T[0:i,0:i]·ti, upper triangular, in place top-down. */
    for (int r = 0; r < i; r++) {
      double s = 0.0;
      for (int c = r; c < i; c++) s += t[r + (size_t)c * ldt] * ti[c];
      ti[r] = s;
    }
  }
  ws_release(mark);
}

void householder_block_apply(int transpose_t, int m, int n, int k, const double *v, int ldv, const double *t,
                             int ldt, double *c, int ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  size_t mark = ws_mark();
  /* Work with Wᵀ (n×k) rather than W: the long dimension m is then the inner one of CᵀV, which packs
   * and runs faster than the k-row product VᵀC. */
  double *wt = ws_doubles((size_t)n * k), *w2t = ws_doubles((size_t)n * k);
  gemm(1, 0, n, k, m, 1.0, c, ldc, v, ldv, 0.0, wt, n);                    /* Wᵀ = CᵀV */
  gemm(0, !transpose_t, n, k, k, 1.0, wt, n, t, ldt, 0.0, w2t, n);         /* Wᵀ ← Wᵀ·op(T)ᵀ */
  gemm(0, 1, m, n, k, -1.0, v, ldv, w2t, n, 1.0, c, ldc);                  /* C −= V·W */
  ws_release(mark);
}

void householder_unpack(int m, int k, const double *a, int lda, double *v, int ldv) {
  for (int j = 0; j < k; j++) {
    double *vj = v + (size_t)j * ldv;
    const double *aj = a + (size_t)j * lda;
    for (int i = 0; i < j && i < m; i++) vj[i] = 0.0;
    if (j < m) vj[j] = 1.0;
    for (int i = j + 1; i < m; i++) vj[i] = aj[i];
  }
}

void householder_apply_q(int m, int n, int k, const double *a, int lda, const double *tau, double *c, int ldc) {
  if (k <= 0 || n <= 0) return;
  size_t mark = ws_mark();
  const int nbmax = HH_APPLY_BLOCK;
  double *v = ws_doubles((size_t)m * nbmax), *t = ws_doubles((size_t)nbmax * nbmax);
  /* Q·C = B₀(B₁(⋯C)): the last block acts first. Block b touches rows j0.. only. */
  for (int j0 = ((k - 1) / nbmax) * nbmax; j0 >= 0; j0 -= nbmax) {
    int nb = imin(nbmax, k - j0), rows = m - j0;
    householder_unpack(rows, nb, a + j0 + (size_t)j0 * lda, lda, v, rows);
    householder_block_t(rows, nb, v, rows, tau + j0, t, nbmax);
    householder_block_apply(0, rows, n, nb, v, rows, t, nbmax, c + j0, ldc);
  }
  ws_release(mark);
}
