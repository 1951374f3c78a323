/* Householder reflectors H = I − τ·v·vᵀ (v₀ = 1) and their blocked form: a product of k reflectors
 * H₀H₁⋯H_{k−1} = I − V·T·Vᵀ with T upper triangular (compact WY), which turns k rank-1 updates into two
 * matrix-matrix products. */
#ifndef SVD_HOUSEHOLDER_H
#define SVD_HOUSEHOLDER_H
#include "common.h"

/* Reflectors per block. The QR panel is factorised with rank-1 updates, so it stays narrow; applying
 * stored reflectors is pure GEMM, where a wider block means a longer inner dimension in C −= V·W. */
#ifndef HH_BLOCK
#define HH_BLOCK 32
#endif
#ifndef HH_APPLY_BLOCK
#define HH_APPLY_BLOCK 64
#endif

/* Reflector that maps (alpha, x) to (beta, 0): on return *alpha = beta, x holds v[1:], returns τ. */
double householder_make(int n, double *alpha, double *x, int incx);

/* C ← (I − τ·v·vᵀ)·C for an m×n C, v of length m with v₀ = 1 stored explicitly. */
void householder_apply_left(int m, int n, const double *v, double tau, double *c, int ldc, double *work);

/* T (k×k, upper) of H₀⋯H_{k−1} = I − V·T·Vᵀ, V m×k unit lower trapezoidal, stored explicitly. */
void householder_block_t(int m, int k, const double *v, int ldv, const double *tau, double *t, int ldt);

/* C ← (I − V·op(T)·Vᵀ)·C with op(T) = T or Tᵀ: C m×n, V m×k explicit, T k×k. */
void householder_block_apply(int transpose_t, int m, int n, int k, const double *v, int ldv, const double *t,
                             int ldt, double *c, int ldc);

/* V (m×k) ← the reflectors stored below the diagonal of A's first k columns, with explicit ones and zeros. */
void householder_unpack(int m, int k, const double *a, int lda, double *v, int ldv);

/* C ← H₀H₁⋯H_{k−1}·C, reflector i stored in A[i+1:m, i] (v_i[i] = 1, zero above), C m×n. Blocked. */
void householder_apply_q(int m, int n, int k, const double *a, int lda, const double *tau, double *c, int ldc);

#endif
