// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import { RunFolder } from '@renderer/lib/runTrace'
import { cancellingText, runProgressText } from '@renderer/lib/runProgress'
import { useRunStore } from '@renderer/stores/run'
import { FakeApi, setApi } from './fakeApi'
import { config, numbered, shortRun } from './trainEvents'

vi.mock('@renderer/api', () => import('./fakeApi'))

const summary = (status: RunSummary['status']): RunSummary => ({ id: 'run-1', dir: '/runs/run-1', created: '', model: '/m', data: '/d.csv', task: 'classify', method: 'siva', status, step: 2, totalSteps: 4 })

/** shortRun up to (not including) its pause: started, stage, prepared, two steps, eval, spectra, checkpoint. */
const beforePause = (): ReturnType<typeof shortRun> => shortRun().slice(0, 8)

describe('the trace and progress text of a run', () => {
  it('names each stage with its own count, and clears it when the work is done', () => {
    const folder = new RunFolder()
    const text = (): ReturnType<typeof runProgressText> => runProgressText(folder.trace)
    const events = numbered([
      { type: 'started', config, backend: { name: 'cpu', skipped: [] } },
      { type: 'stage', stage: 'data', done: 250, total: 1000, detail: 'encoding' },
      { type: 'stage', stage: 'svd', done: 1, total: 4, detail: 'bert.encoder.layer.0.attention.self.value' },
      { type: 'stage', stage: 'svd', done: 2, total: 4, detail: 'bert.encoder.layer.1.attention.self.query', etaSeconds: 75 },
      { type: 'stage', stage: 'model', done: 0, total: 0 }
    ])
    folder.fold(events[0]!)
    expect(text()).toMatchObject({ phase: 'preparing', headline: 'Preparing the run' })
    expect(text().steps).toBeUndefined()
    expect(text().eta).toBeUndefined()
    folder.fold(events[1]!)
    expect(text()).toMatchObject({ phase: 'data', headline: 'Preparing data 25 %', stage: { fraction: 0.25, detail: 'encoding' } })
    folder.fold(events[2]!)
    expect(text()).toMatchObject({ phase: 'svd', headline: 'Computing SVDs 1/4 layers', stage: { fraction: 0.25, detail: 'bert.encoder.layer.0.attention.self.value' } })
    expect(text().eta).toBeUndefined()
    // With the engine's estimate, the SVD stage has an ETA of its own (the run has no step count yet).
    folder.fold(events[3]!)
    expect(text()).toMatchObject({ phase: 'svd', headline: 'Computing SVDs 2/4 layers', eta: 'ETA 1 min 15 s for the SVDs' })
    folder.fold(events[4]!)
    expect(text().eta).toBeUndefined()
    expect(text().headline).toBe('Building the model')
    expect(text().stage?.fraction).toBeUndefined()
  })

  it('shows evaluation batches and saving between steps, and "Finishing" rather than "ETA 0 s" after the last step', () => {
    const folder = new RunFolder()
    const run = shortRun()
    for (const e of run.slice(0, 5)) folder.fold(e) // through step 2 of 4
    expect(runProgressText(folder.trace)).toMatchObject({ phase: 'training', headline: 'Training · step 2 of 4 · epoch 1', steps: '2 / 4', speed: '10 it/s', eta: 'ETA 0 s' })
    let index = 100
    const at = (body: Parameters<typeof numbered>[0][number]): ReturnType<typeof numbered>[number] => numbered([body], index++)[0]!
    folder.fold(at({ type: 'stage', stage: 'evaluating', done: 3, total: 12, detail: 'at step 2' }))
    expect(runProgressText(folder.trace)).toMatchObject({ phase: 'evaluating', headline: 'Evaluating 3/12 batches · step 2 of 4 · epoch 1', stage: { fraction: 0.25, detail: 'at step 2' } })
    folder.fold(at({ type: 'eval', step: 2, epoch: 0, metrics: { accuracy: 0.5 }, best: true }))
    expect(runProgressText(folder.trace).phase).toBe('training')
    folder.fold(at({ type: 'stage', stage: 'saving', done: 0, total: 1, detail: 'at step 2' }))
    expect(runProgressText(folder.trace).headline).toBe('Saving checkpoint · step 2 of 4 · epoch 1')
    folder.fold(at({ type: 'checkpoint', step: 2, name: 'step-2' }))
    expect(runProgressText(folder.trace).phase).toBe('training')
    for (const step of [3, 4]) folder.fold(at({ type: 'step', step, epoch: 0, loss: 0.5, lr: 0.01, gradNorm: 1, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: (4 - step) / 10 }))
    // Every step taken: what is left is named, with no ETA of 0 s beside it.
    expect(runProgressText(folder.trace)).toMatchObject({ phase: 'finishing', headline: 'Finishing · step 4 of 4 · epoch 1' })
    expect(runProgressText(folder.trace).eta).toBeUndefined()
    folder.fold(at({ type: 'stage', stage: 'evaluating', done: 1, total: 2, detail: 'at step 4' }))
    expect(runProgressText(folder.trace).headline).toBe('Evaluating 1/2 batches · step 4 of 4 · epoch 1')
    expect(runProgressText(folder.trace).eta).toBeUndefined()
    folder.fold(at({ type: 'finished', step: 4, seconds: 75 }))
    expect(runProgressText(folder.trace)).toMatchObject({ phase: 'finished', headline: 'Finished · step 4 of 4 · epoch 1 · in 1 min 15 s' })
    expect(folder.trace.stage).toBeUndefined()
  })

  it('says "paused" instead of a frozen ETA, and takes the new estimate after resuming', () => {
    const folder = new RunFolder()
    const run = shortRun()
    for (const e of run.slice(0, 9)) folder.fold(e) // … checkpoint, paused
    expect(run[8]!.type).toBe('paused')
    expect(folder.trace.etaSeconds).toBe(0.2)
    expect(runProgressText(folder.trace)).toMatchObject({ phase: 'paused', eta: 'ETA paused' })
    expect(runProgressText(folder.trace).headline).toMatch(/^Paused · step 2 of 4/)
    folder.fold(run[9]!) // resumed: no step yet, the last estimate stands
    expect(runProgressText(folder.trace)).toMatchObject({ phase: 'training', eta: 'ETA 0 s' })
    folder.fold({ ...run[10]!, etaSeconds: 75 } as (typeof run)[number])
    expect(runProgressText(folder.trace).eta).toBe('ETA 1 min 15 s')
  })

  it('reads a log written before the evaluating, saving and finishing stages existed', () => {
    const folder = new RunFolder()
    for (const e of shortRun()) folder.fold(e)
    expect(runProgressText(folder.trace)).toMatchObject({ phase: 'finished', headline: 'Finished · step 4 of 4 · epoch 1 · in 2 s' })
  })
})

describe('cancelling in the run store', () => {
  let api: FakeApi
  beforeEach(() => {
    setActivePinia(createTestingPinia({ stubActions: false, createSpy: vi.fn }))
  })

  async function following(cancelRun: () => RunSummary | Promise<RunSummary>): Promise<ReturnType<typeof useRunStore>> {
    api = setApi(new FakeApi({ cancelRun }))
    const store = useRunStore()
    store.attach('run-1', summary('running'))
    const stream = api.last('runEvents')
    for (const event of beforePause()) stream.emit({ type: 'event', event })
    store.flush()
    return store
  }

  it('shows "Cancelling…" from the confirmed cancel until the cancelled event', async () => {
    let answer: (run: RunSummary) => void = () => undefined
    const store = await following(() => new Promise<RunSummary>((resolve) => (answer = resolve)))
    expect(runProgressText(store.info).phase).toBe('training')
    const cancelling = store.cancel()
    // At once, before the back end answers.
    expect(store.info.cancelling).toBe(true)
    expect(runProgressText(store.info)).toMatchObject({ phase: 'cancelling', eta: 'ETA stopping' })
    expect(runProgressText(store.info).headline).toBe(`${cancellingText} · step 2 of 4 · epoch 1`)
    expect(cancellingText).toBe('Cancelling… (stops after the current step)')
    // The back end answers that the run still trains (it stops after its step): still cancelling.
    answer(summary('running'))
    await cancelling
    await flushPromises()
    expect(api.callsOf('cancelRun')).toEqual([{ runId: 'run-1' }])
    expect(runProgressText(store.info).phase).toBe('cancelling')
    const stream = api.last('runEvents')
    for (const event of numbered([
      { type: 'stage', stage: 'saving', done: 0, total: 1, detail: 'at step 2' },
      { type: 'checkpoint', step: 2, name: 'step-2' }
    ], 8)) stream.emit({ type: 'event', event })
    store.flush()
    // Saving the last checkpoint is part of stopping: the line keeps saying so.
    expect(runProgressText(store.info).phase).toBe('cancelling')
    stream.emit({ type: 'event', event: numbered([{ type: 'cancelled', step: 2 }], 10)[0]! })
    store.flush()
    expect(store.info.cancelling).toBeUndefined()
    expect(runProgressText(store.info)).toMatchObject({ phase: 'cancelled', headline: 'Cancelled · step 2 of 4 · epoch 1' })
    expect(runProgressText(store.info).eta).toBeUndefined()
  })

  it('stops saying "Cancelling…" when the cancel request fails', async () => {
    const store = await following(() => {
      throw new Error('the back end is gone')
    })
    await store.cancel()
    expect(store.error).toBe('the back end is gone')
    expect(store.info.cancelling).toBeUndefined()
    expect(runProgressText(store.info).phase).toBe('training')
  })
})
