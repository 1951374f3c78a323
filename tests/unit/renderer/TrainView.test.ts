// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import { useDataStore } from '@renderer/stores/data'
import { useModelStore } from '@renderer/stores/model'
import { useRunStore } from '@renderer/stores/run'
import TrainView from '@renderer/views/TrainView.vue'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary } from './fixtures'
import { shortRun } from './trainEvents'

vi.mock('@renderer/api', () => import('./fakeApi'))

const summary = (status: RunSummary['status']): RunSummary => ({ id: 'run-1', dir: '/runs/run-1', created: '', model: '/m', data: '/d.csv', task: 'classify', method: 'siva', status, step: 0 })

let api: FakeApi
let wrapper: VueWrapper | undefined

beforeEach(() => {
  api = setApi(
    new FakeApi({
      openModel: () => bertSummary(2),
      startRun: () => summary('queued'),
      cancelRun: () => summary('running'),
      pauseRun: () => summary('paused'),
      resumeRun: () => summary('running')
    })
  )
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

/** The Train view of a run that has prepared and taken two steps. */
async function runningView(): Promise<VueWrapper> {
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(pinia)
  await useModelStore().open('/m')
  useDataStore().path = '/d.csv'
  wrapper = mount(TrainView, { attachTo: document.body, global: { plugins: [pinia], stubs: { BaseChart: true } } })
  await wrapper.get('form').trigger('submit')
  await flushPromises()
  const stream = api.last('runEvents')
  for (const event of shortRun().slice(0, 5)) stream.emit({ type: 'event', event })
  useRunStore().flush()
  await flushPromises()
  return wrapper
}

describe('the Train view', () => {
  it('shows the run’s progress, speed and status', async () => {
    const w = await runningView()
    expect(api.callsOf('startRun')).toHaveLength(1)
    expect(w.get('[data-testid="train-status"]').text()).toContain('step 2 of 4')
    expect(w.get('[data-testid="train-status"]').attributes('data-status')).toBe('running')
    expect(w.get('[data-testid="train-steps"]').text()).toBe('2 / 4')
    expect(w.get('[data-testid="train-speed"]').text()).toBe('10 it/s')
    expect((w.get('[data-testid="train-progress"]').element as HTMLProgressElement).value).toBe(2)
    expect(w.find('[data-testid="loss-chart"]').exists()).toBe(true)
    expect(w.find('[data-testid="spectrum-chart"]').exists()).toBe(true)
    expect(w.get('[data-testid="train-start"]').attributes('disabled')).toBeDefined()
  })

  it('cancels only after confirmation', async () => {
    const w = await runningView()
    await w.get('[data-testid="train-cancel"]').trigger('click')
    const dialog = w.get('[data-testid="confirm-dialog"]')
    expect(dialog.attributes('role')).toBe('alertdialog')
    expect(dialog.attributes('aria-modal')).toBe('true')
    await flushPromises()
    // Focus starts on the answer that keeps the run going.
    expect(document.activeElement?.getAttribute('data-testid')).toBe('confirm-dismiss')
    expect(api.callsOf('cancelRun')).toEqual([])

    await w.get('[data-testid="confirm-dismiss"]').trigger('click')
    expect(w.find('[data-testid="confirm-dialog"]').exists()).toBe(false)
    await w.get('[data-testid="train-cancel"]').trigger('click')
    await w.get('[data-testid="confirm-dialog"]').trigger('keydown', { key: 'Escape' })
    expect(w.find('[data-testid="confirm-dialog"]').exists()).toBe(false)
    expect(api.callsOf('cancelRun')).toEqual([])

    await w.get('[data-testid="train-cancel"]').trigger('click')
    await w.get('[data-testid="confirm-accept"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('cancelRun')).toEqual([{ runId: 'run-1' }])
  })

  it('pauses and resumes', async () => {
    const w = await runningView()
    expect(w.find('[data-testid="train-resume"]').exists()).toBe(false)
    await w.get('[data-testid="train-pause"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('pauseRun')).toEqual([{ runId: 'run-1' }])
    await w.get('[data-testid="train-resume"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('resumeRun')).toEqual([{ runId: 'run-1' }])
    expect(w.find('[data-testid="train-pause"]').exists()).toBe(true)
  })
})
