/* The exact GELU of BERT, RoBERTa and ViT, y = x·Φ(x) with Φ the standard normal CDF, and its gradient
 * dx = dy·(Φ(x) + x·φ(x)), each in one pass over the data. Built from TensorFlow.js's own kernels the
 * activation takes five passes forward (an erf among them) and about eight back; on a BERT-base-wide
 * SiVA step that was about 6% of the time.
 *
 * Φ(x) = erfc(−x/√2)/2, with erfc from the Chebyshev-fitted form in Numerical Recipes (§6.2: relative
 * error under 1.2e-7 everywhere, so Φ stays accurate far into the negative tail where x·Φ(x) is tiny),
 * and e^x by range reduction to |r| ≤ ln2/2 and a degree-7 polynomial. Four lanes at a time. NaN in, NaN out. */
#include <stddef.h>
#include "simd.h"

static inline v128_t splat(float v) { return wasm_f32x4_splat(v); }

/* e^x, relative error about 1e-7 on [−87, 88.7]; below that 0, above it +∞. */
static inline v128_t vexp(v128_t x) {
  v128_t too_big = wasm_f32x4_gt(x, splat(88.7f));
  v128_t too_small = wasm_f32x4_lt(x, splat(-87.0f));
  x = wasm_f32x4_pmax(x, splat(-87.0f));
  x = wasm_f32x4_pmin(x, splat(88.7f));
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, splat(1.44269504f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, splat(0.693145752f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, splat(1.42860677e-6f)));
  v128_t p = splat(1.0f / 5040.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.0f / 720.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.0f / 120.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.0f / 24.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.0f / 6.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.0f));
  /* 2^n through the exponent bits: n is in [−126, 128) after the clamps. */
  v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  v128_t e = wasm_f32x4_mul(p, scale);
  e = wasm_v128_andnot(e, too_small);
  return wasm_v128_bitselect(splat(__builtin_inff()), e, too_big);
}

/* t = 1/(1 + z/2) and the exponent's polynomial q(t) of erfc(z) = t·e^(−z² + q(t)), z = |x|/√2 ≥ 0. */
static inline v128_t erfc_poly(v128_t x, v128_t *t_out, v128_t *z2_out) {
  v128_t z = wasm_f32x4_abs(wasm_f32x4_mul(x, splat(0.70710678f)));
  v128_t t = wasm_f32x4_div(splat(1.0f), wasm_f32x4_add(splat(1.0f), wasm_f32x4_mul(splat(0.5f), z)));
  v128_t q = splat(0.17087277f);
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), splat(-0.82215223f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), splat(1.48851587f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), splat(-1.13520398f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), splat(0.27886807f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), splat(-0.18628806f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), splat(0.09678418f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), splat(0.37409196f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), splat(1.00002368f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), splat(-1.26551223f));
  *t_out = t;
  *z2_out = wasm_f32x4_mul(z, z);
  return q;
}

/* Φ(x) from erfc(|x|/√2): Φ(−|x|) = erfc/2, Φ(|x|) = 1 − erfc/2. NaN lanes stay NaN (every comparison is false). */
static inline v128_t cdf_from_erfc(v128_t x, v128_t erfc) {
  v128_t half = wasm_f32x4_mul(splat(0.5f), erfc);
  v128_t cdf = wasm_v128_bitselect(half, wasm_f32x4_sub(splat(1.0f), half), wasm_f32x4_lt(x, splat(0.0f)));
  return wasm_v128_bitselect(cdf, x, wasm_f32x4_eq(x, x));
}

static inline v128_t gelu4(v128_t x) {
  v128_t t, z2;
  v128_t q = erfc_poly(x, &t, &z2);
  v128_t erfc = wasm_f32x4_mul(t, vexp(wasm_f32x4_sub(q, z2))); /* one exponential forward */
  return wasm_f32x4_mul(x, cdf_from_erfc(x, erfc));
}

/* dy·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π): backward needs e^(−z²) = e^(−x²/2) on its own, so two exponentials. */
static inline v128_t gelu_grad4(v128_t x, v128_t dy) {
  v128_t t, z2;
  v128_t q = erfc_poly(x, &t, &z2);
  v128_t gauss = vexp(wasm_f32x4_neg(z2));
  v128_t cdf = cdf_from_erfc(x, wasm_f32x4_mul(wasm_f32x4_mul(t, gauss), vexp(q)));
  v128_t pdf = wasm_f32x4_mul(gauss, splat(0.39894228f));
  return wasm_f32x4_mul(dy, wasm_f32x4_add(cdf, wasm_f32x4_mul(x, pdf)));
}

__attribute__((export_name("gelu_forward"))) void gelu_forward(const float *x, float *y, int n) {
  for (int i = 0; i < n; i += 4) wasm_v128_store(y + i, gelu4(wasm_v128_load(x + i)));
}

__attribute__((export_name("gelu_backward"))) void gelu_backward(const float *x, const float *dy, float *dx, int n) {
  for (int i = 0; i < n; i += 4) wasm_v128_store(dx + i, gelu_grad4(wasm_v128_load(x + i), wasm_v128_load(dy + i)));
}
