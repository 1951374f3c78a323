import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { svd, SvdInputError, type SvdResult } from '../../../src/main/engine/linalg'
import { svdWithSwitches } from '../../../src/main/engine/linalg/svd'
import {
  availableSvdKernelVariants,
  releaseSvdKernel,
  svdKernelMemoryBytes,
  svdKernelVariant,
  useSvdKernelVariant,
  wasmApi
} from '../../../src/main/engine/linalg/svdKernel'
import { SOURCE_SHA256, SVD_WASM_BASE64, SVD_WASM_RELAXED_BASE64 } from '../../../src/main/engine/linalg/wasm/svdWasm.generated'
import { repoRoot } from '../../helpers/paths'
import { wasmSourceHash } from '../../helpers/sourceHash'

// Fixtures: numpy's LAPACK SVD of each case (tests/reference/make_svd_fixtures.py). Singular vectors are
// compared as subspaces, never entry by entry: their signs (and bases within clusters) are arbitrary.

interface FixtureCase {
  name: string
  m: number
  n: number
  ks: number[]
  kmax: number
}

const fixtureDir = join(repoRoot, 'tests/fixtures/svd')
const manifest = JSON.parse(readFileSync(join(fixtureDir, 'manifest.json'), 'utf8')) as { cases: FixtureCase[] }

function readF64(file: string): Float64Array {
  const bytes = readFileSync(join(fixtureDir, file))
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return new Float64Array(copy.buffer)
}

/** max |(XᵀX − I)_ij| for row-major x (rows×cols). */
function orthogonalityError(x: Float64Array, rows: number, cols: number): number {
  let worst = 0
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j <= i; j++) {
      let dot = 0
      for (let k = 0; k < rows; k++) dot += x[k * cols + i] * x[k * cols + j]
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)))
    }
  }
  return worst
}

/** ‖A − U·diag(s)·Vᵀ‖_F and ‖A‖_F. */
function reconstruction(a: Float64Array, result: SvdResult): { residual: number; norm: number } {
  const { m, n, rank: r, s } = result
  const u = result.u!
  const vt = result.vt!
  const us = new Float64Array(r)
  let residual = 0
  let norm = 0
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < r; k++) us[k] = u[i * r + k] * s[k]
    for (let j = 0; j < n; j++) {
      let x = 0
      for (let k = 0; k < r; k++) x += us[k] * vt[k * n + j]
      residual += (a[i * n + j] - x) ** 2
      norm += a[i * n + j] ** 2
    }
  }
  return { residual: Math.sqrt(residual), norm: Math.sqrt(norm) }
}

/**
 * Upper bound on sin of the largest principal angle between span(P) and span(Q), both dim×k with
 * orthonormal columns given by accessors: ‖Q − P(PᵀQ)‖_F ≥ ‖(I − PPᵀ)Q‖₂ = sin θ_max.
 */
function subspaceSinBound(dim: number, k: number, p: (row: number, col: number) => number, q: (row: number, col: number) => number): number {
  const ptq = new Float64Array(k * k)
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let dot = 0
      for (let r = 0; r < dim; r++) dot += p(r, i) * q(r, j)
      ptq[i * k + j] = dot
    }
  }
  let sum = 0
  for (let r = 0; r < dim; r++) {
    for (let j = 0; j < k; j++) {
      let proj = 0
      for (let i = 0; i < k; i++) proj += p(r, i) * ptq[i * k + j]
      sum += (q(r, j) - proj) ** 2
    }
  }
  return Math.sqrt(sum)
}

// Every accuracy case runs on each kernel build this runtime can run (wasm/simd.h): the relaxed build may or
// may not fuse its multiply-adds, and the bars must hold either way.
describe.each(availableSvdKernelVariants())('kernel variant %s', (variant) => {
  beforeAll(() => useSvdKernelVariant(variant))
  afterAll(() => useSvdKernelVariant(undefined))

  it('is the variant that runs', () => {
    svd(Float64Array.from([1, 2, 3, 4]), 2, 2)
    expect(svdKernelVariant()).toBe(variant)
  })

  describe.each(manifest.cases)('svd against numpy: $name ($m×$n)', (c) => {
    const a = readF64(`${c.name}.a.bin`)
    const reference = readF64(`${c.name}.s.bin`)
    const r = Math.min(c.m, c.n)
    const sMax = reference[0]
    let cached: SvdResult | undefined
    const result = (): SvdResult => (cached ??= svd(a, c.m, c.n))

    it('singular values: descending, ≥ 0, within 1e-11·σ_max of numpy', () => {
      const { s, rank } = result()
      expect(rank).toBe(r)
      expect(s.length).toBe(r)
      for (let i = 0; i < r; i++) {
        expect(s[i]).toBeGreaterThanOrEqual(0)
        if (i > 0) expect(s[i]).toBeLessThanOrEqual(s[i - 1])
        expect(Math.abs(s[i] - reference[i])).toBeLessThanOrEqual(1e-11 * sMax)
      }
    })

    it('U and V orthonormal to 1e-10', () => {
      const { u, vt } = result()
      expect(u!.length).toBe(c.m * r)
      expect(vt!.length).toBe(r * c.n)
      expect(orthogonalityError(u!, c.m, r)).toBeLessThanOrEqual(1e-10)
      // Vᵀ is r×n row-major: V is its transpose, so the columns of V are the rows of Vᵀ.
      const v = new Float64Array(c.n * r)
      for (let i = 0; i < r; i++) for (let j = 0; j < c.n; j++) v[j * r + i] = vt![i * c.n + j]
      expect(orthogonalityError(v, c.n, r)).toBeLessThanOrEqual(1e-10)
    })

    it('reconstruction ‖A − UΣVᵀ‖_F / ‖A‖_F ≤ 1e-12', () => {
      const { residual, norm } = reconstruction(a, result())
      if (norm === 0) expect(residual).toBe(0)
      else expect(residual / norm).toBeLessThanOrEqual(1e-12)
    })

    // The bottom-k subspace is defined when σ_{r−k} − σ_{r−k+1} ≥ 1e-3·σ_max. On the side with more than r
    // dimensions (U when m > r, V when n > r) the thin SVD leaves out singular values that are 0, so that
    // side also needs σ_r itself ≥ 1e-3·σ_max (otherwise, e.g. for a rank-deficient A, any basis of the
    // left-out null space is as right as numpy's).
    it('bottom-k singular subspaces agree with numpy wherever the gap defines them', () => {
      const { u, vt } = result()
      const ub = c.kmax ? readF64(`${c.name}.ub.bin`) : new Float64Array(0)
      const vb = c.kmax ? readF64(`${c.name}.vb.bin`) : new Float64Array(0)
      const separated = (gap: number): boolean => gap >= 1e-3 * sMax
      let checked = 0
      for (const k of c.ks) {
        if (k >= r || !separated(reference[r - k - 1] - reference[r - k])) continue
        const fromZero = separated(reference[r - 1])
        // Ours: columns r−k.. of U; numpy's: the last k of its kmax stored columns.
        if (c.m === r || fromZero) {
          const ours = (row: number, col: number): number => u![row * r + (r - k + col)]
          const numpy = (row: number, col: number): number => ub[row * c.kmax + (c.kmax - k + col)]
          expect(Math.asin(Math.min(1, subspaceSinBound(c.m, k, numpy, ours))), `U, k=${k}`).toBeLessThanOrEqual(1e-6)
          checked++
        }
        if (c.n === r || fromZero) {
          const ours = (row: number, col: number): number => vt![(r - k + col) * c.n + row]
          const numpy = (row: number, col: number): number => vb[(c.kmax - k + col) * c.n + row]
          expect(Math.asin(Math.min(1, subspaceSinBound(c.n, k, numpy, ours))), `V, k=${k}`).toBeLessThanOrEqual(1e-6)
          checked++
        }
      }
      if (c.ks.length > 0) expect(checked, 'no k had a gap: the case tests nothing').toBeGreaterThan(0)
    })

    it('values only: no vectors, same σ to 1e-11·σ_max', () => {
      const values = svd(a, c.m, c.n, { vectors: false })
      expect(values.u).toBeUndefined()
      expect(values.vt).toBeUndefined()
      const { s } = result()
      for (let i = 0; i < r; i++) expect(Math.abs(values.s[i] - s[i])).toBeLessThanOrEqual(1e-11 * sMax)
    })
  })

  describe('svd algorithm paths agree with each other', () => {
    // Divide and conquer against QR iteration (independent code for the bidiagonal SVD's vectors), and the
    // QR-first path for tall matrices against plain bidiagonalisation, on matrices no fixture has.
    const cases: [string, number, number][] = [
      ['square 150×150', 150, 150],
      ['tall 400×90', 400, 90],
      ['wide 60×250', 60, 250]
    ]
    it.each(cases)('%s', (_name, m, n) => {
      const a = Float64Array.from({ length: m * n }, (_, i) => Math.sin(i * 0.7 + (i % 13)) + 0.3 * Math.cos(i * 1.3))
      const reference = svd(a, m, n)
      const r = reference.rank
      for (const switches of [{ qrIteration: true }, { noQrFirst: true }]) {
        const other = svdWithSwitches(a, m, n, {}, switches)
        for (let i = 0; i < r; i++) expect(Math.abs(other.s[i] - reference.s[i])).toBeLessThanOrEqual(1e-12 * reference.s[0])
        const { residual, norm } = reconstruction(a, other)
        expect(residual / norm).toBeLessThanOrEqual(1e-13)
        expect(orthogonalityError(other.u!, m, r)).toBeLessThanOrEqual(1e-12)
      }
    })
  })
})

describe('svd input handling', () => {
  const a = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i + 1))

  it('does not modify its input', () => {
    const copy = a.slice()
    svd(a, 3, 4)
    svd(a, 4, 3, { vectors: false })
    expect(a).toEqual(copy)
  })

  it('results own their buffers and survive later calls', () => {
    const first = svd(a, 3, 4)
    const s = first.s.slice()
    svd(Float64Array.from({ length: 40000 }, (_, i) => Math.cos(i)), 200, 200)
    expect(first.s).toEqual(s)
    expect(first.s.byteOffset).toBe(0)
    expect(first.s.buffer.byteLength).toBe(first.s.byteLength)
  })

  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity]
  ])('throws SvdInputError for %s and names its position', (_label, bad) => {
    const b = a.slice()
    b[7] = bad
    expect(() => svd(b, 3, 4)).toThrow(SvdInputError)
    expect(() => svd(b, 3, 4)).toThrow(/row 1, column 3/)
  })

  it.each([
    [3, 5],
    [0, 12],
    [12, 0],
    [2.5, 4.8],
    [-3, -4]
  ])('throws SvdInputError for dimensions %s×%s of 12 values', (m, n) => {
    expect(() => svd(a, m, n)).toThrow(SvdInputError)
  })
})

describe('svd kernel memory', () => {
  it('100 calls do not grow memory beyond what the largest call needed', () => {
    const random = (len: number, seed: number): Float64Array => Float64Array.from({ length: len }, (_, i) => Math.sin(seed * 7919 + i * 104729) * 3)
    releaseSvdKernel() // a fresh instance: earlier tests' larger matrices must not hide growth here
    svd(random(240 * 160, 1), 240, 160)
    const afterLargest = svdKernelMemoryBytes()
    for (let call = 0; call < 100; call++) {
      const m = 1 + ((call * 37) % 240)
      const n = 1 + ((call * 53) % Math.min(m, 160))
      svd(random(m * n, call), m, n, { vectors: call % 3 !== 0 })
    }
    expect(svdKernelMemoryBytes()).toBe(afterLargest)
  })

  it('releaseSvdKernel drops the instance; the next call starts small again', () => {
    svd(Float64Array.from({ length: 300 * 300 }, (_, i) => Math.sin(i)), 300, 300)
    const grown = svdKernelMemoryBytes()
    releaseSvdKernel()
    const small = svd(Float64Array.from([3, 0, 0, 4]), 2, 2)
    expect(Array.from(small.s)).toEqual([4, 3])
    expect(svdKernelMemoryBytes()).toBeLessThan(grown)
  })
})

describe('svd kernel binary', () => {
  it('the plain SIMD128 build is always available, and the default falls back to it', () => {
    expect(availableSvdKernelVariants()).toContain('simd')
    expect(availableSvdKernelVariants()[0]).toBe(svdKernelVariant())
    expect(wasmApi.validate(Buffer.from(SVD_WASM_BASE64, 'base64'))).toBe(true)
  })

  it('Node ≥ 20 runs the relaxed-SIMD build (after the runtime flag), so these tests cover it', () => {
    expect(availableSvdKernelVariants()).toEqual(['relaxed-simd', 'simd'])
    expect(wasmApi.validate(Buffer.from(SVD_WASM_RELAXED_BASE64, 'base64'))).toBe(true)
  })


  it('svdWasm.generated.ts was built from the current C sources (npm run build:wasm)', () => {
    expect(SOURCE_SHA256).toBe(wasmSourceHash(join(repoRoot, 'src/main/engine/linalg/wasm')))
  })
})
