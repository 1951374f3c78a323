/* Singular value decomposition of an upper bidiagonal matrix by divide and conquer (Gu–Eisenstat). */
#ifndef SVD_BDSDC_H
#define SVD_BDSDC_H

/* B = diag(d) + superdiag(e), n×n. On return d holds the singular values (≥ 0, unsorted), U (n×n) and
 * V (n×n) the singular vectors: B = U·diag(d)·Vᵀ. e is destroyed. Returns 0, or 1 if a leaf QR failed. */
int bdsdc(int n, double *d, double *e, double *u, int ldu, double *v, int ldv);

#endif
