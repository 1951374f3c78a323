/* Each iteration models the left and right halves of f by one pole each, matching value and slope at the
 * current point (ψ(x) ≈ a₁ + b₁/(δ_t − x), φ(x) ≈ a₂ + b₂/(δ_{t+1} − x)), and solves the model, a
 * quadratic; a bracket that shrinks with every evaluation catches any step that leaves it (bisection).
 * All poles are shifted by d_base², computed as (d_i − d_base)(d_i + d_base): no cancellation, so the
 * distance of the root to both neighbouring poles is accurate, which is what orthogonal vectors need. */
#include "secular.h"
#include "common.h"

void secular_root(int k, int t, const double *d, const double *z, double *delta, int *base, double *mu) {
  int b;
  double lo, hi;
  if (t < k - 1) {
    double gap = (d[t + 1] - d[t]) * (d[t + 1] + d[t]);
    /* f at the middle of the interval says which pole is nearer; f increases between the poles. */
    double f = 1.0;
    for (int i = 0; i < k; i++) f += z[i] * z[i] / ((d[i] - d[t]) * (d[i] + d[t]) - 0.5 * gap);
    if (f >= 0.0) { b = t; lo = 0.0; hi = 0.5 * gap; }
    else { b = t + 1; lo = -0.5 * gap; hi = 0.0; }
  } else {
    b = k - 1;
    lo = 0.0;
    hi = 0.0;
    for (int i = 0; i < k; i++) hi += z[i] * z[i]; /* f(d_{k−1}² + ‖z‖²) ≥ 0 */
  }
  for (int i = 0; i < k; i++) delta[i] = (d[i] - d[b]) * (d[i] + d[b]);
  double x = 0.5 * (lo + hi);
  for (int iter = 0; iter < 200; iter++) {
    double psi = 0.0, dpsi = 0.0, phi = 0.0, dphi = 0.0;
    for (int i = 0; i <= t; i++) {
      double r = z[i] / (delta[i] - x);
      psi += z[i] * r;
      dpsi += r * r;
    }
    for (int i = t + 1; i < k; i++) {
      double r = z[i] / (delta[i] - x);
      phi += z[i] * r;
      dphi += r * r;
    }
    double f = 1.0 + psi + phi;
    /* Rounding error of the evaluation of f, including that of x itself. */
    double err = EPS * (8.0 * (phi - psi) + 1.0 + dabs(x) * (dpsi + dphi));
    if (dabs(f) <= err) break;
    if (f > 0.0) hi = x; else lo = x;
    double dl = delta[t] - x, step;
    int ok = 1;
    if (t < k - 1) {
      double dr = delta[t + 1] - x;
      double b1 = dpsi * dl * dl, b2 = dphi * dr * dr;
      double a = f - dpsi * dl - dphi * dr;           /* 1 + a₁ + a₂ */
      double bq = a * (dl + dr) + b1 + b2, c = dl * dr * f;
      /* a·η² − bq·η + c = 0; exactly one root of the model lies between the poles. */
      double e1, e2;
      if (a == 0.0) {
        e1 = e2 = c / bq;
      } else {
        double disc = bq * bq - 4.0 * a * c;
        double sq = dsqrt(disc > 0.0 ? disc : 0.0);
        if (bq >= 0.0) { e1 = (bq + sq) / (2.0 * a); e2 = 2.0 * c / (bq + sq); }
        else { e1 = 2.0 * c / (bq - sq); e2 = (bq - sq) / (2.0 * a); }
      }
      double lp = delta[t], rp = delta[t + 1];
      if (x + e2 > lp && x + e2 < rp) step = e2;
      else if (x + e1 > lp && x + e1 < rp) step = e1;
      else ok = 0;
    } else {
      double a = 1.0 + psi - dpsi * dl; /* 1 + a₁: f ≈ 1 + a₁ + b₁/(δ_t − x − η) */
      if (a > 0.0) step = dl + dpsi * dl * dl / a;
      else ok = 0;
    }
    double next = ok ? x + step : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (dabs(next - x) <= 2.0 * EPS * dabs(x) || next == x) { x = next; break; }
    x = next;
  }
  *base = b;
  *mu = x;
}
