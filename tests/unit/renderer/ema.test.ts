// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { MovingAverage, smooth } from '@renderer/lib/ema'

describe('loss smoothing', () => {
  it('is debiased: the first value comes through whole, then weights follow by hand', () => {
    // weight 0.5: biased = 0.5·1 = 0.5 → /(1 − 0.5) = 1
    //             biased = 0.5·0.5 + 0.5·3 = 1.75 → /(1 − 0.25) = 2.3333
    //             biased = 0.5·1.75 + 0.5·2 = 1.875 → /(1 − 0.125) = 2.142857
    const out = smooth([1, 3, 2], 0.5)
    expect(out[0]).toBeCloseTo(1, 12)
    expect(out[1]).toBeCloseTo(7 / 3, 12)
    expect(out[2]).toBeCloseTo(15 / 7, 12)
  })

  it('keeps a constant series constant and follows a step change gradually', () => {
    expect(smooth([2, 2, 2, 2], 0.9).every((v) => Math.abs(v - 2) < 1e-12)).toBe(true)
    const out = smooth([1, 1, 1, 0, 0, 0], 0.9)
    expect(out[3]).toBeLessThan(1)
    expect(out[3]).toBeGreaterThan(0)
    expect(out[5]).toBeLessThan(out[4]!)
  })

  it('weight 0 does not smooth; a NaN loss leaves the average unchanged', () => {
    expect(smooth([3, 1, 4], 0)).toEqual([3, 1, 4])
    const average = new MovingAverage(0.5)
    expect(average.push(NaN)).toBeNaN()
    average.push(2)
    expect(average.push(NaN)).toBe(2)
    expect(() => new MovingAverage(1)).toThrow(RangeError)
  })
})
