/* Householder QR of a tall matrix, A = Q·R, used before the bidiagonalisation when m ≫ n: the QR costs
 * 2mn² − ⅔n³ flops, nearly all in GEMM, and the bidiagonalisation then works on the small n×n R. */
#ifndef SVD_QR_H
#define SVD_QR_H

/* A (m×n, m ≥ n) is overwritten by R (upper triangle) and the reflectors (below the diagonal). */
void qr_factor(int m, int n, double *a, int lda, double *tau);

#endif
