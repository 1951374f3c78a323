/* The secular equation of a rank-one modified diagonal, solved in a shifted variable so that each root
 * is known to full relative accuracy as an offset from its nearest pole. */
#ifndef SVD_SECULAR_H
#define SVD_SECULAR_H

/* Root t (0-based) of f(λ) = 1 + Σ z_i²/(d_i² − λ) for 0 = d_0 < d_1 < … < d_{k−1} (strictly increasing),
 * all z_i ≠ 0. The root lies in (d_t², d_{t+1}²) (beyond d_{k−1}² for t = k−1) and is returned as
 * λ = d_base² + mu. work has k entries. */
void secular_root(int k, int t, const double *d, const double *z, double *work, int *base, double *mu);

#endif
