/* Divide and conquer for the SVD of an upper bidiagonal B (n rows, n + sqre columns, sqre ∈ {0,1}).
 *
 * Split at row k: B = [B₁ 0; α·e_kᵀ β·e₁ᵀ; 0 B₂] with B₁ k×(k+1) and B₂ the rest. With the children's
 * SVDs B₁ = U₁[D₁ 0]V₁ᵀ and B₂ = U₂[D₂ (0)]V₂ᵀ,
 *     B = diag(U₁, 1, U₂) · M · diag(V₁, V₂)ᵀ,
 * and after moving row k to the top and rotating the two null columns of V₁, V₂ into one, M = e₀zᵀ + D
 * with D = diag(0, D₁, D₂) and z = (hypot(α·λ₁, β·φ₂), α·ℓ₁, β·f₂) (ℓ₁ = last row of V₁ minus its null
 * entry λ₁, f₂ = first row of V₂ minus its null entry φ₂). Then MᵀM = D² + zzᵀ: the singular values solve
 * 1 + Σ z_i²/(d_i² − σ²) = 0, and v ∝ (D² − σ²)⁻¹z, u ∝ (−1, d_i·z_i/(d_i² − σ²)).
 *
 * Deflation removes what the secular equation cannot resolve: tiny z_i (d_i is then a singular value),
 * and nearly equal d_i, d_j (a rotation of both bases zeroes one z entry). For orthogonal vectors, z is
 * recomputed from the computed roots (Gu–Eisenstat): ẑ_i² = Π_j(σ_j² − d_i²) / Π_{j≠i}(d_j² − d_i²),
 * so the computed σ are the exact singular values of a nearby M̂.
 *
 * The new bases are products of the children's bases and the small problem's vectors: GEMMs, which split
 * into an upper (B₁ rows) and a lower (B₂ rows) product because most basis columns are zero in one half. */
#include "bdsdc.h"
#include "alloc.h"
#include "bdsqr.h"
#include "blas.h"
#include "secular.h"
#include "sort.h"

#define LEAF 25

/* Small problems: rotate the extra column away (sqre = 1), then QR iteration with vectors. */
static int leaf(int n, int sqre, double *d, double *e, double *u, int ldu, double *v, int ldv) {
  int nv = n + sqre;
  for (int j = 0; j < n; j++)
    for (int i = 0; i < n; i++) u[i + (size_t)j * ldu] = i == j ? 1.0 : 0.0;
  for (int j = 0; j < nv; j++)
    for (int i = 0; i < nv; i++) v[i + (size_t)j * ldv] = i == j ? 1.0 : 0.0;
  if (sqre) {
    /* Column rotations (i, n) chase the entry B[n−1, n] up and out: B·G leaves a zero last column. */
    double f = e[n - 1], c, s, r;
    for (int i = n - 1; i >= 0; i--) {
      givens(d[i], f, &c, &s, &r);
      d[i] = r;
      vrot(nv, v + (size_t)i * ldv, v + (size_t)n * ldv, c, s);
      if (i > 0) {
        f = -s * e[i - 1];
        e[i - 1] = c * e[i - 1];
      }
    }
  }
  return bdsqr(n, d, e, u, ldu, n, v, ldv, nv);
}

/* Column type: nonzero only in the upper rows (B₁ part and row k), in both, or only in the lower rows. */
enum { UPPER = 1, DENSE = 2, LOWER = 3 };

static int mixed(int a, int b) { return a == b ? a : DENSE; }

/* out[0:split, 0:K] and out[split:rows, 0:K] from the basis columns basis[:, col[c]] (c < K, grouped by
 * type) times the small problem's vectors. */
static void combine(int rows, int split, int kk, const double *basis, int ldb, const int *col, const int *type,
                    const double *small, double *out, int ldo) {
  size_t mark = ws_mark();
  int *order = ws_ints((size_t)kk);
  int counts[4] = {0, 0, 0, 0}, at = 0;
  for (int c = 0; c < kk; c++) counts[type[c]]++;
  for (int want = UPPER; want <= LOWER; want++)
    for (int c = 0; c < kk; c++)
      if (type[c] == want) order[at++] = c;
  double *g = ws_doubles((size_t)rows * kk), *sp = ws_doubles((size_t)kk * kk);
  for (int c = 0; c < kk; c++) mcopy(rows, 1, basis + (size_t)col[order[c]] * ldb, ldb, g + (size_t)c * rows, rows);
  /* The small vectors' rows in the same order (column by column: contiguous writes). */
  for (int t = 0; t < kk; t++) {
    const double *src = small + (size_t)t * kk;
    double *dst = sp + (size_t)t * kk;
    for (int c = 0; c < kk; c++) dst[c] = src[order[c]];
  }
  int up = counts[UPPER] + counts[DENSE], first_low = counts[UPPER];
  gemm(0, 0, split, kk, up, 1.0, g, rows, sp, kk, 0.0, out, ldo);
  gemm(0, 0, rows - split, kk, kk - first_low, 1.0, g + split + (size_t)first_low * rows, rows, sp + first_low, kk,
       0.0, out + split, ldo);
  ws_release(mark);
}

static void merge(int n, int k, int sqre, double *d, double beta, double *u, int ldu, double *v, int ldv) {
  size_t mark = ws_mark();
  int n2 = n - k - 1, nv = n + sqre;
  double alpha = d[k];
  double scale = dmax(dabs(alpha), dabs(beta));
  for (int i = 0; i < n; i++)
    if (i != k) scale = dmax(scale, dabs(d[i]));
  int zero_block = scale == 0.0; /* all zero: every column deflates with value 0 */
  if (zero_block) scale = 1.0;
  alpha /= scale;
  beta /= scale;

  /* Basis columns in "M order": 0 = the combined null column / row k, 1..k = B₁'s, k+1.. = B₂'s. */
  double *y = ws_doubles((size_t)n * n), *w = ws_doubles((size_t)nv * n), *wnull = ws_doubles((size_t)nv);
  double *z = ws_doubles((size_t)n), *dm = ws_doubles((size_t)n);
  int *ty_u = ws_ints((size_t)n), *ty_v = ws_ints((size_t)n);
  for (size_t i = 0; i < (size_t)n * n; i++) y[i] = 0.0;
  for (size_t i = 0; i < (size_t)nv * n; i++) w[i] = 0.0;

  double za = alpha * v[k + (size_t)k * ldv];
  double zb = sqre ? beta * v[(k + 1) + (size_t)(nv - 1) * ldv] : 0.0;
  double z0 = dhypot(za, zb), c0 = z0 > 0.0 ? za / z0 : 1.0, s0 = z0 > 0.0 ? zb / z0 : 0.0;
  z[0] = z0;
  dm[0] = 0.0;
  y[k] = 1.0;
  ty_u[0] = UPPER;
  for (int i = 0; i <= k; i++) w[i] = c0 * v[i + (size_t)k * ldv];
  if (sqre)
    for (int i = k + 1; i < nv; i++) {
      double vn = v[i + (size_t)(nv - 1) * ldv];
      w[i] = s0 * vn;
      wnull[i] = c0 * vn;
    }
  if (sqre)
    for (int i = 0; i <= k; i++) wnull[i] = -s0 * v[i + (size_t)k * ldv];
  ty_v[0] = s0 == 0.0 ? UPPER : (c0 == 0.0 ? LOWER : DENSE);
  for (int j = 0; j < k; j++) {
    z[1 + j] = alpha * v[k + (size_t)j * ldv];
    dm[1 + j] = d[j] / scale;
    mcopy(k, 1, u + (size_t)j * ldu, ldu, y + (size_t)(1 + j) * n, n);
    mcopy(k + 1, 1, v + (size_t)j * ldv, ldv, w + (size_t)(1 + j) * nv, nv);
    ty_u[1 + j] = ty_v[1 + j] = UPPER;
  }
  for (int j = 0; j < n2; j++) {
    int col = k + 1 + j;
    z[col] = beta * v[(k + 1) + (size_t)col * ldv];
    dm[col] = d[col] / scale;
    mcopy(n2, 1, u + (k + 1) + (size_t)col * ldu, ldu, y + (k + 1) + (size_t)col * n, n);
    mcopy(nv - k - 1, 1, v + (k + 1) + (size_t)col * ldv, ldv, w + (k + 1) + (size_t)col * nv, nv);
    ty_u[col] = ty_v[col] = LOWER;
  }

  /* Sort the poles ascending (index 0, the zero pole, stays first). */
  int *perm = ws_ints((size_t)n), *tmp = ws_ints((size_t)n);
  for (int i = 0; i < n; i++) perm[i] = i;
  sort_by_key(n - 1, perm + 1, dm, tmp);

  /* Deflation. tol bounds the perturbation of M (relative to ‖M‖ ≈ 1 after scaling). */
  double dmaxv = 0.0;
  for (int i = 0; i < n; i++) dmaxv = dmax(dmaxv, dm[i]);
  double tol = 8.0 * EPS * dmax(dmaxv, dmax(dabs(alpha), dabs(beta)));
  if (dabs(z[0]) <= tol) z[0] = tol; /* keeps the zero pole in the secular problem (perturbation ≤ tol) */
  int *kept = ws_ints((size_t)n), *defl = ws_ints((size_t)n);
  double *defl_value = ws_doubles((size_t)n);
  int nk = 0, nd = 0, prev = 0;
  if (zero_block)
    for (int i = 0; i < n; i++) defl[nd] = i, defl_value[nd++] = 0.0;
  else
    kept[nk++] = 0;
  for (int s = 1; s < n && !zero_block; s++) {
    int i = perm[s];
    if (dabs(z[i]) <= tol) {
      defl[nd] = i;
      defl_value[nd++] = dm[i];
      continue;
    }
    if (dm[i] - dm[prev] <= tol) {
      double r = dhypot(z[prev], z[i]);
      if (prev == 0) {
        /* d_i ≈ 0: fold z_i into the zero pole's column; only V's basis turns (M·G ≈ [r 0; 0 c·d_i]). */
        double c = z[0] / r, sn = z[i] / r;
        vrot(nv, w, w + (size_t)i * nv, c, sn);
        ty_v[0] = ty_v[i] = mixed(ty_v[0], ty_v[i]);
        z[0] = r;
        defl[nd] = i;
        defl_value[nd++] = c * dm[i];
        continue;
      }
      /* d_prev ≈ d_i: Gᵀ·M·G with G zeroing z_prev leaves M's form (error ≤ d_i − d_prev). */
      double c = z[i] / r, sn = -z[prev] / r;
      vrot(n, y + (size_t)prev * n, y + (size_t)i * n, c, sn);
      vrot(nv, w + (size_t)prev * nv, w + (size_t)i * nv, c, sn);
      ty_u[prev] = ty_u[i] = mixed(ty_u[prev], ty_u[i]);
      ty_v[prev] = ty_v[i] = mixed(ty_v[prev], ty_v[i]);
      z[i] = r;
      z[prev] = 0.0;
      defl[nd] = prev;
      defl_value[nd++] = dm[prev];
      nk--; /* prev was the last kept entry */
    }
    kept[nk++] = i;
    prev = i;
  }

  /* Secular equation on the kept poles. */
  double *dk = ws_doubles((size_t)nk), *zk = ws_doubles((size_t)nk), *work = ws_doubles((size_t)nk);
  double *mu = ws_doubles((size_t)nk), *zhat = ws_doubles((size_t)nk);
  int *base = ws_ints((size_t)nk);
  for (int t = 0; t < nk; t++) dk[t] = dm[kept[t]], zk[t] = z[kept[t]];
  for (int t = 0; t < nk; t++) secular_root(nk, t, dk, zk, work, &base[t], &mu[t]);

  /* ẑ from the roots; σ_j² − d_i² = mu_j − (d_i − d_b)(d_i + d_b) keeps every difference accurate. */
  for (int i = 0; i < nk; i++) {
    int bl = base[nk - 1];
    double prod = mu[nk - 1] - (dk[i] - dk[bl]) * (dk[i] + dk[bl]);
    for (int j = 0; j < nk - 1; j++) {
      int bj = base[j];
      double num = mu[j] - (dk[i] - dk[bj]) * (dk[i] + dk[bj]);
      int pj = j < i ? j : j + 1; /* pair σ_j with the pole on its own side of d_i */
      double den = (dk[pj] - dk[i]) * (dk[pj] + dk[i]);
      prod *= num / den;
    }
    zhat[i] = dsign(dsqrt(dabs(prod)), zk[i]);
  }

  /* Small problem's vectors: column t of su (left) and sv (right). */
  double *su = ws_doubles((size_t)nk * nk), *sv = ws_doubles((size_t)nk * nk);
  for (int t = 0; t < nk; t++) {
    int bt = base[t];
    double *cu = su + (size_t)t * nk, *cv = sv + (size_t)t * nk;
    double nu = 0.0, nvn = 0.0;
    for (int i = 0; i < nk; i++) {
      double diff = (dk[i] - dk[bt]) * (dk[i] + dk[bt]) - mu[t]; /* d_i² − σ_t² */
      cv[i] = zhat[i] / diff;
      cu[i] = i == 0 ? -1.0 : dk[i] * cv[i];
      nu += cu[i] * cu[i];
      nvn += cv[i] * cv[i];
    }
    vscal(nk, 1.0 / dsqrt(nu), cu);
    vscal(nk, 1.0 / dsqrt(nvn), cv);
  }

  /* New bases: kept columns times the small vectors, deflated columns as they are. */
  int *ktype = ws_ints((size_t)nk);
  for (int t = 0; t < nk; t++) ktype[t] = ty_u[kept[t]];
  combine(n, k + 1, nk, y, n, kept, ktype, su, u, ldu);
  for (int t = 0; t < nk; t++) ktype[t] = ty_v[kept[t]];
  combine(nv, k + 1, nk, w, nv, kept, ktype, sv, v, ldv);
  for (int j = 0; j < nd; j++) {
    mcopy(n, 1, y + (size_t)defl[j] * n, n, u + (size_t)(nk + j) * ldu, ldu);
    mcopy(nv, 1, w + (size_t)defl[j] * nv, nv, v + (size_t)(nk + j) * ldv, ldv);
  }
  if (sqre) mcopy(nv, 1, wnull, nv, v + (size_t)n * ldv, ldv);

  for (int t = 0; t < nk; t++) {
    int bt = base[t];
    d[t] = scale * dsqrt(dk[bt] * dk[bt] + mu[t]);
  }
  for (int j = 0; j < nd; j++) d[nk + j] = scale * dabs(defl_value[j]);
  ws_release(mark);
}

static int divide(int n, int sqre, double *d, double *e, double *u, int ldu, double *v, int ldv) {
  if (n <= LEAF) return leaf(n, sqre, d, e, u, ldu, v, ldv);
  int k = n / 2;
  double beta = e[k];
  if (divide(k, 1, d, e, u, ldu, v, ldv)) return 1;
  size_t off_u = (size_t)(k + 1) * (1 + (size_t)ldu), off_v = (size_t)(k + 1) * (1 + (size_t)ldv);
  if (divide(n - k - 1, sqre, d + k + 1, e + k + 1, u + off_u, ldu, v + off_v, ldv)) return 1;
  merge(n, k, sqre, d, beta, u, ldu, v, ldv);
  return 0;
}

int bdsdc(int n, double *d, double *e, double *u, int ldu, double *v, int ldv) {
  if (n <= 0) return 0;
  return divide(n, 0, d, e, u, ldu, v, ldv);
}
