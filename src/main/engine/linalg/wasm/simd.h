/* The one SIMD operation that differs between the two builds of the kernel (scripts/build-wasm.mjs):
 * vmadd(x, y, acc) = x·y + acc on f64x2 lanes. The plain build multiplies and adds (two roundings); the
 * relaxed build (SVD_RELAXED_SIMD) emits f64x2.relaxed_madd, which the engine may fuse into one FMA
 * (one rounding) or not, per the relaxed-SIMD proposal: the algorithms here are accurate either way.
 *
 * clang 14 knows the instruction only by its prototype name, __builtin_wasm_fma_f64x2, and encodes it with
 * the prototype's opcode (0xfd 0xcf 0x01); the build script rewrites each one to the standardised
 * f64x2.relaxed_madd (0xfd 0x87 0x02, same length) whose semantics are a·b + c for operands pushed as
 * a, b, c. Hence x, y, acc in that order. */
#ifndef SVD_SIMD_H
#define SVD_SIMD_H
#include <wasm_simd128.h>

#ifdef SVD_RELAXED_SIMD
#if !__has_builtin(__builtin_wasm_fma_f64x2)
#error "the relaxed build needs clang 14's __builtin_wasm_fma_f64x2, which build-wasm.mjs re-encodes"
#endif
static inline v128_t vmadd(v128_t x, v128_t y, v128_t acc) { return __builtin_wasm_fma_f64x2(x, y, acc); }
#else
static inline v128_t vmadd(v128_t x, v128_t y, v128_t acc) { return wasm_f64x2_add(acc, wasm_f64x2_mul(x, y)); }
#endif

#endif
