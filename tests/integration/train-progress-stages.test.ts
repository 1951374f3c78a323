import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { defaultTrainConfig, StepPace, TrainControl, trainRun } from '../../src/main/engine/training/loop'
import type { TrainEvent } from '../../src/shared/training'
import { replayRunTimeline } from '../../src/shared/runTimeline'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'
import { inProcessDecompose as decompose } from '../helpers/decompose'

type Stage = Extract<TrainEvent, { type: 'stage' }>
type Step = Extract<TrainEvent, { type: 'step' }>

let model: string
let data: string
beforeAll(() => {
  const dir = tempDir('train-progress')
  model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
  data = sentimentCsv(join(dir, 'sentiment.csv'), 160)
})

describe('StepPace', () => {
  it('averages recent steps, and leaves out a session’s first (warm-up) step once there are others', () => {
    const pace = new StepPace(3)
    expect(pace.seconds()).toBeNaN()
    pace.add(5)
    expect(pace.seconds()).toBe(5)
    pace.add(1)
    pace.add(2)
    expect(pace.seconds()).toBe(1.5)
    pace.add(3)
    pace.add(4)
    // Window of 3: 2, 3, 4.
    expect(pace.seconds()).toBe(3)
  })
})

describe('a run names every stage, and its ETA counts training time only', () => {
  const pauseAt = 10
  const pauseMs = 3000
  const totalSteps = 30

  it('data → SVD → model → training → evaluating (batches counted) → saving → finished; no pause in the ETA', async () => {
    const runDir = join(tempDir('train-progress-run'), 'run')
    // 144 training rows in batches of 4: 36 steps an epoch, stopped at 30; 16 validation rows: 4 batches.
    const config = defaultTrainConfig({ model, data, task: 'classify', method: 'siva', epochs: 1, maxSteps: totalSteps, batchSize: 4, seed: 5, evalEvery: 0, spectraEvery: 0, checkpointEvery: 0, backend: 'wasm' })
    const control = new TrainControl()
    const events: TrainEvent[] = []
    /** When each step event reached this consumer (ms): the test's own clock, not the loop's. */
    const arrived = new Map<number, number>()
    for await (const event of trainRun(config, runDir, { decompose, control })) {
      events.push(event)
      if (event.type !== 'step') continue
      arrived.set(event.step, performance.now())
      if (event.step === pauseAt) {
        control.pause()
        setTimeout(() => control.resume(), pauseMs)
      }
    }
    expect(events.at(-1)!.type).toBe('finished')
    const logged = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainEvent)
    expect(logged).toEqual(events)

    // ---- stages, in order, each with its own progress
    const stages = events.filter((e): e is Stage => e.type === 'stage')
    const firstIndex = (test: (e: TrainEvent) => boolean): number => events.findIndex(test)
    const stageAt = (name: Stage['stage']): number => firstIndex((e) => e.type === 'stage' && e.stage === name)
    const order = [stageAt('data'), stageAt('svd'), stageAt('model'), stageAt('training'), firstIndex((e) => e.type === 'step'), stageAt('finishing'), stageAt('evaluating'), firstIndex((e) => e.type === 'eval'), stageAt('saving'), firstIndex((e) => e.type === 'checkpoint'), firstIndex((e) => e.type === 'finished')]
    expect(order.every((i) => i >= 0), JSON.stringify(order)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    // The SVD stage counts tiny-bert's four default targets and names the layer being decomposed.
    const svd = stages.find((s) => s.stage === 'svd')!
    expect(svd).toMatchObject({ done: 0, total: 4, detail: 'bert.encoder.layer.0.attention.self.query' })
    expect(stages.find((s) => s.stage === 'training')).toMatchObject({ done: 0, total: totalSteps })
    // Evaluation counts validation batches: 16 rows in batches of 4.
    const evaluating = stages.filter((s) => s.stage === 'evaluating')
    expect(evaluating[0]).toMatchObject({ done: 0, total: 4 })
    for (const s of evaluating) expect(s.done).toBeLessThanOrEqual(s.total)
    const prepared = events.find((e) => e.type === 'prepared') as Extract<TrainEvent, { type: 'prepared' }>
    expect(prepared.data.validation).toBe(16)
    expect(stages.find((s) => s.stage === 'saving')).toMatchObject({ done: 0, total: 1, detail: `at step ${totalSteps}` })
    // Nothing but the final checkpoint and 'finished' comes after the saving stage.
    expect(events.slice(stageAt('saving') + 1).map((e) => e.type)).toEqual(['checkpoint', 'finished'])
    // Stage events are few: the first report of each piece of work, then at most four a second.
    expect(stages.length).toBeLessThan(40)

    // A log holding the new stages still folds as before.
    const timeline = replayRunTimeline(logged)
    expect(timeline).toMatchObject({ status: 'finished', step: totalSteps, totalSteps })

    // ---- ETA after the pause
    const steps = events.filter((e): e is Step => e.type === 'step')
    expect(steps).toHaveLength(totalSteps)
    const paused = events.find((e) => e.type === 'paused')
    expect(paused).toMatchObject({ step: pauseAt })
    // Seconds per step as this test saw them: the mean gap between step events over the steps the ETA
    // at step pauseAt + 1 can know (2 … pauseAt; the first is warm-up), leaving out the gap the pause
    // spans. A mean over that window, not a median over the whole run: steps here take ~15 ms, so one
    // slow step (a collection, a busy neighbour) moves both the loop's mean and this one alike.
    const gaps: number[] = []
    for (let s = 2; s <= pauseAt; s++) gaps.push((arrived.get(s)! - arrived.get(s - 1)!) / 1000)
    const stepSeconds = gaps.reduce((a, b) => a + b, 0) / gaps.length
    const pauseGap = (arrived.get(pauseAt + 1)! - arrived.get(pauseAt)!) / 1000
    expect(pauseGap).toBeGreaterThan(pauseMs / 1000 - 0.1)
    const before = steps[pauseAt - 1]!
    const after = steps[pauseAt]!
    expect(after.step).toBe(pauseAt + 1)
    const expected = (totalSteps - after.step) * stepSeconds
    // Remaining steps × measured step time, within a generous factor (a shared CPU is noisy) ...
    expect(after.etaSeconds).toBeLessThan(expected * 3)
    expect(after.etaSeconds).toBeGreaterThan(expected / 3)
    // ... and not raised by the pause: a window over the last 20 steps that counted it would add
    // (remaining / 21) × 3 s, about 2.7 s here, to an ETA of about 19 steps' time (about 2 s).
    expect(after.etaSeconds).toBeLessThan(before.etaSeconds * 1.5 + 0.05)
    // The speed shown is steps per second of training time, not of wall time that includes the pause.
    expect(after.stepsPerSecond).toBeGreaterThan(1 / (stepSeconds * 3))
  }, 180_000)
})
