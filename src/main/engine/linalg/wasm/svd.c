/* SVD driver and the module's exports (dgesdd-class pipeline, own implementation):
 *   1. Work on a tall p×q matrix X (p ≥ q): X = A, or X = Aᵀ when A is wide (A = V Σ Uᵀ then).
 *   2. Scale by a power of two so that max|x_ij| ∈ [0.5, 1): exact, and keeps every intermediate in range.
 *   3. If p ≥ 1.6·q, QR first (X = Q_r·R) and continue with the q×q R: fewer flops, mostly GEMM.
 *   4. Bidiagonalise: Qᵀ·X·P = B.
 *   5. SVD of B: divide and conquer with vectors, or QR iteration for values only.
 *   6. Back-transform: U = Q_r·Q·U_B, V = P·V_B, with blocked reflectors.
 * Row-major input and outputs, as the host stores them; the transposes cost O(mn). */
#include "alloc.h"
#include "bdsdc.h"
#include "bdsqr.h"
#include "bidiag.h"
#include "blas.h"
#include "driver.h"
#include "householder.h"
#include "qr.h"
#include "sort.h"

#define QR_FIRST_RATIO 1.6

/* Phase timings for development builds (-DSVD_PROFILE, the host supplies env.profile_mark). */
#ifdef SVD_PROFILE
__attribute__((import_module("env"), import_name("profile_mark"))) void profile_mark(int phase);
#define PROFILE(phase) profile_mark(phase)
#else
#define PROFILE(phase) ((void)0)
#endif

__attribute__((export_name("sv_reset"))) void sv_reset(void) { ws_reset(); }

__attribute__((export_name("sv_alloc"))) double *sv_alloc(int count) { return ws_doubles((size_t)count); }

static void set_identity(int rows, int cols, double *x, int ld) {
  for (int j = 0; j < cols; j++)
    for (int i = 0; i < rows; i++) x[i + (size_t)j * ld] = i == j ? 1.0 : 0.0;
}

/* Columns of src (rows×q) in the order perm into dst (ld ldd). */
static void permute_columns(int rows, int q, const int *perm, const double *src, int lds, double *dst, int ldd) {
  for (int j = 0; j < q; j++) mcopy(rows, 1, src + (size_t)perm[j] * lds, lds, dst + (size_t)j * ldd, ldd);
}

int driver_qr_first(int p, int q, int flags) {
  return !(flags & FLAG_NO_QR_FIRST) && (double)p >= QR_FIRST_RATIO * q && q > 1;
}

int driver_scale(const double *a, size_t total, double *scale) {
  double amax = 0.0;
  for (size_t i = 0; i < total; i++) {
    double t = a[i];
    if (t - t != 0.0) return SVD_NOT_FINITE; /* NaN or ±Inf */
    amax = dmax(amax, dabs(t));
  }
  if (amax == 0.0) {
    *scale = 0.0;
    return SVD_OK;
  }
  double s = 1.0;
  while (amax * s >= 1.0) s *= 0.5;
  while (amax * s < 0.5) s *= 2.0;
  *scale = s;
  return SVD_OK;
}

double *driver_tall_copy(const double *a, int m, int n, double scale) {
  size_t total = (size_t)m * n;
  double *x = ws_doubles(total);
  if (m >= n) mtranspose(n, m, a, n, x, m); /* row-major A is column-major Aᵀ */
  else for (size_t i = 0; i < total; i++) x[i] = a[i];
  vscal((int)total, scale, x);
  return x;
}

int *driver_order_descending(int q, const double *d) {
  int *perm = ws_ints((size_t)q), *tmp = ws_ints((size_t)q);
  double *key = ws_doubles((size_t)q);
  for (int i = 0; i < q; i++) perm[i] = i, key[i] = -d[i];
  sort_by_key(q, perm, key, tmp);
  return perm;
}

/* SVD of the tall p×q X (overwritten). s gets q values descending (unscaled); with vectors, ux (p×q, ld p)
 * and vx (q×q, ld q) the singular vectors: X = ux·diag(s)·vxᵀ. */
static int svd_tall(int p, int q, double *x, double *s, double *ux, double *vx, int want_vectors, int flags) {
  double *d = ws_doubles((size_t)q), *e = ws_doubles((size_t)q);
  double *tauq = ws_doubles((size_t)q), *taup = ws_doubles((size_t)q);
  int qr_first = driver_qr_first(p, q, flags);
  double *b = x, *tau_r = 0;
  int pb = p;
  PROFILE(0);
  if (qr_first) {
    tau_r = ws_doubles((size_t)q);
    qr_factor(p, q, x, p, tau_r);
    b = ws_doubles((size_t)q * q);
    for (int j = 0; j < q; j++)
      for (int i = 0; i < q; i++) b[i + (size_t)j * q] = i <= j ? x[i + (size_t)j * p] : 0.0;
    pb = q;
  }
  PROFILE(1);
  bidiag_reduce(pb, q, b, pb, d, e, tauq, taup);
  PROFILE(2);

  if (!want_vectors) {
    if (bdsqr(q, d, e, 0, 0, 0, 0, 0, 0)) return SVD_NO_CONVERGENCE;
    int *perm = driver_order_descending(q, d);
    for (int i = 0; i < q; i++) s[i] = d[perm[i]];
    return SVD_OK;
  }

  double *ub = ws_doubles((size_t)q * q), *vb = ws_doubles((size_t)q * q);
  int status;
  if (flags & FLAG_QR_ITERATION) {
    set_identity(q, q, ub, q);
    set_identity(q, q, vb, q);
    status = bdsqr(q, d, e, ub, q, q, vb, q, q);
  } else {
    status = bdsdc(q, d, e, ub, q, vb, q);
  }
  if (status) return SVD_NO_CONVERGENCE;
  PROFILE(3);
  int *perm = driver_order_descending(q, d);
  for (int i = 0; i < q; i++) s[i] = d[perm[i]];

  /* Left: ux = [U_B; 0], then Q (and Q_r) from the left. */
  if (qr_first) {
    double *ur = ws_doubles((size_t)q * q);
    permute_columns(q, q, perm, ub, q, ur, q);
    householder_apply_q(q, q, q, b, q, tauq, ur, q);
    for (int j = 0; j < q; j++)
      for (int i = 0; i < p; i++) ux[i + (size_t)j * p] = i < q ? ur[i + (size_t)j * q] : 0.0;
    householder_apply_q(p, q, q, x, p, tau_r, ux, p);
  } else {
    for (int j = 0; j < q; j++) {
      mcopy(q, 1, ub + (size_t)perm[j] * q, q, ux + (size_t)j * p, p);
      for (int i = q; i < p; i++) ux[i + (size_t)j * p] = 0.0;
    }
    householder_apply_q(p, q, q, b, p, tauq, ux, p);
  }

  PROFILE(4);
  /* Right: vx = P·V_B. Reflector i of P acts on rows i+1..; copy them to column form for apply_q. */
  permute_columns(q, q, perm, vb, q, vx, q);
  if (q > 1) {
    int r = q - 1;
    double *ps = ws_doubles((size_t)r * r);
    for (int i = 0; i < r; i++)
      for (int j = i + 1; j < r; j++) ps[j + (size_t)i * r] = b[i + (size_t)(j + 1) * pb];
    householder_apply_q(r, q, r, ps, r, taup, vx + 1, q);
  }
  PROFILE(5);
  return SVD_OK;
}

/* A (row-major m×n) → s (min(m,n)), u (row-major m×r), vt (row-major r×n). a is not modified. */
__attribute__((export_name("sv_svd"))) int sv_svd(const double *a, int m, int n, double *s, double *u, double *vt,
                                                  int want_vectors, int flags) {
  size_t mark = ws_mark();
  size_t total = (size_t)m * n;
  int p = imax(m, n), q = imin(m, n);
  double scale;
  if (driver_scale(a, total, &scale) != SVD_OK) return SVD_NOT_FINITE;
  if (scale == 0.0) {
    for (int i = 0; i < q; i++) s[i] = 0.0;
    if (want_vectors) {
      for (int i = 0; i < m; i++)
        for (int j = 0; j < q; j++) u[(size_t)i * q + j] = i == j ? 1.0 : 0.0;
      for (int j = 0; j < q; j++)
        for (int l = 0; l < n; l++) vt[(size_t)j * n + l] = j == l ? 1.0 : 0.0;
    }
    return SVD_OK;
  }
  double *x = driver_tall_copy(a, m, n, scale);

  int status;
  if (m >= n) {
    double *ux = want_vectors ? ws_doubles(total) : 0;
    status = svd_tall(p, q, x, s, ux, vt, want_vectors, flags);
    if (status == SVD_OK && want_vectors) mtranspose(m, q, ux, m, u, q);
  } else {
    double *vx = want_vectors ? ws_doubles((size_t)q * q) : 0;
    status = svd_tall(p, q, x, s, vt, vx, want_vectors, flags);
    if (status == SVD_OK && want_vectors) mtranspose(q, q, vx, q, u, q);
  }
  for (int i = 0; i < q; i++) s[i] /= scale;
  ws_release(mark);
  return status;
}
