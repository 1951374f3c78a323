import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bandRouteCheaper, svd, svdBand, SvdInputError, type SvdBandResult } from '../../../src/main/engine/linalg'
import { svdBandWithSwitches } from '../../../src/main/engine/linalg/svdBand'
import { availableSvdKernelVariants, useSvdKernelVariant } from '../../../src/main/engine/linalg/svdKernel'
import { WorkerPool } from '../../../src/main/workers/pool'
import type { SvdTask, SvdTaskResult } from '../../../src/main/workers/protocol'
import { workerEntry } from '../../../src/main/workers/spawn'
import { pythonWithNumpy } from '../../helpers/paths'

// The band route against numpy (LAPACK gesdd): σ to 1e-13·σ_max; the band's vectors by their invariants —
// residuals against A, orthonormality — and, where a gap defines it, by the angle between our band
// subspace and numpy's. Vector entries are never compared (signs and bases within clusters are arbitrary).
// The matrices are built by numpy as Q₁·diag(σ)·Q₂ᵀ with chosen, ill-conditioned spectra.

const EPS = 2 ** -52

interface CaseSpec {
  name: string
  m: number
  n: number
  /**
   * 'spectrum': Q₁·diag(sigma)·Q₂ᵀ; 'gaussian': N(0,1); 'lowrank': G₁(m×rank)·G₂(rank×n); 'holes': N(0,1)
   * with zero rows and columns; 'bidiagonal': upper bidiagonal N(0,1) with d_i = 0 for i ≡ 3 (mod 7) and
   * e_i = 0 for i ≡ 5 (mod 11).
   */
  kind: 'spectrum' | 'gaussian' | 'lowrank' | 'holes' | 'bidiagonal'
  sigma?: number[]
  rank?: number
  seed: number
  /** Bands to check, [start, end); 'all' adds [0, r). */
  bands: [number, number][]
}

interface Reference {
  a: Float64Array
  s: Float64Array
  /** numpy's thin U (m×r) and Vᵀ (r×n), row-major. */
  u: Float64Array
  vt: Float64Array
}

const logspace = (from: number, to: number, count: number): number[] => Array.from({ length: count }, (_, i) => 10 ** (from + ((to - from) * i) / Math.max(1, count - 1)))
const linspace = (from: number, to: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + ((to - from) * i) / Math.max(1, count - 1))

function standardBands(r: number, all = false): [number, number][] {
  const k = Math.max(2, Math.round(r / 10))
  const middle = Math.floor(r / 3)
  const bands: [number, number][] = [
    [r - 1, r],
    [r - k, r],
    [middle, middle + 7],
    [0, 5]
  ]
  if (all) bands.push([0, r])
  return bands
}

const cases: CaseSpec[] = [
  { name: 'graded 1..1e-12, square', m: 160, n: 160, kind: 'spectrum', sigma: logspace(0, -12, 160), seed: 1, bands: standardBands(160, true) },
  { name: 'graded 1..1e-12, tall (QR first)', m: 300, n: 110, kind: 'spectrum', sigma: logspace(0, -12, 110), seed: 2, bands: standardBands(110) },
  { name: 'graded 1..1e-12, tall (no QR first)', m: 150, n: 120, kind: 'spectrum', sigma: logspace(0, -12, 120), seed: 3, bands: standardBands(120) },
  { name: 'graded 1..1e-12, wide', m: 90, n: 260, kind: 'spectrum', sigma: logspace(0, -12, 90), seed: 4, bands: standardBands(90, true) },
  {
    name: 'clustered bottom (10 values within 1e-15 of 1e-6)',
    m: 140,
    n: 120,
    kind: 'spectrum',
    sigma: [...linspace(1, 0.1, 110), ...Array.from({ length: 10 }, (_, i) => 1e-6 * (1 + 1e-9 * i))],
    seed: 5,
    bands: [[110, 120], [105, 120], [119, 120], [100, 110]]
  },
  {
    name: 'repeated bottom (8 equal values)',
    m: 120,
    n: 120,
    kind: 'spectrum',
    sigma: [...linspace(1, 0.05, 112), ...new Array<number>(8).fill(1e-3)],
    seed: 6,
    bands: [[112, 120], [100, 120], [115, 120]]
  },
  {
    name: 'rank deficient (12 zero values), tall',
    m: 200,
    n: 80,
    kind: 'spectrum',
    sigma: [...linspace(1, 0.01, 68), ...new Array<number>(12).fill(0)],
    seed: 7,
    bands: [[68, 80], [60, 80], [79, 80], [60, 68], [0, 80]]
  },
  { name: 'low rank 25 product, wide', m: 60, n: 100, kind: 'lowrank', rank: 25, seed: 8, bands: [[25, 60], [20, 60], [20, 25], [0, 60], [59, 60]] },
  { name: 'zero rows and columns', m: 50, n: 40, kind: 'holes', seed: 9, bands: [[36, 40], [30, 40], [0, 40], [39, 40]] },
  { name: 'gaussian 400×300', m: 400, n: 300, kind: 'gaussian', seed: 10, bands: [[299, 300], [270, 300], [100, 107], [0, 10]] },
  // Already upper bidiagonal, so the reduction leaves it as it is (every reflector is the identity) and the
  // Golub–Kahan matrix has exact zeros: d_i = 0 (odd-sized blocks, null vectors pure v or pure u, and a
  // zero σ each) and e_i = 0 (B splits).
  { name: 'bidiagonal with exact zeros on both diagonals', m: 70, n: 70, kind: 'bidiagonal', seed: 11, bands: [[60, 70], [64, 70], [69, 70], [30, 37], [0, 70]] }
]

const REFERENCE = `
import sys, json, base64
import numpy as np
specs = json.load(sys.stdin)
out = []
for c in specs:
    rng = np.random.default_rng(c["seed"])
    m, n = c["m"], c["n"]
    r = min(m, n)
    if c["kind"] == "spectrum":
        q1, _ = np.linalg.qr(rng.standard_normal((m, r)))
        q2, _ = np.linalg.qr(rng.standard_normal((n, r)))
        a = (q1 * np.array(c["sigma"])) @ q2.T
    elif c["kind"] == "bidiagonal":
        d = rng.standard_normal(r)
        e = rng.standard_normal(r - 1)
        d[np.arange(r) % 7 == 3] = 0.0
        e[np.arange(r - 1) % 11 == 5] = 0.0
        a = np.diag(d) + np.diag(e, 1)
    elif c["kind"] == "lowrank":
        a = rng.standard_normal((m, c["rank"])) @ rng.standard_normal((c["rank"], n))
    else:
        a = rng.standard_normal((m, n))
        if c["kind"] == "holes":
            a[[3, 17, 31], :] = 0.0
            a[:, [5, 22]] = 0.0
    a = np.ascontiguousarray(a, dtype="<f8")
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    enc = lambda x: base64.b64encode(np.ascontiguousarray(x, dtype="<f8").tobytes()).decode()
    out.append({"a": enc(a), "s": enc(s), "u": enc(u), "vt": enc(vt)})
json.dump(out, sys.stdout)
`

function decode(text: string): Float64Array {
  const bytes = Buffer.from(text, 'base64')
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return new Float64Array(copy.buffer)
}

function numpyReferences(specs: CaseSpec[]): Reference[] {
  const run = spawnSync(pythonWithNumpy(), ['-c', REFERENCE], { input: JSON.stringify(specs), encoding: 'utf8', maxBuffer: 1 << 28 })
  if (run.status !== 0) throw new Error(run.stderr)
  return (JSON.parse(run.stdout) as Record<keyof Reference, string>[]).map((x) => ({ a: decode(x.a), s: decode(x.s), u: decode(x.u), vt: decode(x.vt) }))
}

/** numpy's singular values of the row-major m×n a (exact bytes in, via stdin). */
function numpySingularValues(a: Float64Array, m: number, n: number): Float64Array {
  const script = 'import sys,base64,numpy as np; a=np.frombuffer(sys.stdin.buffer.read(),"<f8").reshape(int(sys.argv[1]),int(sys.argv[2])); sys.stdout.write(base64.b64encode(np.linalg.svd(a,compute_uv=False).astype("<f8").tobytes()).decode())'
  const run = spawnSync(pythonWithNumpy(), ['-c', script, String(m), String(n)], { input: Buffer.from(a.buffer, a.byteOffset, a.byteLength), encoding: 'utf8' })
  if (run.status !== 0) throw new Error(run.stderr)
  return decode(run.stdout)
}

interface Invariants {
  /** max over the band of ‖A·vᵢ − σᵢ·uᵢ‖ and of ‖Aᵀ·uᵢ − σᵢ·vᵢ‖. */
  residualRight: number
  residualLeft: number
  /** max |(U_bᵀU_b − I)_ij| and max |(V_bᵀV_b − I)_ij|. */
  orthogonalityU: number
  orthogonalityV: number
}

function invariants(a: Float64Array, result: SvdBandResult): Invariants {
  const { m, n, u, vt, band } = result
  const k = band[1] - band[0]
  let residualRight = 0
  let residualLeft = 0
  const av = new Float64Array(m)
  const atu = new Float64Array(n)
  for (let j = 0; j < k; j++) {
    const sigma = result.s[band[0] + j]!
    av.fill(0)
    atu.fill(0)
    for (let i = 0; i < m; i++) {
      let dot = 0
      const ui = u[i * k + j]!
      for (let l = 0; l < n; l++) {
        const x = a[i * n + l]!
        dot += x * vt[j * n + l]!
        atu[l] += x * ui
      }
      av[i] = dot
    }
    let right = 0
    for (let i = 0; i < m; i++) right += (av[i]! - sigma * u[i * k + j]!) ** 2
    let left = 0
    for (let l = 0; l < n; l++) left += (atu[l]! - sigma * vt[j * n + l]!) ** 2
    residualRight = Math.max(residualRight, Math.sqrt(right))
    residualLeft = Math.max(residualLeft, Math.sqrt(left))
  }
  let orthogonalityU = 0
  let orthogonalityV = 0
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let du = 0
      for (let r = 0; r < m; r++) du += u[r * k + i]! * u[r * k + j]!
      let dv = 0
      for (let c = 0; c < n; c++) dv += vt[i * n + c]! * vt[j * n + c]!
      const identity = i === j ? 1 : 0
      orthogonalityU = Math.max(orthogonalityU, Math.abs(du - identity))
      orthogonalityV = Math.max(orthogonalityV, Math.abs(dv - identity))
    }
  }
  return { residualRight, residualLeft, orthogonalityU, orthogonalityV }
}

/** ‖Q − P(PᵀQ)‖_F ≥ sin of the largest principal angle between span(P) and span(Q) (dim×k, orthonormal columns). */
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
      for (let i = 0; i < k; i++) proj += p(r, i) * ptq[i * k + j]!
      sum += (q(r, j) - proj) ** 2
    }
  }
  return Math.sqrt(sum)
}

/** The checks every band result must pass, with bounds in units of ε·‖A‖·max(m, n) and ε·dimension. */
function expectAccurateBand(a: Float64Array, ours: SvdBandResult, reference: Reference, label: string): number {
  const { m, n, band } = ours
  const r = Math.min(m, n)
  const k = band[1] - band[0]
  const sMax = reference.s[0]!
  expect(ours.s.length).toBe(r)
  expect(ours.u.length).toBe(m * k)
  expect(ours.vt.length).toBe(k * n)
  for (let i = 0; i < r; i++) {
    expect(ours.s[i], `${label}: σ${i} ≥ 0`).toBeGreaterThanOrEqual(0)
    if (i > 0) expect(ours.s[i]!, `${label}: descending`).toBeLessThanOrEqual(ours.s[i - 1]!)
  }
  let sigmaError = 0
  for (let i = 0; i < r; i++) sigmaError = Math.max(sigmaError, Math.abs(ours.s[i]! - reference.s[i]!))
  expect(sigmaError, `${label}: max |σ − σ_numpy|`).toBeLessThanOrEqual(1e-13 * sMax)

  const inv = invariants(a, ours)
  const residualBound = 4 * EPS * sMax * Math.max(m, n)
  expect(inv.residualRight, `${label}: ‖Av − σu‖`).toBeLessThanOrEqual(residualBound)
  expect(inv.residualLeft, `${label}: ‖Aᵀu − σv‖`).toBeLessThanOrEqual(residualBound)
  expect(inv.orthogonalityU, `${label}: ‖UᵀU − I‖`).toBeLessThanOrEqual(4 * EPS * m)
  expect(inv.orthogonalityV, `${label}: ‖VᵀV − I‖`).toBeLessThanOrEqual(4 * EPS * n)

  // Subspaces where gaps define them: the gap to the neighbours of the band (and, on the side with more
  // than r dimensions, to the left-out zeros when the band reaches the bottom). Both computations are
  // accurate to about ε‖A‖/gap; bands with gaps below 1e-6·σ_max are not compared.
  const above = band[0] > 0 ? reference.s[band[0] - 1]! - reference.s[band[0]]! : Infinity
  const below = band[1] < r ? reference.s[band[1] - 1]! - reference.s[band[1]]! : Infinity
  const toZero = band[1] === r ? reference.s[r - 1]! : Infinity
  let compared = 0
  const check = (side: 'U' | 'V', dim: number, gap: number): void => {
    if (!(gap >= 1e-6 * sMax) || k === dim) return
    compared++
    const bound = 20 * EPS * Math.max(m, n) * (sMax / gap)
    const oursAt = side === 'U' ? (row: number, col: number): number => ours.u[row * k + col]! : (row: number, col: number): number => ours.vt[col * n + row]!
    const numpyAt = side === 'U' ? (row: number, col: number): number => reference.u[row * r + band[0] + col]! : (row: number, col: number): number => reference.vt[(band[0] + col) * n + row]!
    expect(subspaceSinBound(dim, k, numpyAt, oursAt), `${label}: sin∠(${side}_b, numpy's), gap ${(gap / sMax).toExponential(1)}·σ_max`).toBeLessThanOrEqual(bound)
  }
  const gap = Math.min(above, below)
  check('U', m, m > r ? Math.min(gap, toZero) : gap)
  check('V', n, n > r ? Math.min(gap, toZero) : gap)
  return compared
}

let references: Reference[] = []
beforeAll(() => {
  references = numpyReferences(cases)
})

describe.each(cases.map((c, index) => ({ ...c, index })))('svdBand against numpy: $name ($m×$n)', (c) => {
  let compared = 0
  it.each(c.bands)('band [%i, %i): σ, residuals, orthogonality, subspace', (start, end) => {
    const reference = references[c.index]!
    const ours = svdBand(reference.a, c.m, c.n, { band: [start, end], route: 'band', name: `tensor ${c.name}` })
    expect(ours.route).toBe('band')
    expect(ours.band).toEqual([start, end])
    compared += expectAccurateBand(reference.a, ours, reference, `${c.name} [${start}, ${end})`)
  })

  it('a gap defined the subspace of at least one band (the case tests vectors against numpy, not only invariants)', () => {
    expect(compared).toBeGreaterThan(0)
  })

  it('σ are bit for bit those of the values-only full SVD', () => {
    const reference = references[c.index]!
    const r = Math.min(c.m, c.n)
    const ours = svdBand(reference.a, c.m, c.n, { band: [r - 1, r], route: 'band' })
    const values = svd(reference.a, c.m, c.n, { vectors: false })
    expect(Buffer.from(ours.s.buffer).equals(Buffer.from(values.s.buffer))).toBe(true)
  })
})

describe('svdBand paths', () => {
  it('tall without QR first: the same bars', () => {
    const c = cases[1]!
    const reference = references[1]!
    const ours = svdBandWithSwitches(reference.a, c.m, c.n, { band: [100, 110], route: 'band' }, { noQrFirst: true })
    expectAccurateBand(reference.a, ours, reference, 'no QR first')
  })

  it('the full route (forced, and chosen by auto for k = r) slices the full SVD and passes the same bars', () => {
    const c = cases[0]!
    const reference = references[0]!
    const forced = svdBand(reference.a, c.m, c.n, { band: [150, 160], route: 'full' })
    expect(forced.route).toBe('full')
    expectAccurateBand(reference.a, forced, reference, 'full route')
    const auto = svdBand(reference.a, c.m, c.n, { band: [0, 160] })
    expect(auto.route).toBe('full')
    const full = svd(reference.a, c.m, c.n)
    expect(Buffer.from(auto.u.buffer).equals(Buffer.from(full.u!.buffer))).toBe(true)
    expect(Buffer.from(auto.vt.buffer).equals(Buffer.from(full.vt!.buffer))).toBe(true)
  })

  // Found by the bidiagonal case above: the QR iteration (bdsqr, also the values-only path and the divide
  // and conquer leaves) stalled on an exact zero inside the diagonal and reported no convergence.
  it('the full SVD of a matrix whose bidiagonal has exact zeros converges, with and without vectors', () => {
    const index = cases.findIndex((c) => c.kind === 'bidiagonal')
    const c = cases[index]!
    const reference = references[index]!
    const values = svd(reference.a, c.m, c.n, { vectors: false })
    const full = svd(reference.a, c.m, c.n)
    const sMax = reference.s[0]!
    for (let i = 0; i < c.m; i++) {
      expect(Math.abs(values.s[i]! - reference.s[i]!)).toBeLessThanOrEqual(1e-13 * sMax)
      expect(Math.abs(full.s[i]! - reference.s[i]!)).toBeLessThanOrEqual(1e-13 * sMax)
    }
    const asBand: SvdBandResult = { m: c.m, n: c.n, rank: c.m, s: full.s, band: [0, c.m], u: full.u!, vt: full.vt!, route: 'full' }
    expectAccurateBand(reference.a, asBand, reference, 'full SVD of the bidiagonal')
  })

  it('bandRouteCheaper: the band for small k, the full SVD at and near k = r', () => {
    expect(bandRouteCheaper(4096, 4096, 77)).toBe(true)
    expect(bandRouteCheaper(11008, 4096, 77)).toBe(true)
    expect(bandRouteCheaper(4096, 11008, 77)).toBe(true)
    expect(bandRouteCheaper(4096, 4096, 4096)).toBe(false)
    expect(bandRouteCheaper(4096, 4096, 3500)).toBe(false)
    expect(bandRouteCheaper(768, 768, 8)).toBe(true)
    expect(bandRouteCheaper(20, 10, 10)).toBe(false)
  })

  it.each(availableSvdKernelVariants())('kernel variant %s: the same bars', (variant) => {
    useSvdKernelVariant(variant)
    try {
      const c = cases[6]!
      const reference = references[6]!
      expectAccurateBand(reference.a, svdBand(reference.a, c.m, c.n, { band: [60, 80], route: 'band' }), reference, `variant ${variant}`)
    } finally {
      useSvdKernelVariant(undefined)
    }
  })

  it('a zero matrix: zero σ and the identity’s columns of the band', () => {
    const ours = svdBand(new Float64Array(6 * 4), 6, 4, { band: [1, 3], route: 'band' })
    expect(Array.from(ours.s)).toEqual([0, 0, 0, 0])
    const inv = invariants(new Float64Array(24), ours)
    expect(inv.orthogonalityU).toBe(0)
    expect(inv.orthogonalityV).toBe(0)
    expect(inv.residualLeft).toBe(0)
  })

  it('1×n and m×1 matrices', () => {
    const row = Float64Array.from([3, -4, 0, 12])
    const wide = svdBand(row, 1, 4, { band: [0, 1], route: 'band' })
    expect(wide.s[0]).toBeCloseTo(13, 14)
    expect(invariants(row, wide).residualRight).toBeLessThanOrEqual(8 * EPS * 13)
    const tall = svdBand(row, 4, 1, { band: [0, 1], route: 'band' })
    expect(tall.s[0]).toBeCloseTo(13, 14)
    expect(invariants(row, tall).residualLeft).toBeLessThanOrEqual(8 * EPS * 13)
  })

  it.each([
    ['subnormal', 1e-320, 1e-9],
    ['near 1e300', 1e300, 1e-13]
  ])('entries %s: brought into range first; σ as numpy finds them, vectors as accurate as ever', (_label, scale, tolerance) => {
    const m = 24
    const n = 16
    const a = Float64Array.from({ length: m * n }, (_, i) => Math.sin(i * 1.7 + 0.3) * scale)
    const ours = svdBand(a, m, n, { band: [12, 16], route: 'band' })
    const reference = numpySingularValues(a, m, n)
    ours.s.forEach((s, i) => expect(Math.abs(s - reference[i]!)).toBeLessThanOrEqual(tolerance * reference[0]!))
    // The invariants, on the matrix brought back to unit scale (its own σ scale with it).
    const unit = Float64Array.from(a, (x) => x / scale)
    const inv = invariants(unit, { ...ours, s: Float64Array.from(ours.s, (x) => x / scale) })
    const sMax = reference[0]! / scale
    if (scale > 1) expect(Math.max(inv.residualLeft, inv.residualRight)).toBeLessThanOrEqual(4 * EPS * sMax * m)
    expect(Math.max(inv.orthogonalityU, inv.orthogonalityV)).toBeLessThanOrEqual(4 * EPS * m)
  })
})

describe('svdBand input handling', () => {
  const a = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i + 1))

  it('a NaN is named with the tensor, row and column', () => {
    const b = a.slice()
    b[7] = Number.NaN
    expect(() => svdBand(b, 3, 4, { band: [2, 3], name: 'tensor model.layers.0.mlp.down_proj.weight' })).toThrow(
      new SvdInputError('tensor model.layers.0.mlp.down_proj.weight holds NaN at row 1, column 3')
    )
    expect(() => svdBand(b, 3, 4, { band: [2, 3] })).toThrow(new SvdInputError('the matrix holds NaN at row 1, column 3'))
  })

  it.each([
    [[2, 2]],
    [[3, 1]],
    [[-1, 2]],
    [[0, 4]],
    [[0.5, 2]],
    [[0, Number.NaN]]
  ])('band %j of a 3×4 matrix is an input error naming it', (band) => {
    expect(() => svdBand(a, 3, 4, { band: band as [number, number], name: 'tensor h.0.attn.c_proj.weight' })).toThrow(SvdInputError)
    expect(() => svdBand(a, 3, 4, { band: band as [number, number], name: 'tensor h.0.attn.c_proj.weight' })).toThrow(
      /^band \[.*\) of the 3×4 tensor h\.0\.attn\.c_proj\.weight: needs integers 0 ≤ start < end ≤ 3$/
    )
  })

  it('a missing band and wrong dimensions are input errors', () => {
    expect(() => svdBand(a, 3, 4, {} as { band: [number, number] })).toThrow(/^band of a 3×4 matrix: expected \[start, end\)/)
    expect(() => svdBand(a, 3, 5, { band: [0, 1] })).toThrow(SvdInputError)
  })

  it('does not modify its input; results own their buffers', () => {
    const copy = a.slice()
    const first = svdBand(a, 3, 4, { band: [1, 3], route: 'band' })
    expect(a).toEqual(copy)
    const s = first.s.slice()
    svdBand(Float64Array.from({ length: 200 * 150 }, (_, i) => Math.cos(i)), 200, 150, { band: [140, 150] })
    expect(first.s).toEqual(s)
    expect(first.u.buffer.byteLength).toBe(first.u.byteLength)
  })
})

describe('the analysis worker with a band', () => {
  // The real worker thread the pool runs (analysisWorker.ts), driven through the pool's own transport.
  const pool = new WorkerPool<SvdTask, SvdTaskResult>(workerEntry('analysisWorker', new URL('../../../src/main/workers/analysisPool.ts', import.meta.url).href), 1)
  afterAll(() => pool.close())

  it('returns all σ and the band’s vectors only', async () => {
    const c = cases[5]!
    const reference = references[5]!
    const result = await pool.run({ name: 'tensor repeated', m: c.m, n: c.n, matrix: reference.a.slice(), vectors: true, returnVectors: true, band: [112, 120] })
    expect(result.band).toEqual([112, 120])
    expect(result.s.length).toBe(120)
    expect(result.u!.length).toBe(c.m * 8)
    expect(result.vt!.length).toBe(8 * c.n)
    expectAccurateBand(reference.a, { m: c.m, n: c.n, rank: 120, s: result.s, band: [112, 120], u: result.u!, vt: result.vt!, route: 'band' }, reference, 'worker')
  })

  it('errors name the task’s matrix', async () => {
    const matrix = Float64Array.from({ length: 12 }, (_, i) => i + 1)
    matrix[5] = Number.POSITIVE_INFINITY
    await expect(pool.run({ name: 'tensor h.1.mlp.c_fc.weight', m: 3, n: 4, matrix, vectors: true, returnVectors: true, band: [2, 3] })).rejects.toMatchObject({
      name: 'SvdInputError',
      message: 'tensor h.1.mlp.c_fc.weight holds Infinity at row 1, column 1'
    })
    await expect(pool.run({ name: 'tensor x', m: 3, n: 4, matrix: new Float64Array(12), vectors: true, returnVectors: true, band: [0, 9] })).rejects.toMatchObject({
      name: 'SvdInputError'
    })
  })
})
