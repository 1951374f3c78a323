/* The band route: all singular values, but the singular vectors of a band of them only (the dgesvdx
 * approach, own implementation). Same front end as the full SVD (svd.c), so the values are the same:
 *   1. Tall p×q X (X = A, or Aᵀ when A is wide), scaled by a power of two; QR first when p ≥ 1.6·q.
 *   2. Bidiagonalise: Qᵀ·X·P = B.
 *   3. All singular values of B by the values-only QR iteration (bdsqr without vectors: O(q²)).
 *   4. The band's vectors of B by inverse iteration on B's Golub–Kahan tridiagonal (tgk.c): O(q·k²).
 *   5. Back-transform those k columns only: U_b = Q_r·Q·U_B,b and V_b = P·V_B,b, O(p·q·k) instead of the
 *      full SVD's O(p·q²) back-transformation and its O(q³) divide and conquer.
 * Steps 1–2 cost the same as in the full SVD (≈ 2pq² + 2q³ flops, or 4pq² − 4q³/3 without QR), so the
 * saving is the rest: for k ≪ q the band route costs about the reduction alone.
 *
 * Why inverse iteration and not a Krylov method (Lanczos on the normal equations, shift-invert): the
 * values are already known exactly (step 3), so each wanted vector is one shifted tridiagonal solve away,
 * with a residual of O(ε‖A‖) by backward stability and no squaring of the condition number; a Krylov
 * method on the dense A would need O(m·n) per step for many steps and a restart strategy to reach the same
 * accuracy at the bottom of the spectrum, where the values cluster relative to ‖A‖. */
#include "alloc.h"
#include "bdsqr.h"
#include "bidiag.h"
#include "blas.h"
#include "driver.h"
#include "householder.h"
#include "qr.h"
#include "tgk.h"

/* SVD of the tall p×q X (overwritten) with the vectors of s[start..start+k) only: s gets all q values,
 * descending, in X's scale; ux (p×k, ld ldux) and vx (q×k, ld ldvx) the band's vectors. */
static int band_tall(int p, int q, double *x, double *s, int start, int k, double *ux, int ldux, double *vx, int ldvx,
                     int flags) {
  double *d = ws_doubles((size_t)q), *e = ws_doubles((size_t)q);
  double *tauq = ws_doubles((size_t)q), *taup = ws_doubles((size_t)q);
  int qr_first = driver_qr_first(p, q, flags);
  double *b = x, *tau_r = 0;
  int pb = p;
  if (qr_first) {
    tau_r = ws_doubles((size_t)q);
    qr_factor(p, q, x, p, tau_r);
    b = ws_doubles((size_t)q * q);
    for (int j = 0; j < q; j++)
      for (int i = 0; i < q; i++) b[i + (size_t)j * q] = i <= j ? x[i + (size_t)j * p] : 0.0;
    pb = q;
  }
  bidiag_reduce(pb, q, b, pb, d, e, tauq, taup);

  /* The values exactly as the values-only full SVD finds them (bdsqr overwrites its copy). */
  double *dv = ws_doubles((size_t)q), *ev = ws_doubles((size_t)q);
  mcopy(q, 1, d, q, dv, q);
  mcopy(q, 1, e, q, ev, q);
  if (bdsqr(q, dv, ev, 0, 0, 0, 0, 0, 0)) return SVD_NO_CONVERGENCE;
  int *perm = driver_order_descending(q, dv);
  for (int i = 0; i < q; i++) s[i] = dv[perm[i]];
  if (k <= 0) return SVD_OK;

  double *ub = ws_doubles((size_t)q * k), *vb = ws_doubles((size_t)q * k);
  int failed = tgk_vectors(q, d, e, s[0], k, s + start, ub, q, vb, q);

  /* Left: ux = Q_r·Q·[U_B; 0] (or Q·[U_B; 0] without QR first), k columns. */
  if (qr_first) {
    householder_apply_q(q, k, q, b, q, tauq, ub, q);
    for (int j = 0; j < k; j++)
      for (int i = 0; i < p; i++) ux[i + (size_t)j * ldux] = i < q ? ub[i + (size_t)j * q] : 0.0;
    householder_apply_q(p, k, q, x, p, tau_r, ux, ldux);
  } else {
    for (int j = 0; j < k; j++)
      for (int i = 0; i < p; i++) ux[i + (size_t)j * ldux] = i < q ? ub[i + (size_t)j * q] : 0.0;
    householder_apply_q(p, k, q, b, p, tauq, ux, ldux);
  }
  /* Right: vx = P·V_B. Reflector i of P acts on rows i+1..; copied to column form for apply_q. */
  mcopy(q, k, vb, q, vx, ldvx);
  if (q > 1) {
    int r = q - 1;
    double *ps = ws_doubles((size_t)r * r);
    for (int i = 0; i < r; i++)
      for (int j = i + 1; j < r; j++) ps[j + (size_t)i * r] = b[i + (size_t)(j + 1) * pb];
    householder_apply_q(r, k, r, ps, r, taup, vx + 1, ldvx);
  }
  return failed ? SVD_BAND_UNVERIFIED : SVD_OK;
}

/* A (row-major m×n) → s (all min(m,n) values, descending), u (row-major m×count: column j is the left
 * vector of s[start+j]) and vt (row-major count×n). a is not modified. 0 ok, −1 non-finite input, −2 band
 * out of range,
 * 1 no convergence, 2 a band vector failed its residual check (s is still valid). flags as sv_svd's. */
__attribute__((export_name("sv_svd_band"))) int sv_svd_band(const double *a, int m, int n, double *s, double *u,
                                                            double *vt, int start, int count, int flags) {
  size_t mark = ws_mark();
  size_t total = (size_t)m * n;
  int p = imax(m, n), q = imin(m, n);
  if (start < 0 || count < 0 || start + count > q) return SVD_BAD_BAND; /* the host checks first */
  double scale;
  if (driver_scale(a, total, &scale) != SVD_OK) return SVD_NOT_FINITE;
  if (scale == 0.0) {
    /* The same bases as the full SVD of a zero matrix: the identity's columns start.. */
    for (int i = 0; i < q; i++) s[i] = 0.0;
    for (int i = 0; i < m; i++)
      for (int j = 0; j < count; j++) u[(size_t)i * count + j] = i == start + j ? 1.0 : 0.0;
    for (int j = 0; j < count; j++)
      for (int l = 0; l < n; l++) vt[(size_t)j * n + l] = l == start + j ? 1.0 : 0.0;
    return SVD_OK;
  }
  double *x = driver_tall_copy(a, m, n, scale);
  int status;
  if (m >= n) {
    /* X = A: left vectors p×k, right vectors q×k column-major, which is vt's row-major layout. */
    double *ux = ws_doubles((size_t)m * count);
    status = band_tall(p, q, x, s, start, count, ux, m, vt, n, flags);
    if (status != SVD_NO_CONVERGENCE) mtranspose(m, count, ux, m, u, count);
  } else {
    /* X = Aᵀ = V Σ Uᵀ: X's left vectors are A's right ones (n×k column-major = vt), and vice versa. */
    double *vx = ws_doubles((size_t)m * count);
    status = band_tall(p, q, x, s, start, count, vt, n, vx, m, flags);
    if (status != SVD_NO_CONVERGENCE) mtranspose(m, count, vx, m, u, count);
  }
  for (int i = 0; i < q; i++) s[i] /= scale;
  ws_release(mark);
  return status;
}
