import { describe, expect, it } from 'vitest'
import { continuableRunStatuses, createRunTimeline, foldRunEvent, lastMetrics, replayRunTimeline, settledStatus } from '../../../src/shared/runTimeline'
import type { TrainConfig, TrainEvent } from '../../../src/shared/training'

// The reducer on hand-written logs in the event shapes of src/shared/training.ts, one case per rule; the
// same rules on logs the real engine wrote are in tests/integration/run-lifecycle.test.ts.

const config = { model: '/m', data: '/d.csv', task: 'classify', method: 'siva' } as TrainConfig

type Body = TrainEvent extends infer E ? (E extends TrainEvent ? Omit<E, 'index' | 'time'> : never) : never

/** Events numbered in order, one second apart, as events.jsonl holds them. */
const log = (...bodies: Body[]): TrainEvent[] => bodies.map((b, i) => ({ ...b, index: i, time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString() }) as TrainEvent)

const started = (resumedFrom?: number) => ({ type: 'started' as const, config, backend: { name: 'cpu', skipped: [] }, ...(resumedFrom !== undefined && { resumedFrom }) })
const step = (n: number) => ({ type: 'step' as const, step: n, epoch: 0, loss: 1 / n, lr: 0.01, gradNorm: 1, samplesPerSecond: 1, stepsPerSecond: 1, etaSeconds: 1 })
const evaluation = (n: number, accuracy: number, best: boolean) => ({ type: 'eval' as const, step: n, epoch: 0, metrics: { accuracy }, best })
const parameters = { adapter: 2, head: 18, total: 20, lora8: 128, full: 5000 }
const prepared = { type: 'prepared' as const, parameters, targets: [], data: { train: 16, validation: 4 }, totalSteps: 6, spectraBefore: [] }

describe('the run timeline', () => {
  it('a fresh timeline is queued; a log with no end is running (or paused) while a trainer is alive, interrupted when none is', () => {
    expect(createRunTimeline()).toMatchObject({ status: 'queued', step: 0, lastIndex: -1 })
    expect(settledStatus(createRunTimeline(), false)).toBe('interrupted')
    const running = replayRunTimeline(log(started(), prepared, step(1), step(2)))
    expect(running).toMatchObject({ status: 'running', step: 2, totalSteps: 6, parameters })
    expect(settledStatus(running, true)).toBe('running')
    expect(settledStatus(running, false)).toBe('interrupted')
    const paused = replayRunTimeline(log(started(), step(1), { type: 'paused', step: 1 }))
    expect(settledStatus(paused, true)).toBe('paused')
    expect(settledStatus(paused, false)).toBe('interrupted')
  })

  it('an ended log is what it says, trainer or not', () => {
    for (const [end, status] of [
      [{ type: 'finished', step: 2, seconds: 3 }, 'finished'],
      [{ type: 'cancelled', step: 2 }, 'cancelled'],
      [{ type: 'error', message: 'bad row 3' }, 'failed']
    ] as const) {
      const t = replayRunTimeline(log(started(), step(1), step(2), end))
      expect(settledStatus(t, false)).toBe(status)
      expect(settledStatus(t, true)).toBe(status)
    }
    expect(replayRunTimeline(log(started(), { type: 'error', message: 'bad row 3' }))).toMatchObject({ status: 'failed', error: 'bad row 3' })
    expect(continuableRunStatuses).toEqual(['interrupted', 'cancelled'])
  })

  it('counts the time paused, over pauses that ended (a cancel while paused ends one); a pause open at a restart is not counted', () => {
    // Events are one second apart: paused at 2 s, resumed at 5 s, paused at 7 s, cancelled at 9 s.
    const t = replayRunTimeline(log(started(), step(1), { type: 'paused', step: 1 }, step(1), step(1), { type: 'resumed', step: 1 }, step(2), { type: 'paused', step: 2 }, step(2), { type: 'cancelled', step: 2 }))
    expect(t.pausedSeconds).toBe(3 + 2)
    expect(t.pausedSince).toBeUndefined()
    const restarted = replayRunTimeline(log(started(), step(1), { type: 'paused', step: 1 }, started(1), step(2)))
    expect(restarted).toMatchObject({ status: 'running', pausedSeconds: 0, step: 2 })
    expect(restarted.pausedSince).toBeUndefined()
  })

  it('a resume drops the steps, evaluations and best logged after its checkpoint, and clears the error', () => {
    const t = replayRunTimeline(
      log(started(), prepared, step(1), step(2), evaluation(2, 0.5, true), step(3), step(4), evaluation(4, 0.9, true), step(5), { type: 'error', message: 'worker gone' }, started(2))
    )
    expect(t).toMatchObject({ status: 'running', step: 2, resumedFrom: [2], best: { step: 2, metrics: { accuracy: 0.5 } } })
    expect(t.evaluations.map((e) => e.step)).toEqual([2])
    expect(t.error).toBeUndefined()
    expect(lastMetrics(t)).toEqual({ accuracy: 0.5 })
  })

  it('the best is the last evaluation the loop marked best, and the finished event has the last word', () => {
    const t = replayRunTimeline(log(started(), evaluation(2, 0.8, true), evaluation(4, 0.6, false), { type: 'finished', step: 4, seconds: 7, best: { step: 2, metrics: { accuracy: 0.8 } } }))
    expect(t).toMatchObject({ status: 'finished', step: 4, seconds: 7, best: { step: 2, metrics: { accuracy: 0.8 } } })
    expect(lastMetrics(t)).toEqual({ accuracy: 0.6 })
  })

  it('an event already folded (a replay after a reconnect) changes nothing', () => {
    const events = log(started(), step(1), { type: 'paused', step: 1 }, { type: 'resumed', step: 1 })
    const t = createRunTimeline()
    for (const event of events) expect(foldRunEvent(t, event)).toBe(true)
    const before = structuredClone(t)
    for (const event of events) expect(foldRunEvent(t, event)).toBe(false)
    expect(t).toEqual(before)
  })
})
