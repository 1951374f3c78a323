// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import type { TrainEvent } from '@shared/training'
import RunProgress from '@renderer/components/RunProgress.vue'
import { useRunStore } from '@renderer/stores/run'
import { FakeApi, setApi, type OpenStream } from './fakeApi'
import { config, numbered, shortRun } from './trainEvents'

vi.mock('@renderer/api', () => import('./fakeApi'))

const summary = (status: RunSummary['status']): RunSummary => ({ id: 'run-1', dir: '/runs/run-1', created: '', model: '/m', data: '/d.csv', task: 'classify', method: 'siva', status, step: 0 })

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

type Body = Parameters<typeof numbered>[0][number]

async function mounted(): Promise<{ w: VueWrapper; send: (...bodies: Body[]) => Promise<void> }> {
  const api = setApi(new FakeApi({ cancelRun: () => summary('running') }))
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(pinia)
  const run = useRunStore()
  run.attach('run-1', summary('queued'))
  const stream: OpenStream<'runEvents'> = api.last('runEvents')
  let index = 0
  const w = mount(RunProgress, { global: { plugins: [pinia] } })
  wrapper = w
  const send = async (...bodies: Body[]): Promise<void> => {
    for (const event of numbered(bodies, index)) stream.emit({ type: 'event', event: event as TrainEvent })
    index += bodies.length
    run.flush()
    await flushPromises()
  }
  return { w, send }
}

const text = (w: VueWrapper, id: string): string | undefined => {
  const found = w.find(`[data-testid="${id}"]`)
  return found.exists() ? found.text() : undefined
}

const prepared = shortRun()[2] as Extract<TrainEvent, { type: 'prepared' }>
const { index: _i, time: _t, ...preparedBody } = prepared

describe('RunProgress', () => {
  it('names every stage of a run with its own progress, in the status line and the stage row', async () => {
    const { w, send } = await mounted()
    const status = (): string => w.get('[data-testid="train-status"]').text()
    expect(status()).toMatch(/^Queued · run-1/)
    expect(w.get('[data-testid="train-status"]').attributes('role')).toBe('status')

    await send({ type: 'started', config, backend: { name: 'cpu', skipped: [] } })
    expect(status()).toMatch(/^Preparing the run/)
    // No "0 / ?" and no "– it/s" before the run knows its steps; the bar shows activity instead of 0 %.
    expect(text(w, 'train-steps')).toBeUndefined()
    expect(text(w, 'train-speed')).toBeUndefined()
    expect(w.get('[data-testid="train-progress"]').attributes('value')).toBeUndefined()

    await send({ type: 'stage', stage: 'data', done: 3, total: 4, detail: 'encoding' })
    expect(status()).toMatch(/^Preparing data 75 %/)
    expect(text(w, 'train-stage-detail')).toBe('encoding')
    expect((w.get('[data-testid="train-stage-progress"]').element as HTMLProgressElement).value).toBe(0.75)

    await send({ type: 'stage', stage: 'svd', done: 2, total: 4, detail: 'bert.encoder.layer.1.attention.self.query' })
    expect(status()).toMatch(/^Computing SVDs 2\/4 layers/)
    expect(text(w, 'train-stage')).toContain('bert.encoder.layer.1.attention.self.query')

    await send({ type: 'stage', stage: 'model', done: 0, total: 0 })
    expect(status()).toMatch(/^Building the model/)
    expect(w.find('[data-testid="train-stage"]').exists()).toBe(false)

    await send(preparedBody, { type: 'stage', stage: 'training', done: 0, total: 4 })
    expect(status()).toMatch(/^Training · step 0 of 4/)
    expect(text(w, 'train-steps')).toBe('0 / 4')
    expect(text(w, 'train-eta')).toBe('ETA after the first step')
    expect((w.get('[data-testid="train-progress"]').element as HTMLProgressElement).value).toBe(0)

    await send({ type: 'step', step: 1, epoch: 0, loss: 0.7, lr: 0.01, gradNorm: 1, samplesPerSecond: 16, stepsPerSecond: 4, etaSeconds: 0.75 }, { type: 'step', step: 2, epoch: 0, loss: 0.6, lr: 0.01, gradNorm: 1, samplesPerSecond: 8, stepsPerSecond: 2, etaSeconds: 90 })
    expect(status()).toMatch(/^Training · step 2 of 4 · epoch 1/)
    expect(text(w, 'train-steps')).toBe('2 / 4')
    expect(text(w, 'train-speed')).toBe('2 it/s')
    expect(text(w, 'train-eta')).toBe('ETA 1 min 30 s')
    expect((w.get('[data-testid="train-progress"]').element as HTMLProgressElement).value).toBe(2)

    await send({ type: 'stage', stage: 'evaluating', done: 3, total: 12, detail: 'at step 2' })
    expect(status()).toMatch(/^Evaluating 3\/12 batches · step 2 of 4/)
    expect((w.get('[data-testid="train-stage-progress"]').element as HTMLProgressElement).value).toBe(0.25)
    expect(w.get('[data-testid="run-progress"]').attributes('data-phase')).toBe('evaluating')

    await send({ type: 'eval', step: 2, epoch: 0, metrics: { accuracy: 0.5 }, best: true }, { type: 'stage', stage: 'saving', done: 0, total: 1, detail: 'at step 2' })
    expect(status()).toMatch(/^Saving checkpoint · step 2 of 4/)
    expect(w.find('[data-testid="train-stage-progress"]').exists()).toBe(false)

    await send({ type: 'checkpoint', step: 2, name: 'step-2' }, { type: 'paused', step: 2 })
    expect(status()).toMatch(/^Paused · step 2 of 4/)
    expect(w.get('[data-testid="train-status"]').attributes('data-status')).toBe('paused')
    expect(text(w, 'train-eta')).toBe('ETA paused')

    await send({ type: 'resumed', step: 2 }, { type: 'step', step: 3, epoch: 0, loss: 0.5, lr: 0.01, gradNorm: 1, samplesPerSecond: 8, stepsPerSecond: 2, etaSeconds: 0.5 }, { type: 'step', step: 4, epoch: 0, loss: 0.4, lr: 0.01, gradNorm: 1, samplesPerSecond: 8, stepsPerSecond: 2, etaSeconds: 0 })
    // Every step taken: not "4 / 4 · ETA 0 s" while the run evaluates and saves.
    expect(status()).toMatch(/^Finishing · step 4 of 4/)
    expect(text(w, 'train-eta')).toBeUndefined()
    await send({ type: 'stage', stage: 'finishing', done: 0, total: 0, detail: 'the final evaluation, spectra and checkpoint' }, { type: 'stage', stage: 'evaluating', done: 1, total: 2, detail: 'at step 4' })
    expect(status()).toMatch(/^Evaluating 1\/2 batches · step 4 of 4/)
    await send({ type: 'eval', step: 4, epoch: 0, metrics: { accuracy: 0.75 }, best: true }, { type: 'stage', stage: 'saving', done: 0, total: 1, detail: 'at step 4' })
    expect(status()).toMatch(/^Saving checkpoint · step 4 of 4/)
    await send({ type: 'checkpoint', step: 4, name: 'step-4' }, { type: 'finished', step: 4, seconds: 3 })
    expect(status()).toMatch(/^Finished · step 4 of 4 · epoch 1 · in 3 s/)
    expect(w.find('[data-testid="train-stage"]').exists()).toBe(false)
    expect(text(w, 'train-eta')).toBeUndefined()
  })

  it('says "Cancelling… (stops after the current step)" after a confirmed cancel, until the run is cancelled', async () => {
    const { w, send } = await mounted()
    await send({ type: 'started', config, backend: { name: 'cpu', skipped: [] } }, preparedBody, { type: 'step', step: 1, epoch: 0, loss: 0.7, lr: 0.01, gradNorm: 1, samplesPerSecond: 16, stepsPerSecond: 4, etaSeconds: 0.75 })
    await useRunStore().cancel()
    await flushPromises()
    expect(w.get('[data-testid="train-status"]').text()).toMatch(/^Cancelling… \(stops after the current step\) · step 1 of 4/)
    expect(w.get('[data-testid="run-progress"]').attributes('data-phase')).toBe('cancelling')
    await send({ type: 'stage', stage: 'saving', done: 0, total: 1, detail: 'at step 1' }, { type: 'checkpoint', step: 1, name: 'step-1' })
    expect(w.get('[data-testid="train-status"]').text()).toMatch(/^Cancelling…/)
    await send({ type: 'cancelled', step: 1 })
    expect(w.get('[data-testid="train-status"]').text()).toMatch(/^Cancelled · step 1 of 4/)
    expect(w.get('[data-testid="train-status"]').attributes('data-status')).toBe('cancelled')
  })
})
