import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../../src/main/engine/io'
import { inspectSource } from '../../../src/main/engine/spectra'
import { AnalysisPool } from '../../../src/main/workers/analysisPool'
import type { InspectReport, LayerSpectrum } from '../../../src/shared/spectra'
import { pythonWithNumpy, repoRoot, tempDir } from '../../helpers/paths'

/** rows×cols pseudo-random values in [-scale, scale), row-major: well conditioned, so every σ is accurate. */
function scaled(scale: number, rows: number, cols: number, seed = 0): Float64Array {
  let state = seed + 1
  return Float64Array.from({ length: rows * cols }, () => {
    state = (state * 1103515245 + 12345) % 2147483648
    return (state / 2147483648 - 0.5) * 2 * scale
  })
}

const f64 = (name: string, rows: number, cols: number, data: Float64Array): TensorToWrite => ({ name, dtype: 'F64', shape: [rows, cols], data })

const pool = new AnalysisPool(2)
afterAll(() => pool.close())

async function inspect(file: string): Promise<InspectReport> {
  const source = await openSafetensors(file)
  try {
    return await inspectSource(source, { runSvd: pool.runSvd, valuesOnly: true, perc: 0.25 })
  } finally {
    await source.close()
  }
}

/** tests/reference/spectra_reference.py: numpy's LAPACK SVD of each matrix and the summaries on σ/σ_max. */
function numpyReference(file: string): Omit<LayerSpectrum, 'dtype'>[] {
  const run = spawnSync(pythonWithNumpy(), [join(repoRoot, 'tests/reference/spectra_reference.py'), file, '--perc', '0.25'], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(run.stderr)
  return (JSON.parse(run.stdout) as { tensors: Omit<LayerSpectrum, 'dtype'>[] }).tensors
}

const close = (actual: number | null, expected: number | null, what: string): void => {
  expect(actual, what).not.toBeNull()
  expect(Math.abs(actual! - expected!), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-12 * Math.abs(expected!))
}

describe('inspect at the ends of the float64 range', () => {
  it('weights near 1e200 and 1e-170 get every summary, as numpy computes them on σ/σ_max', async () => {
    const file = join(tempDir('inspect-range'), 'model.safetensors')
    await writeSafetensors(file, [f64('big.weight', 16, 8, scaled(1e200, 16, 8)), f64('small.weight', 16, 8, scaled(1e-170, 16, 8, 1)), f64('plain.weight', 16, 8, scaled(0.02, 16, 8, 2))])
    const report = await inspect(file)
    const reference = numpyReference(file)
    expect(report.tensors.map((t) => t.name)).toEqual(['big.weight', 'small.weight', 'plain.weight'])
    for (const [i, ours] of report.tensors.entries()) {
      const ref = reference[i]!
      expect(ours.error).toBeUndefined()
      for (const key of ['effectiveRank', 'stableRank', 'spectralNorm', 'conditionNumber', 'bottomEnergyShare'] as const) close(ours[key], ref[key], `${ours.name} ${key}`)
      expect(ours.bottomK).toBe(ref.bottomK)
    }
    // In JSON, as `siva inspect --json` prints it, nothing turned into null.
    expect(JSON.stringify(report)).not.toContain('null')
  })

  it('a matrix of subnormal values (whose SVD did not converge) is analysed, with σ as numpy finds them', async () => {
    const file = join(tempDir('inspect-subnormal'), 'model.safetensors')
    await writeSafetensors(file, [f64('before.weight', 16, 8, scaled(1, 16, 8)), f64('tiny.weight', 16, 8, scaled(1e-320, 16, 8)), f64('after.weight', 16, 8, scaled(1, 16, 8, 3))])
    const report = await inspect(file)
    expect(report.tensors.map((t) => [t.name, t.error])).toEqual([['before.weight', undefined], ['tiny.weight', undefined], ['after.weight', undefined]])
    const tiny = report.tensors[1]!
    const ref = numpyReference(file)[1]!
    tiny.singularValues.forEach((s, i) => expect(Math.abs(s - ref.singularValues[i]!)).toBeLessThanOrEqual(1e-9 * ref.singularValues[0]!))
  })

  it('a matrix whose SVD fails is marked in the report, naming the tensor (and block); the rest are analysed', async () => {
    const file = join(tempDir('inspect-failures'), 'model.safetensors')
    const nan = scaled(1, 16, 8)
    nan[5] = Number.NaN
    // A fused GPT-2 c_attn [8, 24]: block k (columns 8–16) with values whose σ is beyond float64.
    const fused = scaled(1, 8, 24)
    for (let row = 0; row < 8; row++) for (let col = 8; col < 16; col++) fused[row * 24 + col] = (((row * 7 + col * 13) % 17) / 17 - 0.5) * 2 * 1.7e308
    await writeSafetensors(file, [
      f64('a.weight', 16, 8, scaled(1, 16, 8)),
      f64('huge.weight', 16, 8, scaled(1.7e308, 16, 8)),
      f64('nan.weight', 16, 8, nan),
      f64('h.0.attn.c_attn.weight', 8, 24, fused),
      f64('z.weight', 16, 8, scaled(1, 16, 8, 5))
    ])
    const report = await inspect(file)
    expect(report.tensors.map((t) => [t.name, t.error])).toEqual([
      ['a.weight', undefined],
      ['huge.weight', expect.stringMatching(/^.+model\.safetensors: SVD of the 16×8 tensor huge\.weight: its largest singular value, about \d\.\de\+308, is beyond the largest float64 \(1\.8e\+308\)$/)],
      ['nan.weight', `${file}: tensor nan.weight holds NaN at row 0, column 5`],
      ['h.0.attn.c_attn.weight.q', undefined],
      ['h.0.attn.c_attn.weight.k', expect.stringMatching(/^.+model\.safetensors: SVD of the 8×8 block k of tensor h\.0\.attn\.c_attn\.weight \(columns 8–16\): its largest singular value, about \d\.\de\+308, is beyond the largest float64/)],
      ['h.0.attn.c_attn.weight.v', undefined],
      ['z.weight', undefined]
    ])
    for (const t of report.tensors) {
      if (t.error) expect(t.singularValues).toEqual([])
      else expect(t.singularValues).toHaveLength(8)
    }
  })
})
