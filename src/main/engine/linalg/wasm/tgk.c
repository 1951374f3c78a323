/* Inverse iteration on the Golub–Kahan form of a bidiagonal B (the route of LAPACK's dgesvdx and dbdsvdx;
 * own implementation). With B = diag(d) + superdiag(e), the 2q×2q symmetric tridiagonal
 *     T = tridiag(0; d₀, e₀, d₁, e₁, …, d_{q−1})   (zero diagonal)
 * is B's Jordan–Wielandt matrix [0 Bᵀ; B 0] after the perfect shuffle: its eigenvalues are ±σ_i, and the
 * eigenvector of +σ is z = (v₀, u₀, v₁, u₁, …)/√2 (of −σ: the same with u negated). So one tridiagonal
 * inverse iteration per wanted σ gives both of its singular vectors in O(q) work, and the residual of a
 * converged z is O(ε‖B‖) whatever the gaps (the iteration is backward stable); orthogonality within a
 * cluster comes from Gram–Schmidt, as in LAPACK's dstein.
 *
 * Why not simply dstein on T: its orthogonalisation acts on whole z's, but U and V must be orthonormal
 * separately. That needs z ⟂ z_j and z ⟂ flip(z_j) (the −σ_j eigenvector) for every earlier z_j, i.e.
 * the v part ⟂ v_j and the u part ⟂ u_j — which is what this code does, part by part. And for σ at the
 * level of ε‖B‖ (rank deficiency, exact zeros) ±σ are one cluster of T: any mix a·z₊ + b·z₋ of the two is
 * an eigenvector to working accuracy, and such a mix is (a+b)·v, (a−b)·u part by part — right directions
 * with wrong lengths. So the parts are normalised separately at the end, and a z whose parts came out
 * lopsided (only possible for σ ≈ 0) has its weak part restarted and iterated on: the two directions then
 * converge independently. Normalising the parts in every iteration instead would be wrong: it maps any
 * mix to pure z₊ or pure z₋, a fixed point of the iteration either way. This also covers the exact case
 * d_i = 0, where T splits into two blocks of odd size whose null vectors are pure v and pure u.
 * Near-zero off-diagonals need no explicit
 * splitting: partial pivoting decouples the blocks by itself, and the iteration picks the block(s) whose
 * eigenvalue is the shift. Tiny pivots are perturbed to ε‖B‖ and the back-substitution rescales before
 * it could overflow (dlagts's safeguards).
 *
 * Cost: O(q) per solve, O(q·j) for the Gram–Schmidt of the j-th vector: O(q·k²) in all, below the
 * O(m·n·k) of the back-transformation for any k ≤ min(m, n). Each pair is checked at the end (its
 * residuals against B, in O(q)); the caller falls back to the full SVD if any fails. */
#include "tgk.h"
#include "alloc.h"
#include "blas.h"

#define MAX_ITERATIONS 10
#define EXTRA_ITERATIONS 2
#define RESCALE_ABOVE 1e100

/* LU with partial pivoting of the tridiagonal T − λI (n = 2q): L has unit diagonal and multipliers l,
 * U the diagonals u0 (main), u1, u2 (first and second superdiagonal); swap[i] says rows i, i+1 were
 * exchanged at step i. */
typedef struct {
  int n;
  double *l, *u0, *u1, *u2;
  int *swap;
} Factor;

static void factor_shifted(const double *t, double lambda, double pivmin, Factor *f) {
  int n = f->n;
  double *l = f->l, *u0 = f->u0, *u1 = f->u1, *u2 = f->u2;
  for (int i = 0; i < n; i++) u0[i] = -lambda;
  for (int i = 0; i < n - 1; i++) u1[i] = t[i];
  for (int i = 0; i < n - 1; i++) {
    double sub = t[i]; /* entry (i+1, i) of the current matrix */
    if (dabs(u0[i]) >= dabs(sub)) {
      f->swap[i] = 0;
      double m = u0[i] != 0.0 ? sub / u0[i] : 0.0;
      l[i] = m;
      u0[i + 1] -= m * u1[i];
      if (i < n - 2) u2[i] = 0.0;
    } else {
      /* Row i+1 = (sub, u0[i+1], t[i+1]) becomes the pivot row. */
      f->swap[i] = 1;
      double m = u0[i] / sub;
      l[i] = m;
      double a = u0[i + 1], c = u1[i];
      u0[i] = sub;
      u1[i] = a;
      u0[i + 1] = c - m * a;
      if (i < n - 2) {
        u2[i] = t[i + 1];
        u1[i + 1] = -m * t[i + 1];
      }
    }
  }
  /* Perturb tiny pivots: T − λI is singular to working accuracy exactly when λ is a good shift. */
  for (int i = 0; i < n; i++)
    if (dabs(u0[i]) < pivmin) u0[i] = u0[i] < 0.0 ? -pivmin : pivmin;
}

/* x ← (T − λI)⁻¹·x·scale, returning scale (≤ 1): the back-substitution shrinks its partial solution
 * and the rest of the right-hand side together whenever an entry would grow past RESCALE_ABOVE. */
static double solve_shifted(const Factor *f, double *x) {
  int n = f->n;
  for (int i = 0; i < n - 1; i++) {
    if (f->swap[i]) {
      double a = x[i];
      x[i] = x[i + 1];
      x[i + 1] = a - f->l[i] * x[i];
    } else {
      x[i + 1] -= f->l[i] * x[i];
    }
  }
  double scale = 1.0;
  for (int i = n - 1; i >= 0; i--) {
    double r = x[i];
    if (i + 1 < n) r -= f->u1[i] * x[i + 1];
    if (i + 2 < n) r -= f->u2[i] * x[i + 2];
    double xi = r / f->u0[i];
    if (dabs(xi) > RESCALE_ABOVE) {
      double s = 1.0 / dabs(xi);
      for (int j = i + 1; j < n; j++) x[j] *= s;
      for (int j = 0; j < i; j++) x[j] *= s;
      xi *= s;
      scale *= s;
    }
    x[i] = xi;
  }
  return scale;
}

/* Deterministic pseudo-random start (xorshift), different for every vector index. */
static void random_fill(int n, double *x, unsigned seed) {
  unsigned state = seed * 2654435761u + 12345u;
  if (state == 0) state = 1;
  for (int i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    x[i] = (double)state / 4294967296.0 - 0.5;
  }
}

/* x ← (I − W·Wᵀ)x for the first j columns of W (q×j, orthonormal), twice (classical GS twice is as
 * orthogonal as modified GS and runs as matrix-vector products). */
static void project_out(int q, int j, const double *w, int ldw, double *x, double *c, double *tmp) {
  if (j == 0) return;
  for (int pass = 0; pass < 2; pass++) {
    gemv_t(q, j, w, ldw, x, 0.0, c);
    gemv_n(q, j, w, ldw, c, 0.0, tmp);
    for (int i = 0; i < q; i++) x[i] -= tmp[i];
  }
}

/* Orthogonalises part x (q) against the first j columns of w and returns its norm; a part that is
 * (numerically) all gone is restarted from random numbers, so that both parts always carry a direction. */
static double orthogonal_part(int q, int j, const double *w, int ldw, double *x, double *c, double *tmp, unsigned seed) {
  double before = vnrm2(q, x, 1);
  project_out(q, j, w, ldw, x, c, tmp);
  double after = vnrm2(q, x, 1);
  for (int attempt = 0; attempt < 3 && !(after > 1e-8 * before && after > 0.0); attempt++) {
    random_fill(q, x, seed + 7919u * (unsigned)(attempt + 1));
    project_out(q, j, w, ldw, x, c, tmp);
    before = after = vnrm2(q, x, 1);
    if (after > 0.0) break;
  }
  return after;
}

/* max(‖B·v − σu‖, ‖Bᵀu − σv‖) for unit u, v. */
static double pair_residual(int q, const double *d, const double *e, double sigma, const double *u, const double *v) {
  double r1 = 0.0, r2 = 0.0;
  for (int i = 0; i < q; i++) {
    double bv = d[i] * v[i] + (i + 1 < q ? e[i] * v[i + 1] : 0.0) - sigma * u[i];
    double btu = d[i] * u[i] + (i > 0 ? e[i - 1] * u[i - 1] : 0.0) - sigma * v[i];
    r1 += bv * bv;
    r2 += btu * btu;
  }
  return dsqrt(dmax(r1, r2));
}

int tgk_vectors(int q, const double *d, const double *e, double bnorm, int k, const double *sigma, double *u,
                int ldu, double *v, int ldv) {
  if (k <= 0) return 0;
  size_t mark = ws_mark();
  int n = 2 * q;
  double *t = ws_doubles((size_t)n);
  for (int i = 0; i < q; i++) {
    t[2 * i] = d[i];
    if (i + 1 < q) t[2 * i + 1] = e[i];
  }
  Factor f = {n, ws_doubles((size_t)n), ws_doubles((size_t)n), ws_doubles((size_t)n), ws_doubles((size_t)n),
              ws_ints((size_t)n)};
  double *z = ws_doubles((size_t)n), *xv = ws_doubles((size_t)q), *xu = ws_doubles((size_t)q);
  double *c = ws_doubles((size_t)k), *tmp = ws_doubles((size_t)q);
  double pivmin = EPS * bnorm;
  if (pivmin == 0.0) pivmin = SAFMIN;
  /* Growth of one solve that marks convergence (dstein's test, ‖x‖·‖T‖ ≳ 1/(n^1.5·ε)); then a few more
   * solves sharpen the vector to the O(ε‖T‖) residual that the backward error of the solve allows. */
  double converged_growth = 0.1 / ((double)n * dsqrt((double)n) * 2.0 * EPS);
  double check = 16.0 * (double)n * 2.0 * EPS * dmax(bnorm, SAFMIN);
  int failed = 0;
  double shift = 0.0;
  for (int j = 0; j < k; j++) {
    /* Equal shifts for equal σ would give the same factorisation; like dstein, step each shift of a
     * cluster just below the last one (10ε relative), which Gram–Schmidt then needs far less help with. */
    double lambda = sigma[j];
    if (j > 0) {
      double pertol = 10.0 * 2.0 * EPS * dabs(shift);
      if (shift - lambda < pertol) lambda = shift - pertol;
    }
    shift = lambda;
    factor_shifted(t, lambda, pivmin, &f);
    double *vj = v + (size_t)j * ldv, *uj = u + (size_t)j * ldu;
    unsigned seed = 1000003u * (unsigned)(j + 1);
    random_fill(q, xv, seed);
    random_fill(q, xu, seed + 1u);
    /* A balanced random start: both parts with equal weight, so both of ±σ's eigenvectors are in it. */
    double nv = orthogonal_part(q, j, v, ldv, xv, c, tmp, seed + 2u);
    double nu = orthogonal_part(q, j, u, ldu, xu, c, tmp, seed + 3u);
    vscal(q, 1.0 / nv, xv);
    vscal(q, 1.0 / nu, xu);
    nv = nu = 1.0;
    int extra = -1, reseeded = 0;
    for (int it = 0; it < MAX_ITERATIONS + 2 * EXTRA_ITERATIONS && extra < EXTRA_ITERATIONS; it++) {
      double norm = dhypot(nv, nu);
      for (int i = 0; i < q; i++) z[2 * i] = xv[i] / norm, z[2 * i + 1] = xu[i] / norm;
      double scale = solve_shifted(&f, z);
      for (int i = 0; i < q; i++) xv[i] = z[2 * i], xu[i] = z[2 * i + 1];
      unsigned round = seed + 2u * (unsigned)it + 4u;
      nv = orthogonal_part(q, j, v, ldv, xv, c, tmp, round);
      nu = orthogonal_part(q, j, u, ldu, xu, c, tmp, round + 1u);
      /* Growth of this solve, what is new in it: the part that Gram–Schmidt leaves. */
      double growth = dhypot(nv, nu) / scale;
      if (extra >= 0 || growth * bnorm >= converged_growth) extra++;
      if (it + 1 >= MAX_ITERATIONS && extra < 0) break;
      /* A converged z of σ > 0 has parts of equal length (σ‖u‖² = uᵀBv = σ‖v‖²). A lopsided one is the
       * σ ≈ 0 case, where ±σ are amplified alike and the weak part kept only what the start gave it:
       * restart that part alone and iterate on, so that its direction is amplified as well. */
      if (extra >= EXTRA_ITERATIONS && reseeded < 2 && dmin(nv, nu) < 0.25 * dmax(nv, nu)) {
        double *weak = nv < nu ? xv : xu, *wbasis = nv < nu ? v : u;
        int ldw = nv < nu ? ldv : ldu;
        double strong = dmax(nv, nu);
        random_fill(q, weak, round + 7u);
        double nw = orthogonal_part(q, j, wbasis, ldw, weak, c, tmp, round + 8u);
        vscal(q, strong / nw, weak);
        if (nv < nu) nv = strong;
        else nu = strong;
        extra = 0;
        reseeded++;
      }
    }
    /* The two parts, each normalised: the directions are right even where their lengths are not. */
    vscal(q, 1.0 / nv, xv);
    vscal(q, 1.0 / nu, xu);
    mcopy(q, 1, xv, q, vj, ldv);
    mcopy(q, 1, xu, q, uj, ldu);
    if (!(pair_residual(q, d, e, sigma[j], uj, vj) <= check)) failed++;
  }
  ws_release(mark);
  return failed;
}
