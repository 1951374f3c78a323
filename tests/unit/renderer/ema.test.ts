// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { MovingAverage, smooth, smoothPoints } from '@renderer/lib/ema'

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

  it('smooths chart points by hand, keeping their x and any extra field', () => {
    // weight 0.8: biased 0.2·2 = 0.4 → /(1 − 0.8) = 2
    //             biased 0.8·0.4 + 0.2·4 = 1.12 → /(1 − 0.64) = 3.1111
    //             biased 0.8·1.12 + 0.2·1 = 1.096 → /(1 − 0.512) = 2.245902
    const out = smoothPoints(
      [
        [10, 2, 1],
        [20, 4, 2],
        [30, 1, 3]
      ] as [number, number, number][],
      0.8
    )
    expect(out.map((p) => [p[0], p[2]])).toEqual([
      [10, 1],
      [20, 2],
      [30, 3]
    ])
    expect(out[0]![1]).toBeCloseTo(2, 12)
    expect(out[1]![1]).toBeCloseTo(1.12 / 0.36, 12)
    expect(out[2]![1]).toBeCloseTo(1.096 / 0.488, 12)
    const raw: [number, number][] = [
      [1, 5],
      [2, 7]
    ]
    expect(smoothPoints(raw, 0)).toEqual(raw)
    expect(smoothPoints(raw, 0.99)[1]![1]).toBeCloseTo((0.99 * 0.05 + 0.01 * 7) / (1 - 0.99 ** 2), 12)
  })
})
