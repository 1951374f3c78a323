// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import type { RunSummary } from '@shared/api'
import type { ChartOption } from '@renderer/charts/echarts'
import { bandColor } from '@renderer/charts/band'
import TrainCharts from '@renderer/components/TrainCharts.vue'
import { downloadText, downloadUrl } from '@renderer/lib/chartDownload'
import { useRunStore } from '@renderer/stores/run'
import { FakeApi, setApi } from './fakeApi'
import { config, numbered } from './trainEvents'

vi.mock('@renderer/api', () => import('./fakeApi'))
vi.mock('@renderer/lib/chartDownload', async (original) => ({ ...(await original<typeof import('@renderer/lib/chartDownload')>()), downloadText: vi.fn(), downloadUrl: vi.fn() }))

const names = ['query', 'key', 'value', 'attention.output.dense', 'intermediate.dense', 'output.dense'].map((role) => `bert.encoder.layer.0.${role}`)
/** Each layer's erank before training and after step 4: some grow, one shrinks. */
const erankBefore = [3.2, 3.0, 3.6, 2.5, 2.8, 3.9]
const erankAfter = [3.5, 3.1, 3.4, 2.9, 2.8, 3.95]
const before = (i: number): number[] => [8, 4, 2, 1].map((v) => v * (i + 1))

const summary: RunSummary = { id: 'run-7', dir: '/runs/run-7', created: '', model: '/m', data: '/d.csv', task: 'classify', method: 'siva', status: 'running', step: 0 }

/** A SiVA run on six 4×4 matrices: prepared, four steps, evaluations at 2 and 4, spectra at 4. */
function sixLayerRun(): ReturnType<typeof numbered> {
  return numbered([
    { type: 'started', config, backend: { name: 'cpu', skipped: [] } },
    {
      type: 'prepared',
      parameters: { adapter: 6, head: 18, total: 24, lora8: 384, full: 5000 },
      targets: names.map((name) => ({ name, shape: [4, 4] as [number, number], trainable: 1, band: [3, 4] as [number, number] })),
      data: { train: 16, validation: 4, labels: ['neg', 'pos'] },
      totalSteps: 4,
      spectraBefore: names.map((name, i) => ({ name, before: before(i), band: [3, 4] as [number, number] }))
    },
    { type: 'step', step: 1, epoch: 0, loss: 1, lr: 0.01, gradNorm: 1, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0.3 },
    { type: 'step', step: 2, epoch: 0, loss: 3, lr: 0.0075, gradNorm: 0.9, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0.2 },
    { type: 'eval', step: 2, epoch: 0, metrics: { accuracy: 0.5, f1: 0.5, loss: 0.7 }, best: true },
    { type: 'step', step: 3, epoch: 0, loss: 2, lr: 0.005, gradNorm: 0.8, samplesPerSecond: 40, stepsPerSecond: 8, etaSeconds: 0.125 },
    { type: 'step', step: 4, epoch: 0, loss: 0.5, lr: 0.0025, gradNorm: 0.7, samplesPerSecond: 40, stepsPerSecond: 8, etaSeconds: 0 },
    { type: 'eval', step: 4, epoch: 0, metrics: { accuracy: 0.75, f1: 0.75, loss: 0.55 }, best: true },
    {
      type: 'spectra',
      step: 4,
      layers: names.map((name, i) => ({ name, now: before(i).map((v, k) => (k === 3 ? v * 1.5 : v)), band: [3, 4] as [number, number], erankBefore: erankBefore[i]!, erank: erankAfter[i]! }))
    }
  ])
}

const zoomX = vi.fn()
/** BaseChart without ECharts (happy-dom has no canvas): it keeps the option it is given and answers the card's actions. */
const BaseChartStub = defineComponent({
  name: 'BaseChart',
  props: { option: { type: Object, required: true }, label: { type: String, required: true }, height: { type: String, default: '' } },
  emits: ['itemClick'],
  setup(_, { expose }) {
    expose({ pictureUrl: () => 'data:image/png;base64,iVBORw0KGgo=', zoomX })
    return () => h('div', { class: 'chart-stub' })
  }
})

let api: FakeApi
let wrapper: VueWrapper | undefined

beforeEach(() => {
  api = setApi(new FakeApi())
  vi.mocked(downloadText).mockClear()
  vi.mocked(downloadUrl).mockClear()
  zoomX.mockClear()
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

async function chartsOfRun(events = sixLayerRun()): Promise<VueWrapper> {
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(pinia)
  useRunStore().attach('run-7', summary)
  wrapper = mount(TrainCharts, { attachTo: document.body, global: { plugins: [pinia], stubs: { BaseChart: BaseChartStub } } })
  const stream = api.last('runEvents')
  for (const event of events) stream.emit({ type: 'event', event })
  useRunStore().flush()
  await flushPromises()
  return wrapper!
}

/** The option the chart inside the element with `testid` was given. */
function optionIn(w: VueWrapper, testid: string): ChartOption {
  return w.get(`[data-testid="${testid}"]`).findComponent({ name: 'BaseChart' }).props('option') as ChartOption
}
type Line = { name: string; data: number[][]; yAxisIndex?: number }
const linesIn = (w: VueWrapper, testid: string): Line[] => optionIn(w, testid).series as Line[]

describe('the Train step’s charts', () => {
  it('shows every adapted layer as a small multiple, before and now with the band in the one band colour', async () => {
    const w = await chartsOfRun()
    const cells = w.findAll('[data-testid="spectrum-multiple"]')
    expect(cells).toHaveLength(6)
    expect(cells.map((c) => c.attributes('data-layer'))).toEqual(names)
    // Short labels: the shared "bert.encoder.layer.0." is dropped.
    expect(cells[0]!.text()).toContain('query')
    expect(cells[0]!.text()).not.toContain('bert.encoder')
    expect(cells[0]!.findAll('polyline')).toHaveLength(2)
    expect(cells[0]!.get('[data-testid="sparkline-band"]').attributes('fill')).toBe(bandColor())
    // The first layer is focused until another is chosen.
    expect(cells[0]!.attributes('aria-pressed')).toBe('true')
    expect(cells[1]!.attributes('aria-pressed')).toBe('false')
  })

  it('focuses a layer when its small multiple is clicked', async () => {
    const w = await chartsOfRun()
    const third = w.findAll('[data-testid="spectrum-multiple"]')[2]!
    await third.trigger('click')
    expect(third.attributes('aria-pressed')).toBe('true')
    expect((w.get('[data-testid="train-layer"]').element as HTMLSelectElement).value).toBe(names[2])
    const spectrum = linesIn(w, 'spectrum-chart')
    // value layer (index 2): before = [24, 12, 6, 3], now has the band's value ×1.5.
    expect(spectrum.map((s) => s.name)).toEqual(['now', 'before'])
    expect(spectrum[0]!.data).toEqual([
      [1, 24],
      [2, 12],
      [3, 6],
      [4, 4.5]
    ])
    expect(spectrum[1]!.data.map((p) => p[1])).toEqual([24, 12, 6, 3])
    // The erank chart names the module, not "this layer".
    expect(linesIn(w, 'erank-chart').map((s) => s.name)).toEqual([names[2], 'mean of 6 layers'])
    expect(w.get('[data-testid="erank-gain"]').text()).toBe('(−0.2 on this layer)')
  })

  it('draws each layer’s erank change as a bar, and a bar click focuses its layer', async () => {
    const w = await chartsOfRun()
    const bars = (optionIn(w, 'erank-gain-chart').series as { data: { name: string; value: number }[] }[])[0]!.data
    expect(bars.map((b) => b.name)).toEqual(names)
    bars.forEach((b, i) => expect(b.value).toBeCloseTo(erankAfter[i]! - erankBefore[i]!, 12))
    await w.get('[data-testid="erank-gain-chart"]').findComponent({ name: 'BaseChart' }).vm.$emit('itemClick', { name: names[4], dataIndex: 4 })
    await flushPromises()
    expect(w.findAll('[data-testid="spectrum-multiple"]')[4]!.attributes('aria-pressed')).toBe('true')
    // The small multiples say the same change as the bars.
    expect(w.findAll('[data-testid="spectrum-multiple-change"]').map((c) => c.text())).toEqual(['+0.3', '+0.1', '−0.2', '+0.4', '0', '+0.05'])
  })

  it('smooths the loss with the chosen weight, the raw loss behind it', async () => {
    const w = await chartsOfRun()
    const loss = [1, 3, 2, 0.5]
    const at = (weight: number): number[] => {
      // The debiased moving average, by hand.
      let biased = 0
      return loss.map((v, i) => {
        biased = weight * biased + (1 - weight) * v
        return biased / (1 - weight ** (i + 1))
      })
    }
    let series = linesIn(w, 'loss-chart')
    expect(series.map((s) => s.name)).toEqual(['loss', 'smoothed (0.9)'])
    expect(series[0]!.data.map((p) => p[1])).toEqual(loss)
    series[1]!.data.forEach((p, i) => expect(p[1]).toBeCloseTo(at(0.9)[i]!, 12))
    await w.get('[data-testid="loss-smoothing"]').setValue('0.5')
    series = linesIn(w, 'loss-chart')
    expect(series[1]!.name).toBe('smoothed (0.5)')
    series[1]!.data.forEach((p, i) => expect(p[1]).toBeCloseTo(at(0.5)[i]!, 12))
    expect(w.get('output').text()).toBe('0.50')
    await w.get('[data-testid="loss-smoothing"]').setValue('0')
    expect(linesIn(w, 'loss-chart').map((s) => s.name)).toEqual(['loss'])
  })

  it('puts the evaluation loss on its own axis', async () => {
    const w = await chartsOfRun()
    const series = linesIn(w, 'metric-chart')
    expect(series.map((s) => [s.name, s.yAxisIndex])).toEqual([
      ['accuracy', 0],
      ['f1', 0],
      ['loss', 1]
    ])
  })

  it('downloads a chart’s data as CSV and its picture as PNG', async () => {
    const w = await chartsOfRun()
    const card = w.get('[data-testid="metric-chart"]').element.closest('.chart-card')!
    ;(card.querySelector('[data-testid="chart-csv"]') as HTMLButtonElement).click()
    expect(downloadText).toHaveBeenCalledTimes(1)
    const [file, text] = vi.mocked(downloadText).mock.calls[0]!
    expect(file).toBe('run-7-evaluation.csv')
    // Steps with the time of each (the events are a second apart from 2025-01-01T00:00:00Z, the evaluations at the steps they follow).
    expect(text).toBe('step,time,accuracy,f1,loss\r\n2,2025-01-01T00:00:03.000Z,0.5,0.5,0.7\r\n4,2025-01-01T00:00:06.000Z,0.75,0.75,0.55\r\n')
    ;(card.querySelector('[data-testid="chart-png"]') as HTMLButtonElement).click()
    expect(downloadUrl).toHaveBeenCalledWith('run-7-evaluation.png', 'data:image/png;base64,iVBORw0KGgo=')

    const gainCard = w.get('[data-testid="erank-gain-chart"]').element.closest('.chart-card')!
    ;(gainCard.querySelector('[data-testid="chart-csv"]') as HTMLButtonElement).click()
    const gain = vi.mocked(downloadText).mock.calls[1]![1].split('\r\n')
    expect(gain[0]).toBe('layer,erank before,erank now,change')
    expect(gain[1]).toBe(`${names[0]},3.2,3.5,${3.5 - 3.2}`)
  })

  it('zooms the spectrum onto the trained band', async () => {
    const w = await chartsOfRun()
    await w.get('[data-testid="spectrum-zoom-band"]').trigger('click')
    // Band [3, 4) of four values: index 4, with up to 4 neighbours, within [1, 4].
    expect(zoomX).toHaveBeenCalledWith(1, 4)
  })

  it('draws against wall-clock time when asked', async () => {
    const w = await chartsOfRun()
    await w.get('[data-testid="train-x-time"]').setValue(true)
    const option = optionIn(w, 'loss-chart')
    expect(option.xAxis).toMatchObject({ type: 'time' })
    const raw = (option.series as Line[])[0]!.data
    // Steps 1…4 were events 2, 3, 5 and 6: [time, loss, step].
    expect(raw).toEqual([
      [Date.UTC(2025, 0, 1, 0, 0, 2), 1, 1],
      [Date.UTC(2025, 0, 1, 0, 0, 3), 3, 2],
      [Date.UTC(2025, 0, 1, 0, 0, 5), 2, 3],
      [Date.UTC(2025, 0, 1, 0, 0, 6), 0.5, 4]
    ])
    expect(optionIn(w, 'erank-chart').xAxis).toMatchObject({ type: 'time' })
    await w.get('[data-testid="train-x-step"]').setValue(true)
    expect(optionIn(w, 'loss-chart').xAxis).toMatchObject({ type: 'value', name: 'step' })
  })

  it('keeps many layers cheap: sparklines, not one chart per layer', async () => {
    const many = Array.from({ length: 72 }, (_, i) => `bert.encoder.layer.${Math.floor(i / 6)}.m${i % 6}`)
    const events = numbered([
      { type: 'started', config, backend: { name: 'cpu', skipped: [] } },
      {
        type: 'prepared',
        parameters: { adapter: 72, head: 18, total: 90, lora8: 384, full: 5000 },
        targets: [],
        data: { train: 16, validation: 4 },
        totalSteps: 4,
        spectraBefore: many.map((name) => ({ name, before: Array.from({ length: 768 }, (_, k) => 1 / (k + 1)), band: [500, 600] as [number, number] }))
      }
    ])
    const w = await chartsOfRun(events)
    expect(w.findAll('[data-testid="spectrum-multiple"]')).toHaveLength(72)
    // Loss, learning rate, gradient norm (no evaluation yet), the focused layer's two and the bars: none per layer.
    expect(w.findAllComponents({ name: 'BaseChart' })).toHaveLength(6)
    // At most one point per pixel of a sparkline's 160.
    const points = w.get('[data-testid="spectrum-multiple"] polyline').attributes('points')!.split(' ')
    expect(points.length).toBeLessThanOrEqual(161)
  })
})
