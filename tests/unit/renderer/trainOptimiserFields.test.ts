// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { trainConfigInput, type RunSummary, type TrainConfigInput } from '@shared/api'
import { useDataStore } from '@renderer/stores/data'
import { useModelStore } from '@renderer/stores/model'
import TrainView from '@renderer/views/TrainView.vue'
import { FakeApi, setApi } from './fakeApi'
import { usableCheck } from './dataChecks'
import { bertSummary } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

const queued: RunSummary = { id: 'run-1', dir: '/runs/run-1', created: '', model: '/m', data: '/d.csv', task: 'classify', method: 'siva', status: 'queued', step: 0 }

let api: FakeApi
let wrapper: VueWrapper | undefined

beforeEach(() => {
  api = setApi(new FakeApi({ openModel: () => bertSummary(2), checkData: usableCheck, startRun: () => queued }))
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

async function formView(): Promise<VueWrapper> {
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(pinia)
  await useModelStore().open('/m')
  useDataStore().path = '/d.csv'
  await useDataStore().check()
  wrapper = mount(TrainView, { attachTo: document.body, global: { plugins: [pinia], stubs: { BaseChart: true, Echarts: true } } })
  return wrapper
}

function sentConfig(): TrainConfigInput {
  const requests = api.callsOf('startRun') as { config: TrainConfigInput }[]
  expect(requests).toHaveLength(1)
  return trainConfigInput.parse(requests[0]!.config)
}

const value = (w: VueWrapper, field: string): string => w.get<HTMLInputElement>(`[data-testid="train-${field}"]`).element.value

describe('the Train step’s optimiser and checkpoint settings', () => {
  it('show the engine’s defaults, each with a line of help that names it, and Start sends them', async () => {
    const w = await formView()
    // loop.ts defaultTrainConfig: linear schedule, warmup 0.06, no weight decay, clipping at 1, no accumulation, a checkpoint every 50 steps.
    expect(value(w, 'schedule')).toBe('linear')
    expect(value(w, 'warmupRatio')).toBe('0.06')
    expect(value(w, 'weightDecay')).toBe('0')
    expect(value(w, 'maxGradNorm')).toBe('1')
    expect(value(w, 'gradientAccumulation')).toBe('1')
    expect(value(w, 'checkpointEvery')).toBe('50')
    for (const field of ['schedule', 'warmupRatio', 'weightDecay', 'maxGradNorm', 'gradientAccumulation', 'checkpointEvery']) {
      const control = w.get(`[data-testid="train-${field}"]`)
      // Labelled, and described by its help line.
      expect(w.get(`label[for="${control.attributes('id')}"]`).text().length).toBeGreaterThan(3)
      const help = w.get(`#${control.attributes('aria-describedby')}`).text()
      expect(help).toMatch(/\(default [\d.a-z]+\)\.$/)
    }
    expect(w.get('#train-warmupRatio-help').text()).toContain('(default 0.06)')
    expect(w.get('#train-checkpointEvery-help').text()).toContain('(default 50)')
    expect(w.get('[data-testid="train-schedule"]').findAll('option').map((o) => o.element.value)).toEqual(['linear', 'cosine', 'constant'])

    await w.get('form').trigger('submit')
    await flushPromises()
    expect(sentConfig()).toMatchObject({ schedule: 'linear', warmupRatio: 0.06, weightDecay: 0, maxGradNorm: 1, gradientAccumulation: 1, checkpointEvery: 50 })
  })

  it('sends what the user set, marks it edited, and Reset brings the defaults back', async () => {
    const w = await formView()
    const edit = async (): Promise<void> => {
      await w.get('[data-testid="train-schedule"]').setValue('cosine')
      for (const [field, typed] of [['warmupRatio', '0.1'], ['weightDecay', '0.01'], ['maxGradNorm', '0.5'], ['gradientAccumulation', '4'], ['checkpointEvery', '0']] as const) {
        await w.get(`[data-testid="train-${field}"]`).setValue(typed)
        await w.get(`[data-testid="train-${field}"]`).trigger('change')
      }
    }
    await edit()
    expect(w.get('[data-testid="train-schedule"]').classes()).toContain('edited')
    expect(w.get('[data-testid="train-warmupRatio"]').classes()).toContain('edited')
    const reset = w.findAll('button').find((b) => b.text() === 'Reset to defaults')!
    await reset.trigger('click')
    expect(value(w, 'schedule')).toBe('linear')
    expect(value(w, 'gradientAccumulation')).toBe('1')
    expect(w.get('[data-testid="train-warmupRatio"]').classes()).not.toContain('edited')

    await edit()
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(sentConfig()).toMatchObject({ schedule: 'cosine', warmupRatio: 0.1, weightDecay: 0.01, maxGradNorm: 0.5, gradientAccumulation: 4, checkpointEvery: 0 })
  })
})
