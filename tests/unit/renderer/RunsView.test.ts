// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { nextTick } from 'vue'
import { describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import type { TrainConfig } from '@shared/training'
import type { ChartOption } from '@renderer/charts/echarts'
import { useAppStore } from '@renderer/stores/app'
import { useRunStore } from '@renderer/stores/run'
import { useRunsStore } from '@renderer/stores/runs'
import RunsView from '@renderer/views/RunsView.vue'
import { FakeApi, setApi, type OpenStream } from './fakeApi'
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
    const w = mount(RunsView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })], stubs: { BaseChart: true, Echarts: true } } })
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
    expect(row('r-siva')).toEqual(['r-siva', 'siva', 'finished', '4 / 4', 'accuracy 0.75', '20', '+0.25', 'Remove'])
    expect(row('r-lora')).toEqual(['r-lora', 'lora', 'finished', '2 / 2', 'accuracy 0.6', '146', '–', 'Remove'])
    // Neither is training: nothing is followed live.
    expect(w.find('[data-testid="compare-live"]').exists()).toBe(false)

    await w.get('[data-testid="compare-close"]').trigger('click')
    expect(w.find('[data-testid="runs-comparison"]').exists()).toBe(false)
  })
})

describe('comparing a run that is still training', () => {
  const listed: RunSummary[] = [
    { id: 'r-live', dir: '/runs/r-live', created: '2025-03-03T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'siva', status: 'running', step: 2, totalSteps: 4 },
    { id: 'r-other', dir: '/runs/r-other', created: '2025-03-02T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'siva', status: 'running', step: 1, totalSteps: 4 },
    { id: 'r-done', dir: '/runs/r-done', created: '2025-03-01T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'siva', status: 'finished', step: 4, totalSteps: 4 }
  ]
  const events = shortRun()
  // started, stage, prepared, step 1, step 2: what a run two steps in has written.
  const firstPart = events.slice(0, 5)
  const lossSeries = (w: VueWrapper): [string, [number, number][]][] =>
    ((w.get('[data-testid="compare-loss-chart"]').findComponent({ name: 'BaseChart' }).props('option') as ChartOption).series as { name: string; data: [number, number][] }[]).map((s) => [s.name, s.data])

  async function compareTicked(ids: string[]): Promise<{ w: VueWrapper; api: FakeApi; stream: (id: string) => OpenStream<'runEvents'> }> {
    const api = setApi(new FakeApi({ listRuns: () => listed }))
    const w = mount(RunsView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })], stubs: { BaseChart: true, Echarts: true } } })
    await flushPromises()
    for (const id of ids) await w.get(`[data-run="${id}"] [data-testid="run-compare"]`).setValue(true)
    await w.get('[data-testid="runs-compare"]').trigger('click')
    const stream = (id: string): OpenStream<'runEvents'> => api.streams.filter((s) => s.method === 'runEvents' && (s.params as { runId: string }).runId === id).at(-1) as OpenStream<'runEvents'>
    return { w, api, stream }
  }

  it('keeps the stream open past the replay, marks the run live, and redraws its curves as events arrive, once per frame', async () => {
    const { w, stream } = await compareTicked(['r-live', 'r-done'])
    for (const event of events) stream('r-done').emit({ type: 'event', event })
    stream('r-done').emit({ type: 'status', run: listed[2]! })
    for (const event of firstPart) stream('r-live').emit({ type: 'event', event })
    stream('r-live').emit({ type: 'status', run: listed[0]! })
    await flushPromises()
    // The finished run's stream is closed; the running one stays open and is marked live.
    expect(stream('r-done').closed).toBe(true)
    expect(stream('r-live').closed).toBe(false)
    expect(w.get('[data-testid="compare-following"]').text()).toContain('following 1 live')
    const summary = w.get('[data-testid="compare-summary"]')
    expect(summary.find('[data-run="r-live"] [data-testid="compare-live"]').exists()).toBe(true)
    expect(summary.find('[data-run="r-done"] [data-testid="compare-live"]').exists()).toBe(false)
    expect(lossSeries(w).find(([name]) => name === 'r-live')![1].map(([step]) => step)).toEqual([1, 2])
    expect(summary.get('[data-run="r-live"]').text()).toContain('2 / 4')

    // Two more steps arrive after mount: folded at once, drawn at the next frame.
    const runs = useRunsStore()
    const before = runs.compareLoss
    for (const event of events.slice(5, 12)) stream('r-live').emit({ type: 'event', event })
    expect(runs.compareLoss).toBe(before)
    runs.flush()
    await nextTick()
    expect(lossSeries(w).find(([name]) => name === 'r-live')![1].map(([step]) => step)).toEqual([1, 2, 3, 4])
    expect(w.get('[data-testid="compare-summary"] [data-run="r-live"]').text()).toContain('4 / 4')
    // The series handed to the chart are new arrays each time, not the store's folded ones.
    expect(runs.compareLoss['r-live']).not.toBe(before['r-live'])

    // It finishes: the stream closes itself and the mark goes.
    for (const event of events.slice(12)) stream('r-live').emit({ type: 'event', event })
    stream('r-live').emit({ type: 'status', run: { ...listed[0]!, status: 'finished', step: 4 } })
    await nextTick()
    expect(stream('r-live').closed).toBe(true)
    expect(w.find('[data-testid="compare-live"]').exists()).toBe(false)
    expect(w.get('[data-testid="compare-summary"] [data-run="r-live"]').text()).toContain('finished')
  })

  it('closes the stream of a run taken out of the comparison, and every stream when the view unmounts', async () => {
    const { w, stream } = await compareTicked(['r-live', 'r-other', 'r-done'])
    for (const id of ['r-live', 'r-other']) {
      for (const event of firstPart) stream(id).emit({ type: 'event', event })
      stream(id).emit({ type: 'status', run: listed.find((r) => r.id === id)! })
    }
    stream('r-done').emit({ type: 'status', run: listed[2]! })
    await flushPromises()
    expect(w.get('[data-testid="compare-following"]').text()).toContain('following 2 live')

    await w.get('[aria-label="Remove r-other from the comparison"]').trigger('click')
    expect(stream('r-other').closed).toBe(true)
    expect(stream('r-live').closed).toBe(false)
    expect(w.find('[data-testid="compare-summary"] [data-run="r-other"]').exists()).toBe(false)
    expect(lossSeries(w).map(([name]) => name)).toEqual(['r-live', 'r-done'])
    // Taken out means unticked too.
    expect((w.get('[data-run="r-other"] [data-testid="run-compare"]').element as HTMLInputElement).checked).toBe(false)
    // A late event on the closed stream changes nothing.
    stream('r-other').emit({ type: 'event', event: events[5]! })
    expect(useRunsStore().comparison.map((r) => r.id)).toEqual(['r-live', 'r-done'])

    w.unmount()
    expect(stream('r-live').closed).toBe(true)
  })

  it('off screen the streams close; back on screen a live run is followed again from the last event it saw', async () => {
    const { w, api, stream } = await compareTicked(['r-live', 'r-done'])
    stream('r-done').emit({ type: 'status', run: listed[2]! })
    for (const event of firstPart) stream('r-live').emit({ type: 'event', event })
    stream('r-live').emit({ type: 'status', run: listed[0]! })
    const runs = useRunsStore()
    const first = stream('r-live')

    runs.unfollow()
    expect(first.closed).toBe(true)
    expect(runs.comparison.find((r) => r.id === 'r-live')!.live).toBe(false)
    runs.follow()
    const again = stream('r-live')
    expect(again).not.toBe(first)
    expect(again.params).toEqual({ runId: 'r-live', after: firstPart.at(-1)!.index })
    // The finished run is not asked again.
    expect(api.streams.filter((s) => (s.params as { runId: string }).runId === 'r-done')).toHaveLength(1)
    for (const event of events.slice(5, 12)) again.emit({ type: 'event', event })
    again.emit({ type: 'status', run: listed[0]! })
    await nextTick()
    expect(runs.comparison.find((r) => r.id === 'r-live')!.live).toBe(true)
    expect(lossSeries(w).find(([name]) => name === 'r-live')![1].map(([step]) => step)).toEqual([1, 2, 3, 4])

    // A connection lost while following: the curves stay, the view says so, and Refresh follows it again.
    again.end('the connection to the SiVA Studio server was lost; try again')
    await nextTick()
    expect(w.get('[data-testid="runs-comparison"]').text()).toContain('r-live is no longer followed live')
    expect(lossSeries(w).find(([name]) => name === 'r-live')![1]).toHaveLength(4)
    await w.get('[data-testid="runs-refresh"]').trigger('click')
    await flushPromises()
    expect(stream('r-live').params).toEqual({ runId: 'r-live', after: events[11]!.index })
    w.unmount()
  })
})

describe('naming and annotating runs', () => {
  const listed = (): RunSummary[] => [
    { id: '20261202-153000-bert-cls-siva', dir: '/runs/a', created: '2026-12-02T15:30:00Z', model: '/m', data: '/d', task: 'classify', method: 'siva', status: 'finished', step: 4, totalSteps: 4 },
    { id: '20261202-143000-bert-cls-lora', dir: '/runs/b', created: '2026-12-02T14:30:00Z', model: '/m', data: '/d', task: 'classify', method: 'lora', status: 'finished', step: 2, totalSteps: 2, name: 'LoRA baseline', notes: 'rank 8\nsecond line' }
  ]

  async function view(): Promise<{ w: VueWrapper; api: FakeApi }> {
    const stored = listed()
    const api = setApi(
      new FakeApi({
        listRuns: () => stored,
        updateRun: ({ runId, name, notes }) => {
          const run = stored.find((r) => r.id === runId)!
          if (name !== undefined) {
            if (name.trim() === '') delete run.name
            else run.name = name.trim()
          }
          if (notes !== undefined) {
            if (notes.trim() === '') delete run.notes
            else run.notes = notes
          }
          return { ...run }
        }
      })
    )
    const w = mount(RunsView, { attachTo: document.body, global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })], stubs: { BaseChart: true, Echarts: true } } })
    await flushPromises()
    return { w, api }
  }

  const labelOf = (w: VueWrapper, id: string): string => w.get(`[data-run="${id}"] [data-testid="run-label"]`).text()

  it('shows the given name, or the id when there is none, with the first line of the notes', async () => {
    const { w } = await view()
    expect(labelOf(w, '20261202-153000-bert-cls-siva')).toBe('20261202-153000-bert-cls-siva')
    const named = w.get('[data-run="20261202-143000-bert-cls-lora"]')
    expect(labelOf(w, '20261202-143000-bert-cls-lora')).toBe('LoRA baseline')
    // The id stays visible under a name, and the notes' first line under that.
    expect(named.get('[data-testid="run-name"]').text()).toContain('20261202-143000-bert-cls-lora')
    expect(named.get('[data-testid="run-notes-line"]').text()).toBe('rank 8')
    w.unmount()
  })

  it('renames a run in place: submitting saves through updateRun, Escape leaves it as it was, an empty name goes back to the id', async () => {
    const { w, api } = await view()
    const id = '20261202-153000-bert-cls-siva'
    await w.get(`[aria-label="Rename run ${id}"]`).trigger('click')
    const input = w.get<HTMLInputElement>(`[data-run="${id}"] [data-testid="run-rename-input"]`)
    expect(document.activeElement).toBe(input.element)
    expect(input.attributes('maxlength')).toBe('100')
    await input.setValue('  SiVA, layer 1 only ')
    await input.trigger('keydown', { key: 'Escape' })
    expect(w.find('[data-testid="run-rename-input"]').exists()).toBe(false)
    expect(api.callsOf('updateRun')).toEqual([])
    expect(labelOf(w, id)).toBe(id)

    await w.get(`[aria-label="Rename run ${id}"]`).trigger('click')
    await w.get(`[data-run="${id}"] [data-testid="run-rename-input"]`).setValue('  SiVA, layer 1 only ')
    await w.get(`[data-run="${id}"] form`).trigger('submit')
    await flushPromises()
    expect(api.callsOf('updateRun')).toEqual([{ runId: id, name: 'SiVA, layer 1 only' }])
    expect(w.find('[data-testid="run-rename-input"]').exists()).toBe(false)
    expect(labelOf(w, id)).toBe('SiVA, layer 1 only')

    // Emptied: the name is removed, and the id shows again.
    await w.get(`[aria-label="Rename run ${id}"]`).trigger('click')
    expect(w.get<HTMLInputElement>(`[data-run="${id}"] [data-testid="run-rename-input"]`).element.value).toBe('SiVA, layer 1 only')
    await w.get(`[data-run="${id}"] [data-testid="run-rename-input"]`).setValue('')
    await w.get(`[data-run="${id}"] form`).trigger('submit')
    await flushPromises()
    expect(api.callsOf('updateRun').at(-1)).toEqual({ runId: id, name: '' })
    expect(labelOf(w, id)).toBe(id)
    w.unmount()
  })

  it('says why a name cannot be saved, and what the back end refused', async () => {
    const { w, api } = await view()
    const id = '20261202-153000-bert-cls-siva'
    await w.get(`[aria-label="Rename run ${id}"]`).trigger('click')
    // A pasted tab is a control character (an input drops line breaks by itself).
    await w.get(`[data-run="${id}"] [data-testid="run-rename-input"]`).setValue('a\tb')
    expect(w.get(`[data-run="${id}"] [data-testid="run-rename-save"]`).attributes('disabled')).toBeDefined()
    expect(w.get(`[data-run="${id}"] [data-testid="run-name"]`).text()).toContain('one line of text')
    await w.get(`[data-run="${id}"] form`).trigger('submit')
    expect(api.callsOf('updateRun')).toEqual([])
    w.unmount()

    const failing = setApi(new FakeApi({ listRuns: () => listed(), updateRun: () => Promise.reject(new Error('updateRun: /runs/a/studio.json: cannot write: disk full')) }))
    const v = mount(RunsView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })], stubs: { BaseChart: true, Echarts: true } } })
    await flushPromises()
    await v.get(`[aria-label="Rename run ${id}"]`).trigger('click')
    await v.get(`[data-run="${id}"] [data-testid="run-rename-input"]`).setValue('new')
    await v.get(`[data-run="${id}"] form`).trigger('submit')
    await flushPromises()
    expect(failing.callsOf('updateRun')).toHaveLength(1)
    expect(v.get('[role="alert"]').text()).toContain('disk full')
    // The edit stays open with what was typed, to try again.
    expect(v.get<HTMLInputElement>(`[data-run="${id}"] [data-testid="run-rename-input"]`).element.value).toBe('new')
  })

  it('annotates a run: the notes open under it, save through updateRun, and show', async () => {
    const { w, api } = await view()
    const id = '20261202-143000-bert-cls-lora'
    const button = w.get(`[aria-label="Notes on run ${id}"]`)
    expect(button.attributes('aria-expanded')).toBe('false')
    await button.trigger('click')
    expect(button.attributes('aria-expanded')).toBe('true')
    const area = w.get<HTMLTextAreaElement>(`[data-notes-for="${id}"] [data-testid="run-notes-input"]`)
    expect(area.element.value).toBe('rank 8\nsecond line')
    expect(area.attributes('maxlength')).toBe('4000')
    // Labelled for assistive technology by the run's name.
    expect(w.get(`label[for="${area.attributes('id')}"]`).text()).toBe('Notes on LoRA baseline')
    await area.setValue('alpha 16, lr 5e-4\nworse than SiVA on the demo')
    await w.get(`[data-notes-for="${id}"] form`).trigger('submit')
    await flushPromises()
    expect(api.callsOf('updateRun')).toEqual([{ runId: id, notes: 'alpha 16, lr 5e-4\nworse than SiVA on the demo' }])
    expect(w.find(`[data-notes-for="${id}"]`).exists()).toBe(false)
    expect(w.get(`[data-run="${id}"] [data-testid="run-notes-line"]`).text()).toBe('alpha 16, lr 5e-4')
    w.unmount()
  })

  it('shows the names in the comparison: its tables and its curves, and a rename there at once', async () => {
    const { w, api } = await view()
    const [siva, lora] = ['20261202-153000-bert-cls-siva', '20261202-143000-bert-cls-lora']
    for (const id of [siva, lora]) await w.get(`[data-run="${id}"] [data-testid="run-compare"]`).setValue(true)
    await w.get('[data-testid="runs-compare"]').trigger('click')
    for (const stream of api.streams.filter((s) => s.method === 'runEvents') as OpenStream<'runEvents'>[]) {
      for (const event of shortRun()) stream.emit({ type: 'event', event })
      // The closing status of a replay from disk carries no name: the list's stays.
      const id = (stream.params as { runId: string }).runId
      const { name: _n, notes: _m, ...bare } = listed().find((r) => r.id === id)!
      stream.emit({ type: 'status', run: bare })
      stream.end()
    }
    await flushPromises()
    const heads = (): string[] => w.get('[data-testid="compare-summary"]').findAll('tbody th').map((th) => th.text())
    expect(heads()).toEqual([siva, 'LoRA baseline'])
    expect(w.get('[data-testid="compare-config"]').findAll('thead th').map((th) => th.text())).toEqual(['Field', siva, 'LoRA baseline'])
    const lossNames = (): string[] => ((w.get('[data-testid="compare-loss-chart"]').findComponent({ name: 'BaseChart' }).props('option') as ChartOption).series as { name: string }[]).map((s) => s.name)
    expect(lossNames()).toEqual([siva, 'LoRA baseline'])

    await w.get(`[aria-label="Rename run ${siva}"]`).trigger('click')
    await w.get(`[data-run="${siva}"] [data-testid="run-rename-input"]`).setValue('SiVA perc 0.25')
    await w.get(`[data-run="${siva}"] form`).trigger('submit')
    await flushPromises()
    expect(heads()).toEqual(['SiVA perc 0.25', 'LoRA baseline'])
    expect(lossNames()).toEqual(['SiVA perc 0.25', 'LoRA baseline'])
    w.unmount()
  })
})

describe('the comparison’s key metric against cost', () => {
  /** A LoRA run whose best evaluation (step 1) is better than its last (step 2). */
  const loraConfig: TrainConfig = { ...config, method: 'lora', rank: 8, alpha: 16, lr: 0.001 }
  const loraEvents = numbered([
    { type: 'started', config: loraConfig, backend: { name: 'cpu', skipped: [] } },
    { type: 'prepared', parameters: { adapter: 128, head: 18, total: 146, lora8: 128, full: 5000 }, targets: [], data: { train: 16, validation: 4 }, totalSteps: 2, spectraBefore: [] },
    { type: 'step', step: 1, epoch: 0, loss: 1, lr: 0.001, gradNorm: 1, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0.1 },
    { type: 'eval', step: 1, epoch: 0, metrics: { accuracy: 0.7, loss: 0.8 }, best: true },
    { type: 'step', step: 2, epoch: 0, loss: 0.5, lr: 0.0005, gradNorm: 1, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0 },
    { type: 'eval', step: 2, epoch: 0, metrics: { accuracy: 0.6, loss: 0.9 }, best: false },
    { type: 'finished', step: 2, best: { step: 1, metrics: { accuracy: 0.7, loss: 0.8 } }, seconds: 1 }
  ])
  const listed: RunSummary[] = [
    { id: 'r-siva', dir: '/runs/r-siva', created: '2025-03-02T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'siva', status: 'finished', step: 4, totalSteps: 4, name: 'SiVA <b>bold</b>' },
    { id: 'r-lora', dir: '/runs/r-lora', created: '2025-03-01T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'lora', status: 'finished', step: 2, totalSteps: 2 }
  ]
  interface Item {
    name: string
    value: [number, number]
  }
  interface Series {
    type: string
    name: string
    data: Item[]
    label: { show: boolean; formatter: (p: { data: Item }) => string }
  }
  interface Option {
    xAxis: { type: string; name: string }
    yAxis: { name: string }
    series: Series[]
    tooltip: { formatter: (p: { data: Item }) => string }
  }

  it('plots one point per run at (trainable parameters, final metric) on a log axis, then against the erank gain', async () => {
    const api = setApi(new FakeApi({ listRuns: () => listed }))
    const w = mount(RunsView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })], stubs: { BaseChart: true, Echarts: true } } })
    await flushPromises()
    for (const id of ['r-siva', 'r-lora']) await w.get(`[data-run="${id}"] [data-testid="run-compare"]`).setValue(true)
    await w.get('[data-testid="runs-compare"]').trigger('click')
    const streams = api.streams.filter((s) => s.method === 'runEvents') as OpenStream<'runEvents'>[]
    for (const event of shortRun()) streams[0]!.emit({ type: 'event', event })
    for (const event of loraEvents) streams[1]!.emit({ type: 'event', event })
    streams.forEach((stream, i) => {
      stream.emit({ type: 'status', run: listed[i]! })
      stream.end()
    })
    await flushPromises()

    const scatter = w.get('[data-testid="compare-scatter"]')
    const option = (): Option => scatter.findComponent({ name: 'Echarts' }).props('option') as Option
    const points = (): [string, string, [number, number]][] => option().series.flatMap((s) => s.data.map((d) => [s.name, d.name, d.value] as [string, string, [number, number]]))
    // shortRun: 20 trainable, accuracy 0.75 at its last evaluation; the LoRA run 146 and 0.6.
    expect(option().xAxis).toMatchObject({ type: 'log', name: 'trainable parameters' })
    expect(option().yAxis.name).toBe('final accuracy')
    expect(points()).toEqual([
      ['SiVA', 'SiVA <b>bold</b>', [20, 0.75]],
      ['LoRA', 'r-lora', [146, 0.6]]
    ])
    // Each point says whose it is and by which method; the tooltip formats the numbers and escapes the name.
    const [sivaSeries, loraSeries] = option().series
    expect(sivaSeries!.label.show).toBe(true)
    expect(sivaSeries!.label.formatter({ data: sivaSeries!.data[0]! })).toBe('SiVA <b>bold</b> · SiVA')
    expect(loraSeries!.label.formatter({ data: loraSeries!.data[0]! })).toBe('r-lora · LoRA')
    const tip = option().tooltip.formatter({ data: sivaSeries!.data[0]! })
    expect(tip).toContain('SiVA &#60;b&#62;bold&#60;/b&#62;')
    expect(tip).not.toContain('<b>bold')
    expect(tip).toContain('final accuracy: 0.75')
    expect(tip).toContain('trainable: 20 (20)')
    expect(tip).toContain('mean erank gain: +0.25')

    // The best evaluation instead of the last: LoRA's was at step 1.
    await scatter.get('[data-testid="compare-scatter-value"]').setValue('best')
    expect(option().yAxis.name).toBe('best accuracy')
    expect(points()).toEqual([
      ['SiVA', 'SiVA <b>bold</b>', [20, 0.75]],
      ['LoRA', 'r-lora', [146, 0.7]]
    ])

    // Against the mean erank gain: LoRA has no spectra, and the view says it is left out.
    await scatter.get('[data-testid="compare-scatter-axis"]').setValue('erankGain')
    expect(option().xAxis).toMatchObject({ type: 'value', name: 'mean erank gain' })
    expect(points().map(([method, name]) => [method, name])).toEqual([['SiVA', 'SiVA <b>bold</b>']])
    expect(points()[0]![2][0]).toBeCloseTo(0.25, 12)
    expect(scatter.get('[data-testid="compare-scatter-left-out"]').text()).toBe('Not drawn: r-lora (LoRA reports no spectra).')
  })
})
