#include "blas.h"
#include "simd.h"

double vdot(int n, const double *x, const double *y) {
  v128_t s0 = wasm_f64x2_splat(0.0), s1 = s0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 = vmadd(wasm_v128_load(x + i), wasm_v128_load(y + i), s0);
    s1 = vmadd(wasm_v128_load(x + i + 2), wasm_v128_load(y + i + 2), s1);
  }
  s0 = wasm_f64x2_add(s0, s1);
  double s = wasm_f64x2_extract_lane(s0, 0) + wasm_f64x2_extract_lane(s0, 1);
  for (; i < n; i++) s += x[i] * y[i];
  return s;
}

void vaxpy(int n, double a, const double *x, double *y) {
  v128_t av = wasm_f64x2_splat(a);
  int i = 0;
  for (; i + 2 <= n; i += 2)
    wasm_v128_store(y + i, vmadd(av, wasm_v128_load(x + i), wasm_v128_load(y + i)));
  for (; i < n; i++) y[i] += a * x[i];
}

void vscal(int n, double a, double *x) {
  for (int i = 0; i < n; i++) x[i] *= a;
}

double vnrm2(int n, const double *x, int incx) {
  double big = 0.0;
  for (int i = 0; i < n; i++) big = dmax(big, dabs(x[i * incx]));
  if (big == 0.0) return 0.0;
  /* Scaling by the largest entry keeps every square in range. */
  double inv = 1.0 / big, s = 0.0;
  for (int i = 0; i < n; i++) {
    double t = x[i * incx] * inv;
    s += t * t;
  }
  return big * dsqrt(s);
}

void vrot(int n, double *x, double *y, double c, double s) {
  v128_t cv = wasm_f64x2_splat(c), sv = wasm_f64x2_splat(s);
  int i = 0;
  for (; i + 2 <= n; i += 2) {
    v128_t xv = wasm_v128_load(x + i), yv = wasm_v128_load(y + i);
    wasm_v128_store(x + i, wasm_f64x2_add(wasm_f64x2_mul(cv, xv), wasm_f64x2_mul(sv, yv)));
    wasm_v128_store(y + i, wasm_f64x2_sub(wasm_f64x2_mul(cv, yv), wasm_f64x2_mul(sv, xv)));
  }
  for (; i < n; i++) {
    double t = c * x[i] + s * y[i];
    y[i] = c * y[i] - s * x[i];
    x[i] = t;
  }
}

void gemv_n(int m, int n, const double *a, int lda, const double *x, double beta, double *y) {
  if (beta == 0.0) for (int i = 0; i < m; i++) y[i] = 0.0;
  else if (beta != 1.0) vscal(m, beta, y);
  int j = 0;
  /* Four columns per pass: y is read and written once for four columns of A. */
  for (; j + 4 <= n; j += 4) {
    const double *a0 = a + (size_t)j * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    v128_t x0 = wasm_f64x2_splat(x[j]), x1 = wasm_f64x2_splat(x[j + 1]);
    v128_t x2 = wasm_f64x2_splat(x[j + 2]), x3 = wasm_f64x2_splat(x[j + 3]);
    int i = 0;
    for (; i + 2 <= m; i += 2) {
      v128_t acc = wasm_v128_load(y + i);
      acc = vmadd(x0, wasm_v128_load(a0 + i), acc);
      acc = vmadd(x1, wasm_v128_load(a1 + i), acc);
      acc = vmadd(x2, wasm_v128_load(a2 + i), acc);
      acc = vmadd(x3, wasm_v128_load(a3 + i), acc);
      wasm_v128_store(y + i, acc);
    }
    for (; i < m; i++) y[i] += x[j] * a0[i] + x[j + 1] * a1[i] + x[j + 2] * a2[i] + x[j + 3] * a3[i];
  }
  for (; j < n; j++) vaxpy(m, x[j], a + (size_t)j * lda, y);
}

void gemv_t(int m, int n, const double *a, int lda, const double *x, double beta, double *y) {
  int j = 0;
  /* Four dot products per pass share the loads of x. */
  for (; j + 4 <= n; j += 4) {
    const double *a0 = a + (size_t)j * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    v128_t s0 = wasm_f64x2_splat(0.0), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 2 <= m; i += 2) {
      v128_t xv = wasm_v128_load(x + i);
      s0 = vmadd(xv, wasm_v128_load(a0 + i), s0);
      s1 = vmadd(xv, wasm_v128_load(a1 + i), s1);
      s2 = vmadd(xv, wasm_v128_load(a2 + i), s2);
      s3 = vmadd(xv, wasm_v128_load(a3 + i), s3);
    }
    double r0 = wasm_f64x2_extract_lane(s0, 0) + wasm_f64x2_extract_lane(s0, 1);
    double r1 = wasm_f64x2_extract_lane(s1, 0) + wasm_f64x2_extract_lane(s1, 1);
    double r2 = wasm_f64x2_extract_lane(s2, 0) + wasm_f64x2_extract_lane(s2, 1);
    double r3 = wasm_f64x2_extract_lane(s3, 0) + wasm_f64x2_extract_lane(s3, 1);
    for (; i < m; i++) {
      r0 += x[i] * a0[i]; r1 += x[i] * a1[i]; r2 += x[i] * a2[i]; r3 += x[i] * a3[i];
    }
    if (beta == 0.0) { y[j] = r0; y[j + 1] = r1; y[j + 2] = r2; y[j + 3] = r3; }
    else {
      y[j] = beta * y[j] + r0; y[j + 1] = beta * y[j + 1] + r1;
      y[j + 2] = beta * y[j + 2] + r2; y[j + 3] = beta * y[j + 3] + r3;
    }
  }
  for (; j < n; j++) {
    double r = vdot(m, a + (size_t)j * lda, x);
    y[j] = beta == 0.0 ? r : beta * y[j] + r;
  }
}

void mcopy(int m, int n, const double *a, int lda, double *b, int ldb) {
  for (int j = 0; j < n; j++) {
    const double *s = a + (size_t)j * lda;
    double *d = b + (size_t)j * ldb;
    for (int i = 0; i < m; i++) d[i] = s[i];
  }
}

void mtranspose(int m, int n, const double *a, int lda, double *b, int ldb) {
  const int T = 32; /* 32×32 tiles: both the read and the write side stay within cache lines */
  for (int j0 = 0; j0 < n; j0 += T)
    for (int i0 = 0; i0 < m; i0 += T) {
      int j1 = imin(n, j0 + T), i1 = imin(m, i0 + T);
      for (int j = j0; j < j1; j++)
        for (int i = i0; i < i1; i++) b[j + (size_t)i * ldb] = a[i + (size_t)j * lda];
    }
}
