import { describe, expect, it } from 'vitest'
import { shortLayerNames } from '@renderer/lib/layerShortNames'
import { onClock, stepClock } from '@renderer/lib/stepClock'

describe('steps on a clock', () => {
  const t0 = Date.UTC(2025, 0, 1, 12, 0, 0)
  const clock = stepClock([
    [0, t0],
    [1, t0 + 10_000],
    [3, t0 + 30_000],
    [4, t0 + 60_000]
  ])

  it('gives each logged step its time and interpolates between them', () => {
    expect(clock.origin).toBe(t0)
    expect(clock.at(1)).toBe(t0 + 10_000)
    // Step 2 was not timed: halfway between steps 1 and 3.
    expect(clock.at(2)).toBe(t0 + 20_000)
    expect(clock.at(3.5)).toBe(t0 + 45_000)
    expect(clock.at(5)).toBeUndefined()
    expect(stepClock([]).origin).toBeUndefined()
  })

  it('puts series on the time axis as [time, value, step], leaving out what it cannot place', () => {
    expect(
      onClock(
        [
          [2, 0.5],
          [4, 0.25],
          [9, 0.1]
        ],
        clock
      )
    ).toEqual([
      [t0 + 20_000, 0.5, 2],
      [t0 + 60_000, 0.25, 4]
    ])
  })
})

describe('short layer names', () => {
  it('drop the dotted prefix every name shares, keeping at least the last part', () => {
    const names = ['bert.encoder.layer.0.attention.self.query', 'bert.encoder.layer.0.attention.self.value', 'bert.encoder.layer.11.output.dense']
    expect([...shortLayerNames(names).values()]).toEqual(['0.attention.self.query', '0.attention.self.value', '11.output.dense'])
    expect(shortLayerNames(['bert.encoder.layer.0.attention.self.query']).get('bert.encoder.layer.0.attention.self.query')).toBe('query')
    expect(shortLayerNames(['a.x', 'b.x']).get('a.x')).toBe('a.x')
  })
})
