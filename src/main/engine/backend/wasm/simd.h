/* The one SIMD operation that differs between the two builds of the matmul (scripts/build-wasm.mjs):
 * vmadd(x, y, acc) = x·y + acc on f32x4 lanes. The plain build multiplies and adds (two roundings); the
 * relaxed build (GEMM_RELAXED_SIMD) emits f32x4.relaxed_madd, one fused multiply-add where the CPU has
 * FMA. clang 14 knows it only as __builtin_wasm_fma_f32x4 and encodes the prototype's opcode, which the
 * build script rewrites to the standardised one (same operand order: x, y, acc). */
#ifndef GEMM_SIMD_H
#define GEMM_SIMD_H
#include <wasm_simd128.h>

#ifdef GEMM_RELAXED_SIMD
#if !__has_builtin(__builtin_wasm_fma_f32x4)
#error "the relaxed build needs clang 14's __builtin_wasm_fma_f32x4, which build-wasm.mjs re-encodes"
#endif
static inline v128_t vmadd(v128_t x, v128_t y, v128_t acc) { return __builtin_wasm_fma_f32x4(x, y, acc); }
#else
static inline v128_t vmadd(v128_t x, v128_t y, v128_t acc) { return wasm_f32x4_add(acc, wasm_f32x4_mul(x, y)); }
#endif

#endif
