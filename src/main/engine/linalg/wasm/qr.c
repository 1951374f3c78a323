#include "qr.h"
#include "alloc.h"
#include "blas.h"
#include "householder.h"

/* Unblocked QR of a panel: reflector i zeroes A[i+1:, i] and is applied to the panel's later columns. */
static void qr_panel(int m, int n, double *a, int lda, double *tau, double *work) {
  for (int i = 0; i < n && i < m; i++) {
    double *col = a + i + (size_t)i * lda;
    tau[i] = householder_make(m - i, col, col + 1, 1);
    if (i + 1 < n && tau[i] != 0.0) {
      double diag = *col;
      *col = 1.0; /* v_i = (1, A[i+1:, i]) in place for the update */
      householder_apply_left(m - i, n - i - 1, col, tau[i], col + lda, lda, work);
      *col = diag;
    }
  }
}

void qr_factor(int m, int n, double *a, int lda, double *tau) {
  size_t mark = ws_mark();
  double *work = ws_doubles(HH_BLOCK);
  double *v = ws_doubles((size_t)m * HH_BLOCK), *t = ws_doubles(HH_BLOCK * HH_BLOCK);
  for (int j = 0; j < n; j += HH_BLOCK) {
    int nb = imin(HH_BLOCK, n - j), rows = m - j;
    double *panel = a + j + (size_t)j * lda;
    qr_panel(rows, nb, panel, lda, tau + j, work);
    if (j + nb < n) {
      /* Trailing columns get Qᵀ of the panel: (H_j⋯H_{j+nb−1})ᵀ = I − V·Tᵀ·Vᵀ. */
      householder_unpack(rows, nb, panel, lda, v, rows);
      householder_block_t(rows, nb, v, rows, tau + j, t, HH_BLOCK);
      householder_block_apply(1, rows, n - j - nb, nb, v, rows, t, HH_BLOCK, panel + (size_t)nb * lda, lda);
    }
  }
  ws_release(mark);
}
