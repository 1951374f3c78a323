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

/** The input cannot be decomposed: wrong dimensions, or NaN/Infinity entries. */
export class SvdInputError extends Error {
  override name = 'SvdInputError'
}

const STATUS_NOT_FINITE = -1
const STATUS_NO_CONVERGENCE = 1

/**
 * Kernel switches for cross-checks in tests, not for production use: `qrIteration` computes the bidiagonal
 * SVD's vectors by QR iteration instead of divide and conquer (slow, independent); `noQrFirst` skips the
 * QR step for tall shapes.
 */
export interface SvdKernelSwitches {
  qrIteration?: boolean
  noQrFirst?: boolean
}

function checkDimensions(a: Float64Array, m: number, n: number): void {
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
  const r = Math.min(m, n)
  const k = svdKernel()
  k.sv_reset()
  let status: number
  let ps: number, pu: number, pvt: number
  try {
    const pa = k.sv_alloc(m * n) >>> 0
    ps = k.sv_alloc(r) >>> 0
    pu = vectors ? k.sv_alloc(m * r) >>> 0 : 0
    pvt = vectors ? k.sv_alloc(r * n) >>> 0 : 0
    new Float64Array(k.memory.buffer, pa, m * n).set(a)
    status = k.sv_svd(pa, m, n, ps, pu, pvt, vectors ? 1 : 0, flags)
  } catch (error) {
    // A trap means memory could not grow; the next call resets the kernel's workspace.
    if (error instanceof wasmApi.RuntimeError) {
      throw new Error(`SVD of a ${m}×${n} matrix: out of WebAssembly memory (${error.message})`, { cause: error })
    }
    throw error
  }
  if (status === STATUS_NOT_FINITE) throw new SvdInputError(`the matrix contains ${firstNonFinite(a, n) ?? 'a non-finite value'}`)
  if (status === STATUS_NO_CONVERGENCE) throw new Error(`SVD of a ${m}×${n} matrix did not converge`)
  // Copies, never views: the results own their buffers (transferable) and survive the next call.
  const buffer = k.memory.buffer
  const result: SvdResult = { m, n, rank: r, s: new Float64Array(buffer, ps, r).slice() }
  if (vectors) {
    result.u = new Float64Array(buffer, pu, m * r).slice()
    result.vt = new Float64Array(buffer, pvt, r * n).slice()
  }
  return result
}
