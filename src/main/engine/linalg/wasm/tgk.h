/* Singular vectors of an upper bidiagonal matrix for chosen singular values only, by inverse iteration on
 * its Golub–Kahan (TGK) form: the band route's replacement for the all-vectors divide and conquer. */
#ifndef SVD_TGK_H
#define SVD_TGK_H

/* B = diag(d) + superdiag(e), q×q (entries of either sign). sigma: k singular values of B, descending, as
 * the values-only QR iteration found them; bnorm = ‖B‖₂ (the largest of them). On return column j of u
 * (q×k, ld ldu) and of v (q×k, ld ldv) hold unit vectors with B·v_j ≈ sigma_j·u_j and Bᵀ·u_j ≈ sigma_j·v_j,
 * and u_1..u_k, v_1..v_k orthonormal. Returns how many pairs failed the residual check (0: all passed). */
int tgk_vectors(int q, const double *d, const double *e, double bnorm, int k, const double *sigma, double *u,
                int ldu, double *v, int ldv);

#endif
