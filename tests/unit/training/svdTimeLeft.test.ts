import { describe, expect, it } from 'vitest'
import { svdTimeLeft } from '../../../src/main/engine/training/loop'
import type { AdaptableLinear } from '../../../src/main/engine/models/types'

/** A target of out × in (only the shape matters to the estimate). */
const target = (outFeatures: number, inFeatures: number): AdaptableLinear => ({ name: `w${outFeatures}x${inFeatures}`, weightTensor: 'w', conv1d: false, outFeatures, inFeatures, block: 0, role: 'query' })

describe("the SVD stage's time left", () => {
  it('scales the seconds so far by the flops left over the flops done (m·n·min(m, n) a matrix)', () => {
    let ms = 1000
    const left = svdTimeLeft([target(4096, 4096), target(11008, 4096), target(4096, 11008)], () => ms)
    // 4096³ done in 30 s; left: 2 × 11008·4096·4096 → 30 · 2 · 11008 / 4096 = 161.25 s.
    ms += 30_000
    expect(left(1)).toBeCloseTo(161.25, 9)
    // Both 4096 × 4096 and one 11008 × 4096 done in 90 s: left 11008 / (4096 + 11008) of the rate.
    ms += 60_000
    expect(left(2)).toBeCloseTo((90 * 11008) / (4096 + 11008), 9)
    expect(left(3)).toBe(0)
  })

  it('says nothing before a decomposition has taken measurable time (a cache hit at the start)', () => {
    let ms = 0
    const left = svdTimeLeft([target(32, 32), target(32, 32)], () => ms)
    expect(left(0)).toBeUndefined()
    ms = 10
    expect(left(1)).toBeUndefined()
    ms = 2000
    expect(left(1)).toBeCloseTo(2, 9)
  })
})
