#include "bdsqr.h"
#include "blas.h"

/* Smaller singular value of the 2×2 upper triangular [f g; 0 h] (the shift), computed without squaring. */
static double smaller_sv_2x2(double f, double g, double h) {
  double fa = dabs(f), ga = dabs(g), ha = dabs(h);
  double fhmn = dmin(fa, ha), fhmx = dmax(fa, ha);
  if (fhmn == 0.0) return 0.0;
  if (ga < fhmx) {
    double as = 1.0 + fhmn / fhmx, at = (fhmx - fhmn) / fhmx, au = (ga / fhmx) * (ga / fhmx);
    double c = 2.0 / (dsqrt(as * as + au) + dsqrt(at * at + au));
    return fhmn * c;
  }
  double au = fhmx / ga;
  if (au == 0.0) return (fhmn * fhmx) / ga;
  double as = 1.0 + fhmn / fhmx, at = (fhmx - fhmn) / fhmx;
  double c = 1.0 / (dsqrt(1.0 + (as * au) * (as * au)) + dsqrt(1.0 + (at * au) * (at * au)));
  return (fhmn * c) * au * 2.0;
}

static void rotate_cols(double *m, int ld, int rows, int i, double c, double s) {
  if (m) vrot(rows, m + (size_t)i * ld, m + (size_t)(i + 1) * ld, c, s);
}

/* Demmel–Kahan zero-shift sweep on rows lo..hi: keeps relative accuracy of tiny singular values. */
static void sweep_zero_shift(int lo, int hi, double *d, double *e, double *u, int ldu, int nru, double *v, int ldv,
                             int nrv) {
  double cs = 1.0, oldcs = 1.0, sn = 0.0, oldsn = 0.0, r;
  for (int i = lo; i < hi; i++) {
    givens(d[i] * cs, e[i], &cs, &sn, &r);
    if (i > lo) e[i - 1] = oldsn * r;
    rotate_cols(v, ldv, nrv, i, cs, sn);
    givens(oldcs * r, d[i + 1] * sn, &oldcs, &oldsn, &d[i]);
    rotate_cols(u, ldu, nru, i, oldcs, oldsn);
  }
  double h = d[hi] * cs;
  d[hi] = h * oldcs;
  e[hi - 1] = h * oldsn;
}

/* Whether d[lo..hi−1] holds an exact zero. A shifted sweep cannot pass one: the bulge it chases is
 * multiplied by that zero, every later rotation is the identity, and the rows below never change (the
 * iteration stalls, then a tiny d[lo] makes the shift overflow). The zero-shift sweep moves the zero to
 * the bottom, where it deflates (Demmel–Kahan). Only blocks with an exact zero take this path, and those
 * never converged before, so no other result changes. */
static int has_zero(int lo, int hi, const double *d) {
  for (int i = lo; i < hi; i++)
    if (d[i] == 0.0) return 1;
  return 0;
}

/* Standard shifted sweep: chase the bulge created by the first rotation down to row hi. */
static void sweep_shifted(int lo, int hi, double shift, double *d, double *e, double *u, int ldu, int nru, double *v,
                          int ldv, int nrv) {
  double f = (dabs(d[lo]) - shift) * (dsign(1.0, d[lo]) + shift / d[lo]);
  double g = e[lo], c, s, r;
  for (int i = lo; i < hi; i++) {
    givens(f, g, &c, &s, &r);
    if (i > lo) e[i - 1] = r;
    f = c * d[i] + s * e[i];
    e[i] = c * e[i] - s * d[i];
    g = s * d[i + 1];
    d[i + 1] = c * d[i + 1];
    rotate_cols(v, ldv, nrv, i, c, s);
    givens(f, g, &c, &s, &r);
    d[i] = r;
    f = c * e[i] + s * d[i + 1];
    d[i + 1] = c * d[i + 1] - s * e[i];
    if (i < hi - 1) {
      g = s * e[i + 1];
      e[i + 1] = c * e[i + 1];
    }
    rotate_cols(u, ldu, nru, i, c, s);
  }
  e[hi - 1] = f;
}

int bdsqr(int n, double *d, double *e, double *u, int ldu, int nru, double *v, int ldv, int nrv) {
  if (n <= 0) return 0;
  double smax = 0.0;
  for (int i = 0; i < n; i++) smax = dmax(smax, dabs(d[i]));
  for (int i = 0; i < n - 1; i++) smax = dmax(smax, dabs(e[i]));
  /* Entries below this are negligible against ‖B‖ in any case (guards against endless tiny sweeps). */
  double floor_abs = smax * EPS * 0.5;
  int hi = n - 1, iterations = 0, max_iterations = 12 * n * n + 60;
  while (hi > 0) {
    if (++iterations > max_iterations) return 1;
    /* Split off converged values at the bottom: e[hi−1] negligible relative to its neighbours. */
    if (dabs(e[hi - 1]) <= EPS * (dabs(d[hi - 1]) + dabs(d[hi])) || dabs(e[hi - 1]) <= floor_abs) {
      e[hi - 1] = 0.0;
      hi--;
      continue;
    }
    /* Find the top of the unreduced block lo..hi. */
    int lo = hi - 1;
    while (lo > 0) {
      double t = dabs(e[lo - 1]);
      if (t <= EPS * (dabs(d[lo - 1]) + dabs(d[lo])) || t <= floor_abs) {
        e[lo - 1] = 0.0;
        break;
      }
      lo--;
    }
    /* Block smax, for the decision whether the shift is negligible. */
    double bmax = 0.0;
    for (int i = lo; i <= hi; i++) bmax = dmax(bmax, dabs(d[i]));
    for (int i = lo; i < hi; i++) bmax = dmax(bmax, dabs(e[i]));
    double shift = smaller_sv_2x2(d[hi - 1], e[hi - 1], d[hi]);
    if (d[lo] == 0.0 || (shift / bmax) * (shift / bmax) < EPS || has_zero(lo + 1, hi, d)) {
      sweep_zero_shift(lo, hi, d, e, u, ldu, nru, v, ldv, nrv);
    } else {
      sweep_shifted(lo, hi, shift, d, e, u, ldu, nru, v, ldv, nrv);
    }
  }
  for (int i = 0; i < n; i++)
    if (d[i] < 0.0) {
      d[i] = -d[i];
      if (v) vscal(nrv, -1.0, v + (size_t)i * ldv);
    }
  return 0;
}
