/**
 * Element types of checkpoint tensors, named as the safetensors header names them, and conversions
 * between their little-endian bytes and float64 (the engine's working precision).
 */

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL'

/** Bytes per element. */
export const dtypeByteSize: Readonly<Record<Dtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1
}

export const dtypes: readonly Dtype[] = Object.keys(dtypeByteSize) as Dtype[]

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && Object.hasOwn(dtypeByteSize, value)
}

export function isFloatDtype(dtype: Dtype): boolean {
  return dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16'
}

/** Number of elements of a shape; an empty shape is a scalar (one element). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((count, size) => count * size, 1)
}

// Typed-array views read host byte order; every platform Node ships for is little-endian, but a
// big-endian host would silently read garbage, so those take the slower DataView path below.
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Values of little-endian `bytes` holding `dtype` elements, widened to float64.
 * I64 goes through BigInt64Array → Number: integers beyond ±2^53 lose precision (rounded to nearest).
 * BOOL decodes any non-zero byte as 1.
 */
export function decodeToFloat64(bytes: Uint8Array, dtype: Dtype): Float64Array {
  const size = dtypeByteSize[dtype]
  if (bytes.byteLength % size !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements (${size} bytes each)`)
  }
  const count = bytes.byteLength / size
  const out = new Float64Array(count)
  if (dtype === 'U8') {
    out.set(bytes)
    return out
  }
  if (dtype === 'BOOL') {
    for (let i = 0; i < count; i++) out[i] = bytes[i] === 0 ? 0 : 1
    return out
  }
  if (!littleEndianHost) return decodeWithDataView(bytes, dtype, out)
  // A view needs an element-aligned start; copy once when the caller's bytes are not aligned.
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice()
  const { buffer, byteOffset } = aligned
  switch (dtype) {
    case 'F64':
      out.set(new Float64Array(buffer, byteOffset, count))
      break
    case 'F32':
      out.set(new Float32Array(buffer, byteOffset, count))
      break
    case 'I32':
      out.set(new Int32Array(buffer, byteOffset, count))
      break
    case 'I16':
      out.set(new Int16Array(buffer, byteOffset, count))
      break
    case 'I8':
      out.set(new Int8Array(buffer, byteOffset, count))
      break
    case 'I64': {
      const view = new BigInt64Array(buffer, byteOffset, count)
      for (let i = 0; i < count; i++) out[i] = Number(view[i])
      break
    }
    case 'F16': {
      const view = new Uint16Array(buffer, byteOffset, count)
      const table = float16Table()
      for (let i = 0; i < count; i++) out[i] = table[view[i]!]!
      break
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: widen the bits and let a Float32Array view decode them.
      const view = new Uint16Array(buffer, byteOffset, count)
      const widened = new Uint32Array(count)
      for (let i = 0; i < count; i++) widened[i] = view[i]! << 16
      out.set(new Float32Array(widened.buffer))
      break
    }
  }
  return out
}

function decodeWithDataView(bytes: Uint8Array, dtype: Dtype, out: Float64Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const size = dtypeByteSize[dtype]
  const read: (offset: number) => number = {
    F64: (o: number) => view.getFloat64(o, true),
    F32: (o: number) => view.getFloat32(o, true),
    F16: (o: number) => float16BitsToNumber(view.getUint16(o, true)),
    BF16: (o: number) => bfloat16BitsToNumber(view.getUint16(o, true)),
    I64: (o: number) => Number(view.getBigInt64(o, true)),
    I32: (o: number) => view.getInt32(o, true),
    I16: (o: number) => view.getInt16(o, true),
    I8: (o: number) => view.getInt8(o),
    U8: (o: number) => view.getUint8(o),
    BOOL: (o: number) => (view.getUint8(o) === 0 ? 0 : 1)
  }[dtype]
  for (let i = 0; i < out.length; i++) out[i] = read(i * size)
  return out
}

const scratch = new DataView(new ArrayBuffer(4))

let float16Values: Float64Array | undefined

/** All 65,536 float16 values, built once: a lookup is much cheaper than decoding bits per element. */
function float16Table(): Float64Array {
  if (!float16Values) {
    float16Values = new Float64Array(1 << 16)
    for (let bits = 0; bits < 1 << 16; bits++) float16Values[bits] = float16BitsToNumber(bits)
  }
  return float16Values
}

export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * fraction * 2 ** -24
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN
  return sign * (1024 + fraction) * 2 ** (exponent - 25)
}

export function bfloat16BitsToNumber(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16)
  return scratch.getFloat32(0)
}

export function float32BitsToNumber(bits: number): number {
  scratch.setUint32(0, bits >>> 0)
  return scratch.getFloat32(0)
}

/** IEEE binary32 bits of the float32 nearest to `value` (ties to even; Math.fround rounds that way). */
export function float32Bits(value: number): number {
  scratch.setFloat32(0, value)
  return scratch.getUint32(0)
}

/**
 * Bits of the IEEE binary16 nearest to `value`, rounded as if straight from float64 with ties to
 * even: subnormals are exact multiples of 2^-24, anything from 65520 up overflows to Infinity, -0
 * keeps its sign and NaN stays a quiet NaN.
 */
export function float16Bits(value: number): number {
  return roundThroughFloat32(value, 10, 15)
}

/**
 * Bits of the bfloat16 nearest to `value`, rounded as if straight from float64 with ties to even.
 * Libraries that round float64 → float32 → bfloat16 in two plain steps (PyTorch does) can land on a
 * tie in the first step and differ by one unit in the last place; this one does not.
 */
export function bfloat16Bits(value: number): number {
  return roundThroughFloat32(value, 7, 127)
}

const float32Scratch = new Float32Array(1)
const float32ScratchBits = new Uint32Array(float32Scratch.buffer)

/**
 * Round a float64 to a binary format narrower than float32 (`fractionBits` stored fraction bits,
 * exponent `bias`) and return its bits. It rounds to float32 first, which is fast, and is still
 * correctly rounded: every midpoint between two neighbours of the narrow format is itself a float32,
 * so the float32 step can land on a midpoint but never cross one. Only when it lands exactly on one
 * do we need to know which side the float64 was on, and the float64 itself tells us.
 */
function roundThroughFloat32(value: number, fractionBits: number, bias: number): number {
  const exponentBits = fractionBits === 10 ? 5 : 8
  const signBit = value < 0 || Object.is(value, -0) ? 1 << (exponentBits + fractionBits) : 0
  const infinityBits = ((1 << exponentBits) - 1) << fractionBits
  if (Number.isNaN(value)) return signBit | infinityBits | (1 << (fractionBits - 1))
  float32Scratch[0] = value
  const rounded = float32Scratch[0]!
  const magnitudeBits = float32ScratchBits[0]! & 0x7fffffff
  const float32Exponent = magnitudeBits >>> 23
  if (float32Exponent === 0xff) return signBit | infinityBits
  // significand · 2^(exponent − 23) is the float32's magnitude (no implicit bit for its subnormals).
  const significand = float32Exponent === 0 ? magnitudeBits & 0x7fffff : (magnitudeBits & 0x7fffff) | 0x800000
  const exponent = float32Exponent === 0 ? -126 : float32Exponent - 127
  const minNormalExponent = 1 - bias
  if (exponent > bias) return signBit | infinityBits
  const targetExponent = Math.max(exponent, minNormalExponent)
  // Units of the target's last place; below its normal range they share the smallest normal's unit.
  const shift = 23 - fractionBits + (targetExponent - exponent)
  let ulps: number
  if (shift > 24) ulps = 0 // below half the smallest subnormal: rounds to zero
  else {
    ulps = significand >>> shift
    const rest = significand & ((1 << shift) - 1)
    const half = 1 << (shift - 1)
    if (rest > half) ulps += 1
    else if (rest === half) {
      if (rounded !== value) ulps += Math.abs(value) > Math.abs(rounded) ? 1 : 0
      else ulps += ulps & 1
    }
  }
  // ulps lies in [2^fractionBits, 2^(fractionBits+1)] for normals (the top end carries into the next
  // exponent) and below 2^fractionBits for subnormals, so one sum composes both.
  const bits = (targetExponent - minNormalExponent) * (1 << fractionBits) + ulps
  return signBit | Math.min(bits, infinityBits)
}

export type FloatEncoding = 'F64' | 'F32' | 'F16' | 'BF16'

/** Little-endian bytes of `values` rounded to a floating-point dtype (ties to even). */
export function encodeFloat64(values: ArrayLike<number>, dtype: FloatEncoding): Uint8Array {
  const count = values.length
  const bytes = new Uint8Array(count * dtypeByteSize[dtype])
  const view = new DataView(bytes.buffer)
  switch (dtype) {
    case 'F64':
      for (let i = 0; i < count; i++) view.setFloat64(i * 8, values[i]!, true)
      break
    case 'F32':
      for (let i = 0; i < count; i++) view.setFloat32(i * 4, values[i]!, true)
      break
    case 'F16':
      for (let i = 0; i < count; i++) view.setUint16(i * 2, float16Bits(values[i]!), true)
      break
    case 'BF16':
      for (let i = 0; i < count; i++) view.setUint16(i * 2, bfloat16Bits(values[i]!), true)
      break
  }
  return bytes
}
