/**
 * All singular values of a dense float64 matrix, and the singular vectors of a band of them only: what
 * SiVA needs (σ for the spectra, vectors for the k smallest), without the full SVD's vectors. The kernel
 * (wasm/band.c, wasm/tgk.c) shares the full SVD's reduction — QR first for tall shapes, Householder
 * bidiagonalisation — and then finds the band's vectors of the bidiagonal by inverse iteration on its
 * Golub–Kahan tridiagonal and back-transforms only those k columns (LAPACK's dgesvdx approach):
 * backward stable, residuals and orthogonality at the level of the full SVD, no squared condition number.
 *
 * Policy: the band route saves the full SVD's divide and conquer and most of its back-transformation,
 * and costs O(q·k²) of Gram–Schmidt instead, so it wins for k small against r = min(m, n) and loses near
 * k = r. svdBand() therefore decides by bandRouteCheaper() and otherwise runs the full SVD and slices it;
 * it also falls back to the full SVD if a band vector fails the kernel's own residual check (never seen
 * in the tests; a safety net, not a path). On the band route the singular values are bit for bit those
 * of svd(a, m, n, { vectors: false }); on the full route, those of svd(a, m, n).
 */
import { firstNonFinite } from './finite'
import {
  checkDimensions,
  describeMatrix,
  rangeExponent,
  restoreScale,
  scaleBy,
  STATUS_NO_CONVERGENCE,
  STATUS_NOT_FINITE,
  svdWithSwitches,
  SvdConvergenceError,
  SvdInputError,
  SvdMemoryError
} from './svd'
import { svdKernel, wasmApi } from './svdKernel'

export interface SvdBandOptions {
  /** [start, end): positions in the descending σ, 0 ≤ start < end ≤ min(m, n). SiVA's bottom k: [r − k, r). */
  band: readonly [number, number]
  /** What the matrix is, for error messages: "tensor NAME". */
  name?: string
  /** 'auto' (default): bandRouteCheaper() decides. 'band' or 'full' force a route (tests, benchmarks). */
  route?: 'auto' | 'band' | 'full'
}

export interface SvdBandResult {
  m: number
  n: number
  /** r = min(m, n): the number of singular values, not the numerical rank. */
  rank: number
  /** All r singular values, descending, ≥ 0. */
  s: Float64Array
  band: [number, number]
  /** m×k row-major, k = end − start: column j is the left singular vector of s[start + j]. */
  u: Float64Array
  /** k×n row-major: row j is the right singular vector of s[start + j]. */
  vt: Float64Array
  /** Which computation produced the vectors: the band kernel, or the full SVD sliced. */
  route: 'band' | 'full'
}

/** Test switches: `noQrFirst` skips the QR step for tall shapes, as svdWithSwitches's does. */
export interface SvdBandSwitches {
  noQrFirst?: boolean
}

const STATUS_BAD_BAND = -2
const STATUS_BAND_UNVERIFIED = 2

/**
 * Whether the band route is expected to be faster than the full SVD for k band vectors of an m×n
 * matrix. A cost model in the kernel's own terms (p = max(m, n), q = min(m, n)): both routes share the
 * reduction (QR, bidiagonalisation: for small k the band route costs what the values-only SVD costs);
 * the full SVD adds divide and conquer (≈ q³) and the back-transformation of q columns, the band route
 * the back-transformation of k columns and its Gram–Schmidt, ≈ 32·q·k² flops of matrix-vector products,
 * weighted 1.5× against the GEMM flops. Weights fitted to measurements on 1024×1024 and 2752×1024
 * (bench/.tmp timings behind bench/svd-band.ts: k = 200 band 0.55 s, k = 400 band 1.1 s, full 0.7–0.95 s
 * for 1024×1024): the crossover lies near k ≈ 0.28·q for square shapes and ≈ 0.4·q for tall ones. For
 * q ≤ 64 both take under a millisecond and the band route is used for any k < q.
 */
export function bandRouteCheaper(m: number, n: number, k: number): boolean {
  const p = Math.max(m, n)
  const q = Math.min(m, n)
  if (k <= 0) return true
  if (k >= q) return false
  if (q <= 64) return true
  const qrFirst = p >= 1.6 * q
  // Flops per back-transformed column (U then V), both routes.
  const perColumn = (qrFirst ? 4 * p * q : 4 * p * q - 2 * q * q) + 2 * q * q
  const divideAndConquer = 1.0 * q ** 3
  const gramSchmidt = 1.5 * 32 * q * k * k
  return perColumn * k + gramSchmidt < perColumn * q + divideAndConquer
}

/** σ of the row-major m×n matrix a (not modified), with the singular vectors of the band only. */
export function svdBand(a: Float64Array, m: number, n: number, options: SvdBandOptions): SvdBandResult {
  return svdBandWithSwitches(a, m, n, options, {})
}

/** svdBand() with kernel switches, for tests that compare paths. */
export function svdBandWithSwitches(a: Float64Array, m: number, n: number, options: SvdBandOptions, switches: SvdBandSwitches): SvdBandResult {
  checkDimensions(a, m, n)
  const r = Math.min(m, n)
  const what = describeMatrix(m, n, options.name)
  const [start, end] = checkBand(options.band, r, what)
  const route = options.route ?? 'auto'
  if (route === 'full' || (route === 'auto' && !bandRouteCheaper(m, n, end - start))) return sliceOfFull(a, m, n, start, end, options.name, switches)
  const banded = runBandKernel(a, m, n, start, end, what, options.name, switches)
  return banded ?? sliceOfFull(a, m, n, start, end, options.name, switches)
}

function checkBand(band: readonly [number, number] | undefined, r: number, what: string): [number, number] {
  if (!Array.isArray(band) || band.length !== 2) throw new SvdInputError(`band of ${what}: expected [start, end), got ${JSON.stringify(band)}`)
  const [start, end] = band as [unknown, unknown]
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (start as number) < 0 || (end as number) > r || (start as number) >= (end as number)) {
    throw new SvdInputError(`band [${String(start)}, ${String(end)}) of ${what}: needs integers 0 ≤ start < end ≤ ${r}`)
  }
  return [start as number, end as number]
}

/** The band kernel's result, or undefined when a vector failed its residual check (the caller falls back). */
function runBandKernel(
  a: Float64Array,
  m: number,
  n: number,
  start: number,
  end: number,
  what: string,
  name: string | undefined,
  switches: SvdBandSwitches
): SvdBandResult | undefined {
  const r = Math.min(m, n)
  const k = end - start
  const exponent = rangeExponent(a)
  const kernel = svdKernel()
  kernel.sv_reset()
  let status: number
  let ps: number, pu: number, pvt: number
  try {
    const pa = kernel.sv_alloc(m * n) >>> 0
    ps = kernel.sv_alloc(r) >>> 0
    pu = kernel.sv_alloc(m * k) >>> 0
    pvt = kernel.sv_alloc(k * n) >>> 0
    const input = new Float64Array(kernel.memory.buffer, pa, m * n)
    input.set(a)
    if (exponent !== 0) scaleBy(input, -exponent)
    status = kernel.sv_svd_band(pa, m, n, ps, pu, pvt, start, k, switches.noQrFirst ? 2 : 0)
  } catch (error) {
    if (error instanceof wasmApi.RuntimeError) {
      throw new SvdMemoryError(`SVD of ${what}: out of WebAssembly memory (${error.message})`, { cause: error })
    }
    throw error
  }
  if (status === STATUS_NOT_FINITE) throw new SvdInputError(`${name ?? 'the matrix'} holds ${firstNonFinite(a, n) ?? 'a non-finite value'}`)
  if (status === STATUS_NO_CONVERGENCE) throw new SvdConvergenceError(`SVD of ${what} did not converge`)
  if (status === STATUS_BAD_BAND) throw new SvdInputError(`band [${start}, ${end}) of ${what} is out of range`)
  const buffer = kernel.memory.buffer
  const s = new Float64Array(buffer, ps, r).slice()
  restoreScale(s, exponent, what)
  if (status === STATUS_BAND_UNVERIFIED) return undefined
  return {
    m,
    n,
    rank: r,
    s,
    band: [start, end],
    u: new Float64Array(buffer, pu, m * k).slice(),
    vt: new Float64Array(buffer, pvt, k * n).slice(),
    route: 'band'
  }
}

function sliceOfFull(a: Float64Array, m: number, n: number, start: number, end: number, name: string | undefined, switches: SvdBandSwitches): SvdBandResult {
  const full = svdWithSwitches(a, m, n, { vectors: true, name }, { noQrFirst: switches.noQrFirst })
  const r = full.rank
  const k = end - start
  const fullU = full.u!
  const u = new Float64Array(m * k)
  for (let i = 0; i < m; i++) u.set(fullU.subarray(i * r + start, i * r + end), i * k)
  return { m, n, rank: r, s: full.s, band: [start, end], u, vt: full.vt!.slice(start * n, end * n), route: 'full' }
}
