/* What the two drivers share: the full SVD (svd.c) and the band route (band.c) see the same matrix the
 * same way, so that their singular values are the same numbers, bit for bit. */
#ifndef SVD_DRIVER_H
#define SVD_DRIVER_H
#include "common.h"

enum { SVD_OK = 0, SVD_NOT_FINITE = -1, SVD_BAD_BAND = -2, SVD_NO_CONVERGENCE = 1, SVD_BAND_UNVERIFIED = 2 };
enum { FLAG_QR_ITERATION = 1, FLAG_NO_QR_FIRST = 2 }; /* diagnostics: alternative algorithm paths */

/* SVD_NOT_FINITE if a (total entries) holds NaN or ±Inf; otherwise SVD_OK and *scale, the power of two
 * that brings max|a_ij| into [0.5, 1), or 0 when a is all zeros. */
int driver_scale(const double *a, size_t total, double *scale);

/* The tall p×q working copy X (column-major, ld p) of the row-major m×n A, times scale: X = A when m ≥ n,
 * X = Aᵀ otherwise. */
double *driver_tall_copy(const double *a, int m, int n, double scale);

/* Whether the tall p×q X is reduced by QR first (then the bidiagonalisation works on the q×q R). */
int driver_qr_first(int p, int q, int flags);

/* Indices of d by value, largest first. */
int *driver_order_descending(int q, const double *d);

#endif
