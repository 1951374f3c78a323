import { describe, expect, it } from 'vitest'
import {
  bfloat16Bits,
  bfloat16BitsToNumber,
  decodeToFloat64,
  dtypeByteSize,
  encodeFloat64,
  float16Bits,
  float16BitsToNumber,
  float32Bits
} from '../../../src/main/engine/io'
import { float64Hex, runReference } from './helpers'

/** Values where rounding is easy to get wrong: ties, subnormals, overflow edges, signed zero, NaN. */
const tricky = [
  0, -0, 1, -1, 0.1, -0.1, 1 / 3, Math.PI, 1e10, -1e-10, Infinity, -Infinity, NaN,
  // float16: ties at 1 (to even: down, then up), the largest finite value and the overflow threshold
  1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99999, 65520, -65520, 65536,
  // float16 subnormals: smallest, the tie below it (to 0), a tie between subnormals, the top edge
  2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -14 - 2 ** -25, 2 ** -14, 2 ** -14 - 2 ** -24, 5e-324, -5e-324,
  // bfloat16: ties at 1, the double-rounding trap (a tie only after rounding to float32), overflow edges
  1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -30, -(1 + 2 ** -8 + 2 ** -40),
  3.3895313892515355e38, 3.3895313892515355e38 + 2 ** 119, 3.3895313892515355e38 + 2 ** 120, 3.4e38, 1e39,
  // bfloat16 subnormals
  2 ** -133, 2 ** -134, 3 * 2 ** -134, 1e-40, -9.2e-41, 2 ** -126 - 2 ** -134,
  // float32: ties at 1, overflow threshold, smallest subnormal and the tie below it
  1 + 2 ** -24, 1 + 3 * 2 ** -24, 3.4028235677973366e38, 3.4028234663852886e38, 2 ** -149, 2 ** -150, 3 * 2 ** -150
]

/** A reproducible spread of magnitudes from 1e-50 to 1e40, both signs. */
function sweep(count: number): number[] {
  let state = 12345
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state / 2 ** 31
  }
  return Array.from({ length: count }, () => (next() < 0.5 ? -1 : 1) * 10 ** (next() * 90 - 50) * (1 + next()))
}

/**
 * Midpoints between neighbouring float16 and bfloat16 values, and values a hair either side of them:
 * where a rounding that goes through float32 would go wrong if it did not check the float64.
 */
function nearTies(count: number): number[] {
  const values: number[] = []
  for (let i = 0; i < count; i++) {
    const half = (i * 7919) % 0x7bff
    const brain = (i * 104729) % 0x7f7f
    for (const [low, high] of [
      [float16BitsToNumber(half), float16BitsToNumber(half + 1)],
      [bfloat16BitsToNumber(brain), bfloat16BitsToNumber(brain + 1)]
    ] as const) {
      const midpoint = (low + high) / 2
      const hair = Math.max(midpoint * 2 ** -40, Number.MIN_VALUE)
      values.push(midpoint, midpoint + hair, midpoint - hair, -midpoint)
    }
  }
  return values
}

interface Rounded {
  f32: number[]
  f16: number[]
  bf16: number[]
  bf16ViaFloat32: number[]
}

function isNaNBits(bits: number, exponentMask: number, fractionMask: number): boolean {
  return (bits & exponentMask) === exponentMask && (bits & fractionMask) !== 0
}

describe('dtypes', () => {
  it('knows the byte size of every safetensors dtype', () => {
    expect(dtypeByteSize).toEqual({ F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 })
  })

  it('rounds float64 to F32, F16 and BF16 bit for bit like the numpy reference', () => {
    const values = [...tricky, ...sweep(3000), ...nearTies(500)]
    const reference = runReference<Rounded>(['round'], JSON.stringify({ float64Hex: float64Hex(Float64Array.from(values)) }))
    const mismatches: string[] = []
    values.forEach((value, i) => {
      const checks: [string, number, number, number, number][] = [
        ['F32', float32Bits(value), reference.f32[i]!, 0x7f800000, 0x007fffff],
        ['F16', float16Bits(value), reference.f16[i]!, 0x7c00, 0x03ff],
        ['BF16', bfloat16Bits(value), reference.bf16[i]!, 0x7f80, 0x007f]
      ]
      for (const [dtype, ours, theirs, exponentMask, fractionMask] of checks) {
        // NaN payload and sign are not observable for a JS number, so any NaN matches any NaN.
        const same = Number.isNaN(value) ? isNaNBits(ours, exponentMask, fractionMask) && isNaNBits(theirs, exponentMask, fractionMask) : ours === theirs
        if (!same) mismatches.push(`${dtype}(${value}): ours ${ours.toString(16)}, reference ${theirs.toString(16)}`)
      }
    })
    expect(mismatches).toEqual([])
  })

  it('rounds straight from float64 to bfloat16, not through float32 (which rounds twice)', () => {
    const value = 1 + 2 ** -8 + 2 ** -30
    const reference = runReference<Rounded>(['round'], JSON.stringify({ float64Hex: float64Hex(Float64Array.of(value)) }))
    expect(bfloat16Bits(value)).toBe(0x3f81)
    expect(reference.bf16[0]).toBe(0x3f81)
    // float32 first lands exactly on the tie 1 + 2^-8, which then goes to the even neighbour 1.0
    expect(reference.bf16ViaFloat32[0]).toBe(0x3f80)
  })

  it('keeps the sign of zero and NaN-ness, and overflows to infinity', () => {
    expect(float16Bits(-0)).toBe(0x8000)
    expect(bfloat16Bits(-0)).toBe(0x8000)
    expect(float16Bits(1e6)).toBe(0x7c00)
    expect(float16Bits(-1e6)).toBe(0xfc00)
    expect(bfloat16Bits(1e39)).toBe(0x7f80)
    expect(Number.isNaN(float16BitsToNumber(float16Bits(NaN)))).toBe(true)
    expect(Number.isNaN(bfloat16BitsToNumber(bfloat16Bits(NaN)))).toBe(true)
    expect(float16BitsToNumber(0x0001)).toBe(2 ** -24)
    expect(float16BitsToNumber(0x7bff)).toBe(65504)
  })

  it('decodes what it encodes, for values each format holds exactly', () => {
    const exact = Float64Array.of(0, -0, 1, -2.5, 0.375, 2 ** -24, 65504, Infinity, -Infinity)
    for (const dtype of ['F64', 'F32', 'F16', 'BF16'] as const) {
      const decoded = decodeToFloat64(encodeFloat64(exact, dtype), dtype)
      expect(Array.from(decoded), dtype).toEqual(Array.from(exact).map((v) => (dtype === 'BF16' && v === 65504 ? 65536 : v)))
    }
  })

  it('decodes integers, booleans and bytes that are not aligned in their buffer', () => {
    const bytes = new Uint8Array(1 + 16)
    const view = new DataView(bytes.buffer, 1)
    view.setBigInt64(0, 2n ** 53n + 1n, true)
    view.setBigInt64(8, -(2n ** 63n), true)
    const unaligned = bytes.subarray(1)
    // I64 goes through Number: 2^53 + 1 is not a float64, so it rounds to 2^53 (documented precision loss).
    expect(Array.from(decodeToFloat64(unaligned, 'I64'))).toEqual([2 ** 53, -(2 ** 63)])
    expect(Array.from(decodeToFloat64(Uint8Array.of(0, 1, 7, 255), 'BOOL'))).toEqual([0, 1, 1, 1])
    expect(Array.from(decodeToFloat64(Uint8Array.of(255, 128), 'I8'))).toEqual([-1, -128])
    expect(Array.from(decodeToFloat64(Uint8Array.of(255, 128), 'U8'))).toEqual([255, 128])
    expect(() => decodeToFloat64(new Uint8Array(3), 'F32')).toThrow(/whole number of F32 elements/)
  })
})
