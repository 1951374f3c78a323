// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import { useAppStore } from '@renderer/stores/app'
import { useRunStore } from '@renderer/stores/run'
import ExportView from '@renderer/views/ExportView.vue'
import { FakeApi, setApi } from './fakeApi'

vi.mock('@renderer/api', () => import('./fakeApi'))

const finished: RunSummary = { id: 'run-7', dir: '/runs/run-7', created: '2025-01-01T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'siva', status: 'finished', step: 40 }

describe('the Export view', () => {
  it('exports the current run to folders under its own, and lists sizes and files', async () => {
    const api = setApi(
      new FakeApi({
        listRuns: () => [finished],
        exportRun: (p) => ({
          checkpoint: { name: 'step-40', step: 40 },
          outputs: Object.entries(p.outputs).map(([kind, dir]) => ({ kind: kind as 'merged', dir: dir!, bytes: kind === 'merged' ? 17_600_000 : 4_300, files: kind === 'merged' ? ['config.json', 'model.safetensors'] : ['adapter.safetensors'] }))
        })
      })
    )
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    useAppStore().info = { name: 'SiVA Studio', version: '0', versions: {}, platform: 'linux', runsDir: '/runs' }
    useRunStore().attach('run-7', finished)
    const w = mount(ExportView, { global: { plugins: [pinia] } })
    await flushPromises()
    expect((w.get('[data-testid="export-run"]').element as HTMLSelectElement).value).toBe('run-7')
    expect((w.get('[data-testid="export-dir-merged"]').element as HTMLInputElement).value).toBe('/runs/run-7/exports/merged')
    expect(w.find('[data-testid="export-dir-peft-lora"]').exists()).toBe(false)
    await w.get('[data-testid="export-report"]').setValue(false)
    await w.get('[data-testid="export-start"]').trigger('submit')
    await flushPromises()
    expect(api.callsOf('exportRun')).toEqual([{ runId: 'run-7', outputs: { merged: '/runs/run-7/exports/merged', adapter: '/runs/run-7/exports/adapter' } }])
    const shown = w.get('[data-testid="export-result"]')
    expect(shown.text()).toContain('step-40')
    expect(shown.findAll('[data-testid="export-bytes"]').map((b) => b.text())).toEqual(['17.6 MB', '4.3 kB'])
    expect(shown.text()).toContain('model.safetensors')
  })
})
