// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import type { TrainConfig } from '@shared/training'
import type { ChartOption } from '@renderer/charts/echarts'
import { useAppStore } from '@renderer/stores/app'
import { useRunStore } from '@renderer/stores/run'
import RunsView from '@renderer/views/RunsView.vue'
import { FakeApi, setApi } from './fakeApi'
import { config, numbered, shortRun } from './trainEvents'

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

  it('compares two runs: loss and key metric overlaid, the config fields that differ, a summary', async () => {
    const lora: TrainConfig = { ...config, method: 'lora', rank: 8, alpha: 16, lr: 0.001 }
    delete lora.perc
    const loraEvents = numbered([
      { type: 'started', config: lora, backend: { name: 'cpu', skipped: [] } },
      { type: 'prepared', parameters: { adapter: 128, head: 18, total: 146, lora8: 128, full: 5000 }, targets: [], data: { train: 16, validation: 4, labels: ['neg', 'pos'] }, totalSteps: 2, spectraBefore: [] },
      { type: 'step', step: 1, epoch: 0, loss: 1, lr: 0.001, gradNorm: 1, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0.1 },
      { type: 'step', step: 2, epoch: 0, loss: 0.5, lr: 0.0005, gradNorm: 1, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0 },
      { type: 'eval', step: 2, epoch: 0, metrics: { accuracy: 0.6, loss: 0.8 }, best: true },
      { type: 'checkpoint', step: 2, name: 'step-2' },
      { type: 'finished', step: 2, best: { step: 2, metrics: { accuracy: 0.6, loss: 0.8 } }, seconds: 1 }
    ])
    const listed: RunSummary[] = [
      { id: 'r-siva', dir: '/runs/r-siva', created: '2025-03-02T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'siva', status: 'finished', step: 4, totalSteps: 4, trainable: 20, metrics: { accuracy: 0.75 } },
      { id: 'r-lora', dir: '/runs/r-lora', created: '2025-03-01T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'lora', status: 'finished', step: 2, totalSteps: 2, trainable: 146, metrics: { accuracy: 0.6 } },
      ...runs
    ]
    const api = setApi(new FakeApi({ listRuns: () => listed }))
    // Record which streams the view closes itself.
    const closedBy: string[] = []
    const open = api.stream.bind(api)
    api.stream = ((method, params, onEvent, onEnd) => {
      const close = open(method, params, onEvent, onEnd)
      return () => {
        closedBy.push((params as { runId: string }).runId)
        close()
      }
    }) as FakeApi['stream']
    const w = mount(RunsView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })], stubs: { BaseChart: true } } })
    await flushPromises()

    const compare = (): ReturnType<typeof w.get> => w.get('[data-testid="runs-compare"]')
    expect(compare().attributes('disabled')).toBeDefined()
    expect(w.find('[aria-label="compare r-siva"]').exists()).toBe(true)
    await w.get('[data-run="r-siva"] [data-testid="run-compare"]').setValue(true)
    expect(compare().attributes('disabled')).toBeDefined()
    await w.get('[data-run="r-lora"] [data-testid="run-compare"]').setValue(true)
    expect(compare().attributes('disabled')).toBeUndefined()
    await compare().trigger('click')

    const streams = api.streams.filter((s) => s.method === 'runEvents')
    expect(streams.map((s) => s.params)).toEqual([
      { runId: 'r-siva', after: -1 },
      { runId: 'r-lora', after: -1 }
    ])
    const [siva, loraStream] = streams
    expect(w.get('[data-testid="runs-comparison"]').text()).toContain('Loading the events of r-siva, r-lora')

    // The SiVA run replays, then its status: the view closes the stream itself.
    for (const event of shortRun()) siva!.emit({ type: 'event', event })
    siva!.emit({ type: 'status', run: listed[0]! })
    expect(closedBy).toEqual(['r-siva'])
    expect(siva!.closed).toBe(true)
    // The LoRA run replays, its status, and the stream ends.
    for (const event of loraEvents) loraStream!.emit({ type: 'event', event })
    loraStream!.emit({ type: 'status', run: listed[1]! })
    loraStream!.end()
    await flushPromises()
    expect(closedBy).toEqual(['r-siva', 'r-lora'])
    expect(loraStream!.closed).toBe(true)

    const comparison = w.get('[data-testid="runs-comparison"]')
    expect(comparison.text()).not.toContain('Loading')

    // Charts: one series per run, named by run id.
    const charts = w.findAllComponents({ name: 'BaseChart' })
    const seriesOf = (option: ChartOption): unknown[] => (option.series as { name: string; data: unknown }[]).map((s) => [s.name, s.data])
    const lossChart = w.get('[data-testid="compare-loss-chart"]').findComponent({ name: 'BaseChart' })
    const metricChart = w.get('[data-testid="compare-metric-chart"]').findComponent({ name: 'BaseChart' })
    expect(charts).toHaveLength(2)
    const loss = seriesOf(lossChart.props('option') as ChartOption) as [string, [number, number][]][]
    expect(loss.map(([name]) => name)).toEqual(['r-siva', 'r-lora'])
    expect(loss[1]![1][0]).toEqual([1, 1])
    expect(loss[1]![1][1]![1]).toBeCloseTo(0.14 / 0.19, 12)
    expect(seriesOf(metricChart.props('option') as ChartOption)).toEqual([
      ['r-siva', [[2, 0.5], [4, 0.75]]],
      ['r-lora', [[2, 0.6]]]
    ])

    // The config table: only what differs, until asked for all.
    const configTable = (): ReturnType<typeof w.get> => w.get('[data-testid="compare-config"]')
    const cells = (): string[][] => configTable().findAll('tbody tr').map((tr) => tr.findAll('th, td').map((c) => c.text()))
    expect(configTable().findAll('thead th').map((th) => th.text())).toEqual(['Field', 'r-siva', 'r-lora'])
    expect(cells()).toEqual([
      ['method', 'siva', 'lora'],
      ['perc', '0.25', '–'],
      ['rank', '–', '8'],
      ['alpha', '–', '16'],
      ['lr', '0.01', '0.001']
    ])
    await w.get('[data-testid="compare-all-fields"]').setValue(true)
    const all = cells()
    expect(all.length).toBeGreaterThan(5)
    expect(all).toContainEqual(['epochs', '1', '1'])
    expect(all).toContainEqual(['batchSize', '4', '4'])

    // The summary: final key metric, trainable parameters, mean erank gain (– for LoRA: no spectra).
    const summary = w.get('[data-testid="compare-summary"]')
    const row = (id: string): string[] => summary.get(`tbody [data-run="${id}"]`).findAll('th, td').map((c) => c.text())
    expect(row('r-siva')).toEqual(['r-siva', 'siva', 'finished', 'accuracy 0.75', '20', '+0.25'])
    expect(row('r-lora')).toEqual(['r-lora', 'lora', 'finished', 'accuracy 0.6', '146', '–'])

    await w.get('[data-testid="compare-close"]').trigger('click')
    expect(w.find('[data-testid="runs-comparison"]').exists()).toBe(false)
  })
})
