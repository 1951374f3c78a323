/* The exact GELU of BERT, RoBERTa and ViT, y = x·Φ(x) with Φ the standard normal CDF, and its gradient
 * dx = dy·(Φ(x) + x·φ(x)), each in one pass over the data. Built from TensorFlow.js's own kernels the
 * activation takes five passes forward (an erf among them) and about eight back.
 *
 * Φ(x) = erfc(−x/√2)/2, with erfc(z) = t·e^(−z² + q(t)), t = 1/(1 + z/2), the Chebyshev-fitted form in
 * Numerical Recipes (§6.2: relative error under 1.2e-7 everywhere, so Φ stays accurate far into the
 * negative tail where x·Φ(x) is tiny), and e^x by range reduction to |r| ≤ ln2/2 and a degree-7
 * polynomial. Both polynomials are long chains of dependent multiply-adds, so K vectors go through each
 * step side by side: with one vector at a time the loop waited on latency (about 7 ns per value measured
 * under V8); four side by side halve that. NaN in, NaN out. No stack is used (as in gemm.c: instances in
 * several threads share this memory), and n must be a multiple of 4·K (the caller pads). */
#include <stddef.h>
#include "simd.h"

#define K 4
#define EACH for (int j = 0; j < K; j++)

static inline v128_t splat(float v) { return wasm_f32x4_splat(v); }

static const float exp_poly[7] = {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f};
static const float erfc_poly[9] = {-0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f};

/* x ← e^x in place: relative error about 1e-7 on [−87, 88.7]; below that 0, above it +∞. */
static inline void vexp(v128_t *x) {
  v128_t too_big[K], too_small[K], n[K], r[K], p[K];
  EACH {
    too_big[j] = wasm_f32x4_gt(x[j], splat(88.7f));
    too_small[j] = wasm_f32x4_lt(x[j], splat(-87.0f));
    x[j] = wasm_f32x4_pmin(wasm_f32x4_pmax(x[j], splat(-87.0f)), splat(88.7f));
  }
  EACH n[j] = wasm_f32x4_nearest(wasm_f32x4_mul(x[j], splat(1.44269504f)));
  /* ln 2 in two parts: n·0.693145752 is exact in float32 for the n that occur */
  EACH r[j] = wasm_f32x4_sub(wasm_f32x4_sub(x[j], wasm_f32x4_mul(n[j], splat(0.693145752f))), wasm_f32x4_mul(n[j], splat(1.42860677e-6f)));
  EACH p[j] = splat(1.0f / 5040.0f);
  for (int i = 0; i < 7; i++) EACH p[j] = wasm_f32x4_add(wasm_f32x4_mul(p[j], r[j]), splat(exp_poly[i]));
  EACH {
    /* 2^n through the exponent bits: n is in [−126, 128) after the clamp */
    v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n[j]), wasm_i32x4_splat(127)), 23);
    v128_t e = wasm_v128_andnot(wasm_f32x4_mul(p[j], scale), too_small[j]);
    x[j] = wasm_v128_bitselect(splat(__builtin_inff()), e, too_big[j]);
  }
}

/* For z = |x|/√2: t, z², and q(t), the exponent's polynomial of erfc(z) = t·e^(−z² + q(t)). */
static inline void erfc_parts(const v128_t *x, v128_t *t, v128_t *z2, v128_t *q) {
  v128_t z[K];
  EACH z[j] = wasm_f32x4_abs(wasm_f32x4_mul(x[j], splat(0.70710678f)));
  EACH t[j] = wasm_f32x4_div(splat(1.0f), wasm_f32x4_add(splat(1.0f), wasm_f32x4_mul(splat(0.5f), z[j])));
  EACH z2[j] = wasm_f32x4_mul(z[j], z[j]);
  EACH q[j] = splat(0.17087277f);
  for (int i = 0; i < 9; i++) EACH q[j] = wasm_f32x4_add(wasm_f32x4_mul(q[j], t[j]), splat(erfc_poly[i]));
}

/* Φ(x) from erfc(|x|/√2): Φ(−|x|) = erfc/2, Φ(|x|) = 1 − erfc/2. NaN lanes stay NaN (every comparison is false). */
static inline v128_t cdf_from_erfc(v128_t x, v128_t erfc) {
  v128_t half = wasm_f32x4_mul(splat(0.5f), erfc);
  v128_t cdf = wasm_v128_bitselect(half, wasm_f32x4_sub(splat(1.0f), half), wasm_f32x4_lt(x, splat(0.0f)));
  return wasm_v128_bitselect(cdf, x, wasm_f32x4_eq(x, x));
}

__attribute__((export_name("gelu_forward"))) void gelu_forward(const float *x, float *y, int n) {
  for (int i = 0; i < n; i += 4 * K) {
    v128_t v[K], t[K], z2[K], q[K];
    EACH v[j] = wasm_v128_load(x + i + 4 * j);
    erfc_parts(v, t, z2, q);
    EACH q[j] = wasm_f32x4_sub(q[j], z2[j]); /* one exponential forward: e^(−z² + q) */
    vexp(q);
    EACH wasm_v128_store(y + i + 4 * j, wasm_f32x4_mul(v[j], cdf_from_erfc(v[j], wasm_f32x4_mul(t[j], q[j]))));
  }
}

/* dy·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π) = e^(−z²)/√(2π): two exponentials, e^(−z²) and e^q. */
__attribute__((export_name("gelu_backward"))) void gelu_backward(const float *x, const float *dy, float *dx, int n) {
  for (int i = 0; i < n; i += 4 * K) {
    v128_t v[K], t[K], z2[K], q[K];
    EACH v[j] = wasm_v128_load(x + i + 4 * j);
    erfc_parts(v, t, z2, q);
    EACH z2[j] = wasm_f32x4_neg(z2[j]);
    vexp(z2); /* now e^(−z²) */
    vexp(q);
    EACH {
      v128_t cdf = cdf_from_erfc(v[j], wasm_f32x4_mul(wasm_f32x4_mul(t[j], z2[j]), q[j]));
      v128_t pdf = wasm_f32x4_mul(z2[j], splat(0.39894228f));
      v128_t g = wasm_f32x4_mul(wasm_v128_load(dy + i + 4 * j), wasm_f32x4_add(cdf, wasm_f32x4_mul(v[j], pdf)));
      wasm_v128_store(dx + i + 4 * j, g);
    }
  }
}
