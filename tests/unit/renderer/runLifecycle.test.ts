// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AppInfo, RunSummary } from '@shared/api'
import { replayRunTimeline, settledStatus } from '@shared/runTimeline'
import type { TrainEvent } from '@shared/training'
import { RunFolder } from '@renderer/lib/runTrace'
import { useAppStore } from '@renderer/stores/app'
import { useRunStore } from '@renderer/stores/run'
import { useRunsStore } from '@renderer/stores/runs'
import RunsView from '@renderer/views/RunsView.vue'
import TrainView from '@renderer/views/TrainView.vue'
import { FakeApi, setApi } from './fakeApi'
import { config, shortRun } from './trainEvents'

vi.mock('@renderer/api', () => import('./fakeApi'))

// The renderer's side of a run's lifecycle: it reads events through the shared timeline, a run whose log
// stops short is interrupted (not paused or running forever), and an interrupted run can be resumed.

const summary = (id: string, status: RunSummary['status'], step = 0): RunSummary => ({ id, dir: `/runs/${id}`, created: `2025-01-0${id.length % 9}T00:00:00Z`, model: '/m', data: '/d.csv', task: 'classify', method: 'siva', status, step, totalSteps: 4 })

/** shortRun up to and including its first event of `type`: the log of a run killed right there. */
function cutAt(type: TrainEvent['type']): TrainEvent[] {
  const events = shortRun()
  return events.slice(0, events.findIndex((e) => e.type === type) + 1)
}

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

describe('the run timeline in the renderer', () => {
  it('RunFolder folds through the shared reducer: the same timeline, and the same settled status', () => {
    const full = shortRun()
    const cancelled = [...cutAt('resumed'), { type: 'cancelled', step: 2, index: cutAt('resumed').length, time: '2025-01-01T00:02:00Z' } as TrainEvent]
    const failed = [...cutAt('prepared'), { type: 'error', message: 'row 3: empty text', index: cutAt('prepared').length, time: '2025-01-01T00:02:00Z' } as TrainEvent]
    // Killed after its checkpoint at step 2, then resumed from it by a new trainer: its indices continue.
    const resumed = [...cutAt('resumed'), ...[full[0]!, ...full.slice(11)].map((e, i) => ({ ...e, index: cutAt('resumed').length + i, ...(e.type === 'started' && { resumedFrom: 2 }) }) as TrainEvent)]
    for (const events of [cutAt('paused'), cutAt('resumed'), cutAt('prepared'), full, cancelled, failed, resumed]) {
      const folder = new RunFolder()
      for (const event of events) folder.fold(event)
      expect(folder.timeline).toEqual(replayRunTimeline(events))
      folder.settle()
      expect(folder.trace.status).toBe(settledStatus(replayRunTimeline(events), false))
    }
  })

  it('the Train step: a run whose stream ends after "paused" shows as interrupted, with Resume from checkpoint', async () => {
    const api = setApi(new FakeApi())
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    const run = useRunStore()
    run.attach('r-1', summary('r-1', 'paused', 2))
    const stream = api.last('runEvents')
    for (const event of cutAt('paused')) stream.emit({ type: 'event', event })
    run.flush()
    expect(run.status).toBe('paused')
    // The back end ends the stream: no trainer is left to write more.
    stream.end()
    await flushPromises()
    expect(run.status).toBe('interrupted')
    expect(run.active).toBe(false)
    expect(run.canContinue).toBe(true)
  })

  it("the back end's word wins: a run another process trains stays running when its stream ends (no live feed here)", async () => {
    const api = setApi(new FakeApi())
    setActivePinia(createTestingPinia({ stubActions: false, createSpy: vi.fn }))
    const run = useRunStore()
    run.attach('r-1', summary('r-1', 'running', 2))
    const stream = api.last('runEvents')
    for (const event of cutAt('resumed')) stream.emit({ type: 'event', event })
    stream.emit({ type: 'status', run: summary('r-1', 'running', 2) })
    stream.end()
    await flushPromises()
    expect(run.status).toBe('running')
  })

  it('a stream that breaks (the connection was lost) leaves the status as it was', async () => {
    const api = setApi(new FakeApi())
    setActivePinia(createTestingPinia({ stubActions: false, createSpy: vi.fn }))
    const run = useRunStore()
    run.attach('r-1', summary('r-1', 'running', 2))
    const stream = api.last('runEvents')
    for (const event of cutAt('resumed')) stream.emit({ type: 'event', event })
    stream.end('the connection to the back end was lost')
    await flushPromises()
    expect(run.status).toBe('running')
    expect(run.error).toMatch(/connection/)
  })

  it('the Runs comparison: a compared run whose stream ends after "resumed" is interrupted and no longer followed', async () => {
    const listed = [summary('r-a', 'interrupted', 2), summary('r-bb', 'finished', 4)]
    const api = setApi(new FakeApi({ listRuns: () => listed }))
    setActivePinia(createTestingPinia({ stubActions: false, createSpy: vi.fn }))
    const runs = useRunsStore()
    await runs.refresh()
    runs.toggleSelected('r-a', true)
    runs.toggleSelected('r-bb', true)
    runs.compare()
    const stream = (id: string): ReturnType<FakeApi['last']> => api.streams.find((s) => (s.params as { runId: string }).runId === id)!
    for (const event of cutAt('resumed')) stream('r-a').emit({ type: 'event', event })
    stream('r-a').end()
    for (const event of shortRun()) stream('r-bb').emit({ type: 'event', event })
    stream('r-bb').end()
    runs.flush()
    const entry = runs.comparison.find((e) => e.id === 'r-a')!
    expect(entry.trace.status).toBe('interrupted')
    expect(entry.live).toBe(false)
    expect(runs.comparison.find((e) => e.id === 'r-bb')!.trace.status).toBe('finished')
  })
})

describe('Resume on an interrupted run', () => {
  it('the Train view offers "Resume from checkpoint" on an interrupted run, continues it and follows it again', async () => {
    const api = setApi(new FakeApi({ continueRun: ({ runId }) => summary(runId, 'queued', 2) }))
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    const run = useRunStore()
    run.attach('r-1', summary('r-1', 'interrupted', 2))
    const first = api.last('runEvents')
    for (const event of cutAt('paused')) first.emit({ type: 'event', event })
    first.end()
    wrapper = mount(TrainView, { global: { plugins: [pinia], stubs: { BaseChart: true } } })
    await flushPromises()
    expect(wrapper.get('[data-testid="train-status"]').attributes('data-status')).toBe('interrupted')
    // A paused run's Resume is another button (it wakes the live trainer); this one starts a new one.
    expect(wrapper.find('[data-testid="train-resume"]').exists()).toBe(false)
    await wrapper.get('[data-testid="train-continue"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('continueRun')).toEqual([{ runId: 'r-1' }])
    // It replays the run from the start and follows it live: the old stream's events, then the new trainer's.
    const second = api.last('runEvents')
    expect(second).not.toBe(first)
    expect(second.params).toEqual({ runId: 'r-1', after: -1 })
    for (const event of cutAt('paused')) second.emit({ type: 'event', event })
    const next = cutAt('paused').length
    second.emit({ type: 'event', event: { type: 'started', config, backend: { name: 'cpu', skipped: [] }, resumedFrom: 2, index: next, time: '2025-01-01T00:01:00Z' } })
    run.flush()
    await flushPromises()
    expect(run.status).toBe('running')
    expect(wrapper.find('[data-testid="train-continue"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="train-pause"]').exists()).toBe(true)
  })

  it('is not offered on a run that is training, paused, finished or failed', async () => {
    for (const status of ['running', 'paused', 'finished', 'failed'] as const) {
      const api = setApi(new FakeApi())
      const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
      setActivePinia(pinia)
      useRunStore().attach('r-1', summary('r-1', status))
      api.last('runEvents').emit({ type: 'status', run: summary('r-1', status) })
      useRunStore().flush()
      const w = mount(TrainView, { global: { plugins: [pinia], stubs: { BaseChart: true } } })
      await flushPromises()
      expect(w.find('[data-testid="train-continue"]').exists(), status).toBe(false)
      w.unmount()
    }
  })

  it('says why it could not continue (the back end refused)', async () => {
    setApi(new FakeApi({ continueRun: () => Promise.reject(new Error('r-1: another trainer is using this run')) }))
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    useRunStore().attach('r-1', summary('r-1', 'interrupted'))
    wrapper = mount(TrainView, { global: { plugins: [pinia], stubs: { BaseChart: true } } })
    await flushPromises()
    await wrapper.get('[data-testid="train-continue"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-testid="train-error"]').text()).toContain('another trainer is using this run')
  })

  it('the Runs list has Resume on interrupted and cancelled runs only; it continues the run and opens it on the Train step', async () => {
    const listed = [summary('r-int', 'interrupted', 2), summary('r-can', 'cancelled', 3), summary('r-fin', 'finished', 4), summary('r-run', 'running', 1), summary('r-bad', 'failed', 0)]
    const api = setApi(new FakeApi({ listRuns: () => listed, continueRun: ({ runId }) => summary(runId, 'queued', 2) }))
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    wrapper = mount(RunsView, { global: { plugins: [pinia] } })
    await flushPromises()
    const offered = wrapper.findAll('[data-testid="run-row"]').filter((row) => row.find('[data-testid="run-continue"]').exists())
    expect(offered.map((row) => row.attributes('data-run')).sort()).toEqual(['r-can', 'r-int'])
    await wrapper.get('[aria-label="Resume run r-int from its last checkpoint"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('continueRun')).toEqual([{ runId: 'r-int' }])
    expect(useAppStore().step).toBe('train')
    expect(useRunStore().runId).toBe('r-int')
    expect(api.last('runEvents').params).toEqual({ runId: 'r-int', after: -1 })
  })
})

describe('what closing the window does, in words that match the host', () => {
  const note = async (windowClose: AppInfo['windowClose']): Promise<string> => {
    const api = setApi(new FakeApi())
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    useAppStore().info = { name: 'SiVA Studio', version: '0', versions: {}, platform: 'linux', ...(windowClose && { windowClose }) }
    useRunStore().attach('r-1', summary('r-1', 'running'))
    api.last('runEvents').emit({ type: 'status', run: summary('r-1', 'running') })
    useRunStore().flush()
    const w = mount(TrainView, { global: { plugins: [pinia], stubs: { BaseChart: true } } })
    await flushPromises()
    const text = w.get('[data-testid="train-close-note"]').text()
    w.unmount()
    return text
  }

  it('Windows and Linux: closing quits, and the run stops with a checkpoint', async () => {
    expect(await note('quits')).toMatch(/Closing the window quits SiVA Studio: the run stops at its next step with a checkpoint/)
  })

  it('macOS: closing leaves the app training; quitting stops the run with a checkpoint', async () => {
    expect(await note('stays')).toMatch(/Closing the window leaves SiVA Studio training; quitting stops the run/)
  })

  it('a browser under siva serve: closing the page leaves the server training', async () => {
    expect(await note(undefined)).toMatch(/Closing this page leaves the run training on the server/)
  })
})
