/* Householder bidiagonalisation of a tall matrix: Qᵀ·A·P = B, B upper bidiagonal (diagonal d, superdiagonal
 * e). Q = H₀⋯H_{n−1} (reflector i stored in A[i+1:, i]), P = G₀⋯G_{n−2} (reflector i acts on coordinates
 * i+1.. and is stored in A[i, i+2:]). */
#ifndef SVD_BIDIAG_H
#define SVD_BIDIAG_H

/* A m×n, m ≥ n. tauq has n entries, taup n (the last is 0). d has n, e n−1. */
void bidiag_reduce(int m, int n, double *a, int lda, double *d, double *e, double *tauq, double *taup);

#endif
