/* Blocked bidiagonalisation. Half of its 4mn² − 4n³/3 flops are matrix-vector products against the
 * not-yet-updated trailing matrix (inherent to one-stage reduction); the other half are deferred into two
 * GEMMs per panel. Within a panel of nb steps the trailing matrix is kept implicitly as
 *     A⁽ⁱ⁾ = A⁽⁰⁾ − V·Yᵀ − X·Wᵀ,
 * with V the left reflectors, W the right ones, y_i = τ_i·A⁽ⁱ⁾ᵀv_i and x_i = π_i·A⁽ⁱ⁺½⁾u_i: only the
 * current column and row are formed explicitly, and both products with A⁽⁰⁾ share one pass over it. */
#include "bidiag.h"
#include "alloc.h"
#include "blas.h"
#include "householder.h"

#define PANEL 32

/* C ← C·(I − τ·u·uᵀ) for an m×n C, u contiguous. */
static void apply_right(int m, int n, const double *u, double tau, double *c, int ldc, double *work) {
  if (tau == 0.0) return;
  gemv_n(m, n, c, ldc, u, 0.0, work); /* w = C·u */
  for (int j = 0; j < n; j++) vaxpy(m, -tau * u[j], work, c + (size_t)j * ldc);
}

/* One reflector pair at a time; used for small matrices and the last columns. */
static void reduce_unblocked(int m, int n, double *a, int lda, double *d, double *e, double *tauq, double *taup) {
  size_t mark = ws_mark();
  double *work = ws_doubles((size_t)imax(m, n)), *u = ws_doubles((size_t)n);
  for (int i = 0; i < n; i++) {
    double *col = a + i + (size_t)i * lda;
    tauq[i] = householder_make(m - i, col, col + 1, 1);
    d[i] = *col;
    if (i + 1 < n) {
      *col = 1.0;
      householder_apply_left(m - i, n - i - 1, col, tauq[i], col + lda, lda, work);
      *col = d[i];
      double *row = col + lda;
      taup[i] = householder_make(n - i - 1, row, row + lda, lda);
      e[i] = *row;
      u[0] = 1.0;
      for (int j = 1; j < n - i - 1; j++) u[j] = row[(size_t)j * lda];
      apply_right(m - i - 1, n - i - 1, u, taup[i], row + 1, lda, work);
    } else {
      taup[i] = 0.0;
    }
  }
  ws_release(mark);
}

/* The one pass over the trailing matrix per step (Howell et al.'s "BLAS 2.5" fusion): for each column j
 * of A⁽⁰⁾[i:, i+1:], y_j = τ·(a_jᵀv − cy_j) needs the column once, and then the updated row entry
 * r_j = A[i, j] − ry_j − y_j is known, so acc += a_j·r_j can use the column while it is still in cache.
 * acc = A⁽⁰⁾·r over columns i+2.. gives A⁽⁰⁾u later: u = e₁ + (r − r₀e₁)/(r₀ − β), no second pass. */
static void fused_pass(int rows, int cols, double *a, int lda, const double *v, double tau, const double *cy,
                       const double *ry, double *y, double *acc) {
  for (int r = 0; r < rows; r++) acc[r] = 0.0;
  double dots[4];
  int j = 0;
  /* Column 0 (A[:, i+1]) is left out of acc: u's first entry is exactly 1 and is added separately. */
  for (; j < cols && j < 1; j++) {
    double *col = a + (size_t)j * lda;
    double yj = tau * (vdot(rows, col, v) - cy[j]);
    y[j] = yj;
    col[0] = col[0] - ry[j] - yj;
  }
  /* Four columns per sweep: the dots share the loads of v, the updates share the loads of acc. */
  for (; j + 4 <= cols; j += 4) {
    double *c0 = a + (size_t)j * lda;
    gemv_t(rows, 4, c0, lda, v, 0.0, dots);
    double r[4];
    for (int q = 0; q < 4; q++) {
      double *col = c0 + (size_t)q * lda;
      double yj = tau * (dots[q] - cy[j + q]);
      y[j + q] = yj;
      r[q] = col[0] - ry[j + q] - yj;
      col[0] = r[q]; /* row i of A⁽ⁱ⁺½⁾ */
    }
    /* The new row values sit in row 0 of these columns now; acc's entry 0 is never used. */
    gemv_n(rows, 4, c0, lda, r, 1.0, acc);
  }
  for (; j < cols; j++) {
    double *col = a + (size_t)j * lda;
    double yj = tau * (vdot(rows, col, v) - cy[j]);
    double rj = col[0] - ry[j] - yj;
    y[j] = yj;
    col[0] = rj;
    vaxpy(rows, rj, col, acc);
  }
}

/* nb steps on the m×n matrix a (m ≥ n > nb), then the trailing update by two GEMMs. */
static void reduce_panel(int m, int n, int nb, double *a, int lda, double *d, double *e, double *tauq,
                         double *taup, double *vb, double *wb, double *x, double *y, double *t1, double *t2,
                         double *tmp, double *cy, double *ry, double *acc) {
  for (int i = 0; i < nb; i++) {
    double *col = a + i + (size_t)i * lda;
    /* Column i of A⁽ⁱ⁾, rows i..m−1. */
    if (i > 0) {
      for (int j = 0; j < i; j++) t1[j] = y[i + (size_t)j * n], t2[j] = wb[i + (size_t)j * n];
      gemv_n(m - i, i, vb + i, m, t1, 0.0, tmp);
      gemv_n(m - i, i, x + i, m, t2, 1.0, tmp);
      for (int r = 0; r < m - i; r++) col[r] -= tmp[r];
    }
    tauq[i] = householder_make(m - i, col, col + 1, 1);
    d[i] = *col;
    double *vi = vb + (size_t)i * m;
    for (int r = 0; r < i; r++) vi[r] = 0.0;
    vi[i] = 1.0;
    for (int r = i + 1; r < m; r++) vi[r] = a[r + (size_t)i * lda];

    /* Corrections from the earlier steps of the panel, for y_i (cy) and for row i (ry):
     * y_i = τ·(A⁽⁰⁾ᵀv − Y(Vᵀv) − W(Xᵀv)),  row_i = A⁽⁰⁾[i,:] − Y·V[i,:]ᵀ − W·X[i,:]ᵀ (y_i's part apart). */
    int nt = n - i - 1;
    double *yi = y + (size_t)i * n;
    for (int r = 0; r <= i; r++) yi[r] = 0.0;
    if (i > 0) {
      gemv_t(m - i, i, vb + i, m, vi + i, 0.0, t1);
      gemv_t(m - i, i, x + i, m, vi + i, 0.0, t2);
      gemv_n(nt, i, y + i + 1, n, t1, 0.0, cy);
      gemv_n(nt, i, wb + i + 1, n, t2, 1.0, cy);
      for (int j = 0; j < i; j++) t1[j] = vb[i + (size_t)j * m], t2[j] = x[i + (size_t)j * m];
      gemv_n(nt, i, y + i + 1, n, t1, 0.0, ry);
      gemv_n(nt, i, wb + i + 1, n, t2, 1.0, ry);
    } else {
      for (int j = 0; j < nt; j++) cy[j] = ry[j] = 0.0;
    }
    double *row = col + lda;
    fused_pass(m - i, nt, row, lda, vi + i, tauq[i], cy, ry, yi + i + 1, acc);

    double r0 = row[0];
    taup[i] = householder_make(nt, row, row + lda, lda);
    e[i] = *row;
    double *ui = wb + (size_t)i * n;
    for (int r = 0; r <= i; r++) ui[r] = 0.0;
    ui[i + 1] = 1.0;
    for (int r = i + 2; r < n; r++) ui[r] = row[(size_t)(r - i - 1) * lda];

    /* x_i = π·(A⁽⁰⁾u − V(Yᵀu) − X(Wᵀu)), entries i+1..m−1; A⁽⁰⁾u = a_{i+1} + acc/(r₀ − β). */
    double *xi = x + (size_t)i * m;
    for (int r = 0; r <= i; r++) xi[r] = 0.0;
    if (taup[i] == 0.0) {
      for (int r = i + 1; r < m; r++) xi[r] = 0.0;
      continue;
    }
    double inv = 1.0 / (r0 - e[i]);
    const double *next_col = row + 1; /* A⁽⁰⁾[i+1:, i+1] */
    for (int r = 0; r < m - i - 1; r++) xi[i + 1 + r] = next_col[r] + inv * acc[r + 1];
    gemv_t(nt, i + 1, y + i + 1, n, ui + i + 1, 0.0, t1);
    gemv_n(m - i - 1, i + 1, vb + i + 1, m, t1, 0.0, tmp);
    if (i > 0) {
      gemv_t(nt, i, wb + i + 1, n, ui + i + 1, 0.0, t2);
      gemv_n(m - i - 1, i, x + i + 1, m, t2, 1.0, tmp);
    }
    for (int r = 0; r < m - i - 1; r++) xi[i + 1 + r] = taup[i] * (xi[i + 1 + r] - tmp[r]);
  }
  /* Trailing matrix: A⁽ⁿᵇ⁾ = A⁽⁰⁾ − V·Yᵀ − X·Wᵀ. */
  double *trail = a + nb + (size_t)nb * lda;
  gemm(0, 1, m - nb, n - nb, nb, -1.0, vb + nb, m, y + nb, n, 1.0, trail, lda);
  gemm(0, 1, m - nb, n - nb, nb, -1.0, x + nb, m, wb + nb, n, 1.0, trail, lda);
}

void bidiag_reduce(int m, int n, double *a, int lda, double *d, double *e, double *tauq, double *taup) {
  size_t mark = ws_mark();
  int i = 0;
  if (n > 2 * PANEL) {
    double *vb = ws_doubles((size_t)m * PANEL), *x = ws_doubles((size_t)m * PANEL);
    double *wb = ws_doubles((size_t)n * PANEL), *y = ws_doubles((size_t)n * PANEL);
    double *t1 = ws_doubles(PANEL + 1), *t2 = ws_doubles(PANEL + 1), *tmp = ws_doubles((size_t)m);
    double *cy = ws_doubles((size_t)n), *ry = ws_doubles((size_t)n), *acc = ws_doubles((size_t)m);
    for (; n - i > 2 * PANEL; i += PANEL)
      reduce_panel(m - i, n - i, PANEL, a + i + (size_t)i * lda, lda, d + i, e + i, tauq + i, taup + i, vb, wb, x, y,
                   t1, t2, tmp, cy, ry, acc);
  }
  reduce_unblocked(m - i, n - i, a + i + (size_t)i * lda, lda, d + i, e + i, tauq + i, taup + i);
  ws_release(mark);
}
