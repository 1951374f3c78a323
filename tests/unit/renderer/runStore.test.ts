// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import { smooth } from '@renderer/lib/ema'
import { useDataStore } from '@renderer/stores/data'
import { useLayersStore } from '@renderer/stores/layers'
import { useModelStore } from '@renderer/stores/model'
import { useRunStore } from '@renderer/stores/run'
import { FakeApi, setApi } from './fakeApi'
import { usableCheck } from './dataChecks'
import { bertSummary } from './fixtures'
import { shortRun } from './trainEvents'

vi.mock('@renderer/api', () => import('./fakeApi'))

const runSummary = (status: RunSummary['status']): RunSummary => ({
  id: 'run-1',
  dir: '/runs/run-1',
  created: '2025-01-01T00:00:00Z',
  model: '/models/tiny-bert',
  data: '/data/train.csv',
  task: 'classify',
  method: 'siva',
  status,
  step: 0
})

let api: FakeApi

beforeEach(() => {
  setActivePinia(createTestingPinia({ stubActions: false, createSpy: vi.fn }))
  api = setApi(
    new FakeApi({
      openModel: ({ path }) => ({ ...bertSummary(2), path }),
      checkData: usableCheck,
      startRun: () => runSummary('queued'),
      pauseRun: () => runSummary('paused'),
      resumeRun: () => runSummary('running'),
      cancelRun: () => runSummary('cancelled')
    })
  )
})

async function prepareWizard(): Promise<void> {
  await useModelStore().open('/models/tiny-bert')
  const data = useDataStore()
  data.path = '/data/train.csv'
  data.task = 'classify'
  data.setColumn('text', 'sentence')
  await data.check()
}

describe('the run store', () => {
  it('says what is missing before a run can start', async () => {
    const run = useRunStore()
    expect(run.missing).toMatch(/Open a model/)
    expect(await run.start()).toBe(false)
    await useModelStore().open('/m')
    expect(run.missing).toMatch(/training data/)
    useDataStore().path = '/d.csv'
    expect(run.missing).toMatch(/Start is disabled: \/d\.csv has not been checked/)
    await useDataStore().check()
    useLayersStore().selectNone()
    expect(run.missing).toMatch(/Select at least one layer/)
    expect(api.callsOf('startRun')).toEqual([])
  })

  it('starts a run from the Model, Data and Layers steps and the hyperparameters', async () => {
    await prepareWizard()
    const run = useRunStore()
    expect(run.hyperparameters.lr).toBe(0.01)
    run.setHyperparameter('epochs', 1)
    run.setHyperparameter('maxSteps', 4)
    useLayersStore().method = 'lora'
    expect(run.hyperparameters.lr).toBe(5e-4) // the default follows the method until edited
    run.setHyperparameter('lr', 0.002)
    expect(await run.start()).toBe(true)
    const [{ config }] = api.callsOf('startRun') as [{ config: Record<string, unknown> }]
    expect(config).toMatchObject({
      model: '/models/tiny-bert',
      data: '/data/train.csv',
      task: 'classify',
      method: 'lora',
      rank: 8,
      targets: '\\.attention\\.self\\.(query|value)$',
      epochs: 1,
      maxSteps: 4,
      lr: 0.002,
      columns: { text: 'sentence' }
    })
    expect(run.runId).toBe('run-1')
    expect(api.last('runEvents').params).toEqual({ runId: 'run-1', after: -1 })
  })

  it("the head learning rate starts at the model family's (the sentence encoder's 3e-2), until edited", async () => {
    await prepareWizard()
    const run = useRunStore()
    expect(run.hyperparameters.headLr).toBe(1e-3) // the BERT fixture's summary names the engine's default
    useModelStore().summary = { ...bertSummary(2), modelType: 'use-lite', headLr: 3e-2 }
    expect(run.hyperparameters.headLr).toBe(3e-2)
    run.setHyperparameter('headLr', 5e-3)
    useModelStore().summary = { ...bertSummary(2), headLr: 1e-3 }
    expect(run.hyperparameters.headLr).toBe(5e-3)
    expect(await run.start()).toBe(true)
    expect((api.callsOf('startRun') as [{ config: Record<string, unknown> }])[0].config.headLr).toBe(5e-3)
  })

  it('starts one run for a double submit', async () => {
    await prepareWizard()
    const run = useRunStore()
    const results = await Promise.all([run.start(), run.start()])
    expect(results).toEqual([true, false])
    expect(api.callsOf('startRun')).toHaveLength(1)
    expect(await run.start()).toBe(false) // the run is active now
  })

  it('folds streamed events into chart series, published once per frame', async () => {
    await prepareWizard()
    const run = useRunStore()
    await run.start()
    const stream = api.last('runEvents')
    const events = shortRun()
    for (const event of events.slice(0, 5)) stream.emit({ type: 'event', event })
    expect(run.loss).toEqual([]) // nothing before the frame
    run.flush()
    expect(run.status).toBe('running')
    expect(run.loss).toEqual([
      [1, 0.8],
      [2, 0.6]
    ])
    const previous = run.loss
    for (const event of events.slice(5)) stream.emit({ type: 'event', event })
    stream.emit({ type: 'status', run: { ...runSummary('finished'), step: 4 } })
    stream.end()
    expect(run.loss).not.toBe(previous) // a new array: the chart sees a change
    expect(run.loss.map((p) => p[1])).toEqual([0.8, 0.6, 0.5, 0.4])
    const expected = smooth([0.8, 0.6, 0.5, 0.4], 0.9)
    run.lossSmoothed.forEach((p, i) => expect(p[1]).toBeCloseTo(expected[i]!, 12))
    expect(run.metrics.accuracy).toEqual([
      [2, 0.5],
      [4, 0.75]
    ])
    expect(run.lr).toHaveLength(4)
    expect(run.layerNames).toEqual(['bert.encoder.layer.0.attention.self.query', 'bert.encoder.layer.0.attention.self.value'])
    expect(run.layers.get('bert.encoder.layer.0.attention.self.value')!.erank.map((p) => p[0])).toEqual([0, 2, 4])
    expect(run.info).toMatchObject({ step: 4, totalSteps: 4, stepsPerSecond: 8, etaSeconds: 0, status: 'finished' })
    expect(run.progress).toBe(1)
    expect(run.active).toBe(false)
    expect(run.connected).toBe(false)
  })

  it('after a reload, follows the run still training (and none when nothing trains)', async () => {
    const finished = { ...runSummary('finished'), id: 'old' }
    setApi(new FakeApi({ listRuns: () => [finished] }))
    expect(await useRunStore().reattach()).toBeUndefined()
    expect(useRunStore().runId).toBeUndefined()
    const live = setApi(new FakeApi({ listRuns: () => [finished, { ...runSummary('running'), step: 7 }] }))
    const run = useRunStore()
    expect(await run.reattach()).toBe('run-1')
    expect(run.runId).toBe('run-1')
    // Its events are asked for from the very first, so every chart fills in.
    expect(live.last('runEvents').params).toEqual({ runId: 'run-1', after: -1 })
  })

  it('pauses, resumes and cancels through the API', async () => {
    await prepareWizard()
    const run = useRunStore()
    await run.start()
    await run.pause()
    expect(run.status).toBe('paused')
    await run.resume()
    expect(run.status).toBe('running')
    await run.cancel()
    expect(run.status).toBe('cancelled')
    // (Opening a model also refreshes the recent-models list.)
    expect(api.calls.map((c) => c.method).filter((m) => m !== 'recentModels')).toEqual(['openModel', 'checkData', 'startRun', 'pauseRun', 'resumeRun', 'cancelRun'])
    expect(api.callsOf('cancelRun')).toEqual([{ runId: 'run-1' }])
  })

  it('re-attaching to a run replays it from the start and drops the previous one', async () => {
    const run = useRunStore()
    run.attach('run-a')
    const a = api.last('runEvents')
    a.emit({ type: 'event', event: shortRun()[3]! })
    run.attach('run-b', runSummary('finished'))
    expect(a.closed).toBe(true)
    a.emit({ type: 'event', event: shortRun()[4]! })
    run.flush()
    expect(run.loss).toEqual([])
    expect(run.status).toBe('finished')
    expect(api.last('runEvents').params).toEqual({ runId: 'run-b', after: -1 })
  })
})
