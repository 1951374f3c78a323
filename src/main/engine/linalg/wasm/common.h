/* Shared scalar helpers for the freestanding SVD kernel (no libc: every helper compiles to one or two
 * WebAssembly instructions). All matrices in this folder are column-major with an explicit leading
 * dimension, the convention of the linear-algebra literature the formulas come from. */
#ifndef SVD_COMMON_H
#define SVD_COMMON_H

typedef __SIZE_TYPE__ size_t;

/* Unit roundoff u = 2^-53 and the smallest normal number. */
#define EPS 1.1102230246251565e-16
#define SAFMIN 2.2250738585072014e-308

static inline double dabs(double x) { return __builtin_fabs(x); }
static inline double dsqrt(double x) { return __builtin_sqrt(x); }
static inline double dmax(double a, double b) { return a > b ? a : b; }
static inline double dmin(double a, double b) { return a < b ? a : b; }
/* |a| with the sign of b. */
static inline double dsign(double a, double b) { return __builtin_copysign(a, b); }
static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* sqrt(a² + b²) without overflow for the magnitudes that occur here (inputs are pre-scaled). */
static inline double dhypot(double a, double b) {
  double x = dabs(a), y = dabs(b);
  double big = dmax(x, y), small = dmin(x, y);
  if (big == 0.0) return 0.0;
  double r = small / big;
  return big * dsqrt(1.0 + r * r);
}

/* Plane rotation [c s; -s c] with c·f + s·g = r and -s·f + c·g = 0. */
static inline void givens(double f, double g, double *c, double *s, double *r) {
  if (g == 0.0) { *c = 1.0; *s = 0.0; *r = f; return; }
  if (f == 0.0) { *c = 0.0; *s = 1.0; *r = g; return; }
  double h = dhypot(f, g);
  if (dabs(f) > dabs(g) && f < 0.0) h = -h; /* keep r's sign with the larger entry: fewer sign flips */
  *c = f / h; *s = g / h; *r = h;
}

#endif
