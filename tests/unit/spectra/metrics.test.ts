import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { bottomK, effectiveRank, spectralMetrics } from '../../../src/main/engine/spectra'

// numpy computed these (tests/reference/spectra_reference.py) from LAPACK singular values of the real
// tiny-random-gpt2 checkpoint; here the same σ go through our summaries.
const reference = JSON.parse(readFileSync(new URL('../../fixtures/spectra/tiny-random-gpt2.json', import.meta.url), 'utf8')) as {
  tensors: { name: string; singularValues: number[]; effectiveRank: number; stableRank: number; spectralNorm: number; conditionNumber: number | null; bottomK: number; bottomEnergyShare: number }[]
}

const close = (a: number, b: number, rel = 1e-12): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(b)))

describe('spectral metrics against numpy', () => {
  it.each(reference.tensors.map((t) => [t.name, t] as const))('%s', (_name, t) => {
    const m = spectralMetrics(Float64Array.from(t.singularValues), 0.1)
    close(m.effectiveRank, t.effectiveRank)
    close(m.stableRank, t.stableRank)
    close(m.spectralNorm, t.spectralNorm)
    expect(t.conditionNumber).not.toBeNull()
    close(m.conditionNumber, t.conditionNumber!)
    expect(m.bottomK).toBe(t.bottomK)
    close(m.bottomEnergyShare, t.bottomEnergyShare)
  })
})

describe('spectral metrics, closed forms', () => {
  it('effective rank of a flat spectrum is its length; of a rank-one matrix, 1', () => {
    close(effectiveRank([2, 2, 2, 2, 2]), 5)
    close(effectiveRank([3, 0, 0]), 1)
    close(effectiveRank([0, 0]), 0)
  })

  it('stable rank, condition number and energy share on a hand example', () => {
    const m = spectralMetrics([4, 2, 1, 1], 0.5)
    close(m.stableRank, (16 + 4 + 1 + 1) / 16)
    close(m.conditionNumber, 4)
    expect(m.bottomK).toBe(2)
    close(m.bottomEnergyShare, 2 / 22)
  })

  it('a singular matrix has an infinite condition number', () => {
    expect(spectralMetrics([1, 0.5, 0]).conditionNumber).toBe(Infinity)
  })

  it('k = max(1, round(perc · r)), capped at r', () => {
    expect(bottomK(768, 0.1)).toBe(77)
    expect(bottomK(32, 0.1)).toBe(3)
    expect(bottomK(4, 0.1)).toBe(1)
    expect(bottomK(5, 1)).toBe(5)
    expect(() => bottomK(5, 0)).toThrow(RangeError)
    expect(() => bottomK(5, 1.5)).toThrow(RangeError)
  })
})
