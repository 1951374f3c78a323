/* Implicit-shift QR on an upper bidiagonal matrix (Golub–Kahan with the Demmel–Kahan zero-shift sweep for
 * tiny shifts). Used for values-only SVDs and for the small leaves of divide and conquer. */
#ifndef SVD_BDSQR_H
#define SVD_BDSQR_H

/* B = diag(d) + superdiag(e), n×n. On return d holds the singular values (≥ 0, unsorted) and e is
 * destroyed. Rotations are accumulated into the columns of U (nru×n, may be 0) and V (nrv×n, may be 0):
 * B_in = U·diag(d)·Vᵀ when U and V start as identities. Returns 0, or 1 if it did not converge. */
int bdsqr(int n, double *d, double *e, double *u, int ldu, int nru, double *v, int ldv, int nrv);

#endif
