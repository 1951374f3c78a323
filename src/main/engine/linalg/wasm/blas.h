/* The few BLAS-like kernels the SVD needs, column-major, written for wasm SIMD128 (two doubles per
 * vector). gemm carries almost all of the flops of the blocked algorithms. */
#ifndef SVD_BLAS_H
#define SVD_BLAS_H
#include "common.h"

double vdot(int n, const double *x, const double *y);
void vaxpy(int n, double a, const double *x, double *y);      /* y += a·x */
void vscal(int n, double a, double *x);
double vnrm2(int n, const double *x, int incx);              /* scaled: no overflow or underflow */
void vrot(int n, double *x, double *y, double c, double s);   /* x ← c·x + s·y, y ← c·y − s·x */

/* y ← A·x + beta·y and y ← Aᵀ·x + beta·y for an m×n matrix A (the panel factorisations' GEMVs). */
void gemv_n(int m, int n, const double *a, int lda, const double *x, double beta, double *y);
void gemv_t(int m, int n, const double *a, int lda, const double *x, double beta, double *y);

/* C ← alpha·op(A)·op(B) + beta·C, op(X) = X or Xᵀ (transa/transb nonzero), C m×n, inner dimension k. */
void gemm(int transa, int transb, int m, int n, int k, double alpha, const double *a, int lda,
          const double *b, int ldb, double beta, double *c, int ldc);

/* Copy an m×n column-major block. */
void mcopy(int m, int n, const double *a, int lda, double *b, int ldb);
/* B ← Aᵀ for an m×n column-major A (B is n×m), cache-blocked. */
void mtranspose(int m, int n, const double *a, int lda, double *b, int ldb);

#endif
