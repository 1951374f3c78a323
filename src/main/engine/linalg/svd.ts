/**
 * Thin SVD of a dense float64 matrix, A = U·diag(s)·Vᵀ, computed by the WebAssembly kernel in ./wasm
 * (QR-first for tall shapes, blocked Householder bidiagonalisation, divide and conquer, blocked
 * back-transformation: the algorithm class of LAPACK's dgesdd, backward stable).
 */
import { firstNonFinite } from './finite'
import { svdKernel, wasmApi } from './svdKernel'

export interface SvdOptions {
  /** Compute U and Vᵀ as well as σ (default true). Values only is several times cheaper. */
  vectors?: boolean
  /** What the matrix is, for error messages: "tensor NAME", "block k of tensor NAME (columns a–b)". */
  name?: string
}

export interface SvdResult {
  m: number
  n: number
  /** r = min(m, n): the number of singular values, not the numerical rank. */
  rank: number
  /** r singular values, descending, ≥ 0. */
  s: Float64Array
  /** m×r, row-major: column i is the left singular vector of s[i]. */
  u?: Float64Array
  /** r×n, row-major: row i is the right singular vector of s[i]. */
  vt?: Float64Array
}

/** The input cannot be decomposed: wrong dimensions, NaN/Infinity entries, or σ beyond float64. */
export class SvdInputError extends Error {
  override name = 'SvdInputError'
}

/** The kernel's QR sweeps reached their iteration limit. */
export class SvdConvergenceError extends Error {
  override name = 'SvdConvergenceError'
}

/** WebAssembly memory could not grow to hold the matrix and its workspace. */
export class SvdMemoryError extends Error {
  override name = 'SvdMemoryError'
}

export const STATUS_NOT_FINITE = -1
export const STATUS_NO_CONVERGENCE = 1

/**
 * Kernel switches for cross-checks in tests, not for production use: `qrIteration` computes the bidiagonal
 * SVD's vectors by QR iteration instead of divide and conquer (slow, independent); `noQrFirst` skips the
 * QR step for tall shapes.
 */
export interface SvdKernelSwitches {
  qrIteration?: boolean
  noQrFirst?: boolean
  /** Hand the kernel the entries as they are, not brought into range first (see rangeExponent). */
  noScaling?: boolean
}

/**
 * Entries whose largest magnitude lies outside [2^-460, 2^460] are multiplied by a power of two before
 * the kernel sees them, and σ by its inverse after, as LAPACK's dgesdd does (its bounds, √safmin/ε and
 * its inverse, are about 2^±459). Without it a matrix of subnormal values never converges (the sweeps'
 * tests compare with ε·|d|, which underflows to 0), and squares of values near the top of the range
 * overflow. A power of two changes no significant bit, and a matrix inside the bounds is left as it is,
 * so its decomposition is bit for bit what it was.
 */
const scaleBound = 2 ** 460

/** The power of two e such that a·2^-e has its largest magnitude in [0.5, 1), or 0 when a is in range (or not finite). */
export function rangeExponent(a: Float64Array): number {
  let largest = 0
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]!)
    if (x > largest) largest = x
    else if (x !== x) return 0 // NaN: the kernel reports it
  }
  if (largest === 0 || !Number.isFinite(largest) || (largest >= 1 / scaleBound && largest <= scaleBound)) return 0
  return Math.floor(Math.log2(largest)) + 1
}

/** 2^e as an exact double for any e in [-1074, 1023 + 1074], in two steps where one would leave the range. */
export function scaleBy(values: Float64Array, e: number): void {
  const first = Math.trunc(e / 2)
  const a = 2 ** first
  const b = 2 ** (e - first)
  for (let i = 0; i < values.length; i++) values[i] = values[i]! * a * b
}

/** σ (descending) of the matrix that was scaled by 2^-e, back in the caller's scale; throws where σ_max is beyond float64. */
export function restoreScale(s: Float64Array, e: number, what: string): void {
  if (e === 0 || s.length === 0) return
  const largest = s[0]!
  scaleBy(s, e)
  if (!Number.isFinite(s[0]!)) {
    throw new SvdInputError(`SVD of ${what}: its largest singular value, about ${describeScaled(largest, e)}, is beyond the largest float64 (1.8e+308)`)
  }
}

/** "9.9e+308" for σ·2^e, which may itself be beyond float64. */
function describeScaled(s: number, e: number): string {
  const log10 = Math.log10(s) + e * Math.log10(2)
  let exponent = Math.floor(log10)
  let mantissa = 10 ** (log10 - exponent)
  if (Number(mantissa.toFixed(1)) >= 10) {
    mantissa /= 10
    exponent++
  }
  return `${mantissa.toFixed(1)}e${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`
}

/** "a 16×8 matrix", or "the 16×8 tensor NAME": how errors name the matrix. */
export function describeMatrix(m: number, n: number, name: string | undefined): string {
  return name === undefined ? `a ${m}×${n} matrix` : `the ${m}×${n} ${name}`
}

export function checkDimensions(a: Float64Array, m: number, n: number): void {
  if (!(a instanceof Float64Array)) throw new SvdInputError('the matrix must be a Float64Array')
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 1 || n < 1) {
    throw new SvdInputError(`dimensions must be positive integers, got ${m}×${n}`)
  }
  if (m * n !== a.length) throw new SvdInputError(`a ${m}×${n} matrix needs ${m * n} values, got ${a.length}`)
}

/** SVD of the row-major m×n matrix a (not modified). */
export function svd(a: Float64Array, m: number, n: number, options: SvdOptions = {}): SvdResult {
  return svdWithSwitches(a, m, n, options, {})
}

/** svd() with kernel switches: for tests that compare the algorithm's paths with each other. */
export function svdWithSwitches(a: Float64Array, m: number, n: number, options: SvdOptions, switches: SvdKernelSwitches): SvdResult {
  checkDimensions(a, m, n)
  const flags = (switches.qrIteration ? 1 : 0) | (switches.noQrFirst ? 2 : 0)
  const vectors = options.vectors ?? true
  const what = describeMatrix(m, n, options.name)
  const r = Math.min(m, n)
  const exponent = switches.noScaling ? 0 : rangeExponent(a)
  const k = svdKernel()
  k.sv_reset()
  let status: number
  let ps: number, pu: number, pvt: number
  try {
    const pa = k.sv_alloc(m * n) >>> 0
    ps = k.sv_alloc(r) >>> 0
    pu = vectors ? k.sv_alloc(m * r) >>> 0 : 0
    pvt = vectors ? k.sv_alloc(r * n) >>> 0 : 0
    const input = new Float64Array(k.memory.buffer, pa, m * n)
    input.set(a)
    if (exponent !== 0) scaleBy(input, -exponent)
    status = k.sv_svd(pa, m, n, ps, pu, pvt, vectors ? 1 : 0, flags)
  } catch (error) {
    // A trap means memory could not grow; the next call resets the kernel's workspace.
    if (error instanceof wasmApi.RuntimeError) {
      throw new SvdMemoryError(`SVD of ${what}: out of WebAssembly memory (${error.message})`, { cause: error })
    }
    throw error
  }
  if (status === STATUS_NOT_FINITE) throw new SvdInputError(`${options.name ?? 'the matrix'} holds ${firstNonFinite(a, n) ?? 'a non-finite value'}`)
  if (status === STATUS_NO_CONVERGENCE) throw new SvdConvergenceError(`SVD of ${what} did not converge`)
  // Copies, never views: the results own their buffers (transferable) and survive the next call.
  const buffer = k.memory.buffer
  const result: SvdResult = { m, n, rank: r, s: new Float64Array(buffer, ps, r).slice() }
  restoreScale(result.s, exponent, what)
  if (vectors) {
    result.u = new Float64Array(buffer, pu, m * r).slice()
    result.vt = new Float64Array(buffer, pvt, r * n).slice()
  }
  return result
}
