// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { smooth } from '@renderer/lib/ema'
import { appendPoint, effectiveRank, RunFolder, type Point } from '@renderer/lib/runTrace'
import { config, numbered, queryBefore, shortRun } from './trainEvents'

const query = 'bert.encoder.layer.0.attention.self.query'

describe('folding a run’s events', () => {
  it('turns a short run into loss, smoothed loss, lr, metric and erank series', () => {
    const folder = new RunFolder(0.5)
    for (const event of shortRun()) folder.fold(event)
    const t = folder.trace

    expect(t.status).toBe('finished')
    expect(t.totalSteps).toBe(4)
    expect(t.step).toBe(4)
    expect(t.parameters).toEqual({ adapter: 2, head: 18, total: 20, lora8: 128, full: 5000 })
    expect(t.loss).toEqual([
      [1, 0.8],
      [2, 0.6],
      [3, 0.5],
      [4, 0.4]
    ])
    const expected = smooth([0.8, 0.6, 0.5, 0.4], 0.5)
    t.lossSmoothed.forEach(([step, value], i) => {
      expect(step).toBe(i + 1)
      expect(value).toBeCloseTo(expected[i]!, 12)
    })
    // By hand, weight 0.5: the biased average after two losses is 0.5·(0.5·0.8) + 0.5·0.6 = 0.5, debiased by 1 − 0.5² = 0.75.
    expect(t.lossSmoothed[1]![1]).toBeCloseTo((0.5 * 0.5 * 0.8 + 0.5 * 0.6) / 0.75, 12)
    expect(t.lr.map((p) => p[1])).toEqual([0.01, 0.0075, 0.005, 0.0025])
    expect(t.metrics.accuracy).toEqual([
      [2, 0.5],
      [4, 0.75]
    ])
    expect(t.best).toEqual({ step: 4, metrics: { accuracy: 0.75, loss: 0.55 } })
    expect(t.checkpoints.map((c) => c.name)).toEqual(['step-2', 'step-4'])
    expect(t.seconds).toBe(1.5)

    const layer = t.layers.get(query)!
    expect(layer.before).toEqual(queryBefore)
    expect(layer.now).toEqual([4, 2, 1, 1])
    expect(layer.band).toEqual([3, 4])
    // Step 0 is the erank of the spectrum before training, computed from it; then the run's own values.
    expect(layer.erank[0]![0]).toBe(0)
    expect(layer.erank[0]![1]).toBeCloseTo(effectiveRank(queryBefore), 12)
    expect(layer.erank.slice(1)).toEqual([
      [2, 3.4],
      [4, 3.5]
    ])
    expect(layer.erankBefore).toBe(3.2)
    expect([...t.layers.keys()]).toEqual([query, 'bert.encoder.layer.0.attention.self.value'])
  })

  it('follows pause and resume, and reports a failure with its message', () => {
    const events = shortRun()
    const folder = new RunFolder()
    for (const e of events.slice(0, 9)) folder.fold(e)
    expect(folder.trace.status).toBe('paused')
    folder.fold(events[9]!)
    expect(folder.trace.status).toBe('running')
    folder.fold({ type: 'error', message: 'out of memory', index: 100, time: '' })
    expect(folder.trace.status).toBe('failed')
    expect(folder.trace.error).toBe('out of memory')
  })

  it('ignores events replayed on reconnect', () => {
    const events = shortRun()
    const folder = new RunFolder()
    for (const e of events.slice(0, 6)) folder.fold(e)
    for (const e of events) folder.fold(e)
    expect(folder.trace.loss).toHaveLength(4)
    expect(folder.trace.metrics.accuracy).toHaveLength(2)
    expect(folder.fold(events[3]!)).toBe(false)
  })

  it('after a crash, the steps repeated from the last checkpoint replace the ones after it', () => {
    const folder = new RunFolder(0.5)
    const first = shortRun().slice(0, 5) // up to step 2
    for (const e of first) folder.fold(e)
    const after = numbered(
      [
        { type: 'step', step: 3, epoch: 0, loss: 0.9, lr: 0.005, gradNorm: 1, samplesPerSecond: 1, stepsPerSecond: 1, etaSeconds: 1 },
        // The run died here and resumed from its checkpoint at step 2: step 3 comes again.
        { type: 'started', config, backend: { name: 'cpu', skipped: [] }, resumedFrom: 2 },
        { type: 'step', step: 3, epoch: 0, loss: 0.5, lr: 0.005, gradNorm: 1, samplesPerSecond: 1, stepsPerSecond: 1, etaSeconds: 1 }
      ],
      first.length
    )
    for (const e of after) folder.fold(e)
    expect(folder.trace.loss).toEqual([
      [1, 0.8],
      [2, 0.6],
      [3, 0.5]
    ])
    const expected = smooth([0.8, 0.6, 0.5], 0.5)
    expect(folder.trace.lossSmoothed.map((p) => p[1])).toEqual(expected)
    expect(folder.trace.resumedFrom).toBe(2)
  })

  it('appendPoint drops points at or after the step it adds', () => {
    const series: Point[] = [
      [1, 1],
      [2, 2],
      [3, 3]
    ]
    expect(appendPoint(series, 4, 4)).toBe(false)
    expect(appendPoint(series, 2, 9)).toBe(true)
    expect(series).toEqual([
      [1, 1],
      [2, 9]
    ])
  })

  it('computes Roy & Vetterli’s effective rank', () => {
    expect(effectiveRank([1, 1, 1, 1])).toBeCloseTo(4, 12)
    expect(effectiveRank([1, 0, 0])).toBeCloseTo(1, 12)
    // p = [0.5, 0.25, 0.25]: H = 0.5 ln 2 + 2 · 0.25 ln 4 = 1.5 ln 2 → erank = 2^1.5
    expect(effectiveRank([2, 1, 1])).toBeCloseTo(2 ** 1.5, 12)
    expect(effectiveRank([])).toBe(0)
  })
})
