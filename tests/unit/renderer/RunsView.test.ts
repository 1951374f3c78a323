// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import { useAppStore } from '@renderer/stores/app'
import { useRunStore } from '@renderer/stores/run'
import RunsView from '@renderer/views/RunsView.vue'
import { FakeApi, setApi } from './fakeApi'

vi.mock('@renderer/api', () => import('./fakeApi'))

const runs: RunSummary[] = [
  { id: 'r-old', dir: '/runs/r-old', created: '2025-01-01T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'siva', status: 'finished', step: 30, totalSteps: 30, trainable: 1848, metrics: { accuracy: 0.875 } },
  { id: 'r-new', dir: '/runs/r-new', created: '2025-02-01T00:00:00Z', model: '/m', data: '/d', task: 'regress', method: 'lora', status: 'running', step: 3, totalSteps: 30 }
]

describe('the Runs view', () => {
  it('lists runs with their status, method, steps and metrics', async () => {
    setApi(new FakeApi({ listRuns: () => runs }))
    const w = mount(RunsView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    await flushPromises()
    const rows = w.findAll('[data-testid="run-row"]')
    expect(rows.map((r) => r.attributes('data-run'))).toEqual(['r-new', 'r-old'])
    expect(rows[1]!.text()).toContain('finished')
    expect(rows[1]!.text()).toContain('30 / 30')
    expect(rows[1]!.text()).toContain('accuracy 0.875')
    expect(rows[1]!.text()).toContain('1.85 k')
    // A run that is training cannot be deleted.
    expect(rows[0]!.get('[data-testid="run-delete"]').attributes('disabled')).toBeDefined()
  })

  it('deletes a run only after confirmation', async () => {
    const api = setApi(new FakeApi({ listRuns: () => runs, deleteRun: ({ runId }) => ({ deleted: runId }) }))
    const w = mount(RunsView, { attachTo: document.body, global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    await flushPromises()
    const old = (): ReturnType<typeof w.find> => w.find('[data-run="r-old"]')
    await old().get('[data-testid="run-delete"]').trigger('click')
    expect(w.get('[data-testid="confirm-dialog"]').text()).toContain('r-old')
    await w.get('[data-testid="confirm-dismiss"]').trigger('click')
    expect(api.callsOf('deleteRun')).toEqual([])
    expect(old().exists()).toBe(true)
    await old().get('[data-testid="run-delete"]').trigger('click')
    await w.get('[data-testid="confirm-accept"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('deleteRun')).toEqual([{ runId: 'r-old' }])
    expect(old().exists()).toBe(false)
    w.unmount()
  })

  it('opens a past run on the Train step, replaying its events', async () => {
    const api = setApi(new FakeApi({ listRuns: () => runs }))
    const w = mount(RunsView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    await flushPromises()
    await w.get('[aria-label="Open run r-old"]').trigger('click')
    expect(useAppStore().step).toBe('train')
    expect(useRunStore().runId).toBe('r-old')
    expect(api.last('runEvents').params).toEqual({ runId: 'r-old', after: -1 })
  })
})
