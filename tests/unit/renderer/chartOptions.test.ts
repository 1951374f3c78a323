// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { bandColor } from '@renderer/charts/band'
import {
  bandZoomRange,
  describeX,
  erankGainOption,
  formatChange,
  formatStep,
  heatmapOption,
  isLossLike,
  linesOption,
  lossOption,
  meanSeries,
  metricsOption,
  spectrumOption,
  spectrumPoints,
  trainingXAxis
} from '@renderer/charts/options'
import type { ChartOption } from '@renderer/charts/echarts'
import { heatmapCells } from '@renderer/lib/heatmap'

type Formatter = (params: unknown) => string
type Series = { name: string; type: string; data: unknown[]; yAxisIndex?: number; symbol?: string; symbolSize?: number; lineStyle?: { type?: string }; label?: { show: boolean; formatter: (p: unknown) => string } }

/** The tooltip formatter an option carries. */
function tooltipOf(option: ChartOption): Formatter {
  return (option.tooltip as { formatter: Formatter }).formatter
}
const seriesOf = (option: ChartOption): Series[] => option.series as Series[]
/** What ECharts hands an axis tooltip: one entry per series, its nearest point as `value`. */
const param = (seriesName: string, value: number[]): { seriesName: string; value: number[]; marker: string } => ({ seriesName, value, marker: '' })

describe('chart options', () => {
  it('draws a spectrum on a log axis from index 1, leaving out zeros, with the trained band shaded', () => {
    expect(spectrumPoints([3, 2, 0, 1])).toEqual([
      [1, 3],
      [2, 2],
      [4, 1]
    ])
    const option = spectrumOption({ series: [{ name: 'σ', values: [8, 4, 2, 1, 0.5, 0.25, 0.125, 0.0625] }], band: [6, 8] })
    expect(option.yAxis).toMatchObject({ type: 'log' })
    const series = (option.series as { markArea?: { data: [{ xAxis: number }, { xAxis: number }][] } }[])[0]!
    // The band [6, 8) is the 7th and 8th values: shaded from 6.5 to 8.5 on the 1-based axis.
    expect(series.markArea!.data[0]![0].xAxis).toBe(6.5)
    expect(series.markArea!.data[0]![1].xAxis).toBe(8.5)
  })

  it("a layer not chosen shows the band it would train, fainter and labelled so", () => {
    const input = { series: [{ name: 'σ', values: [4, 2, 1, 0.5] }], band: [3, 4] as const }
    type Area = { markArea: { itemStyle: { color: string }; data: [{ name: string }, unknown][] } }
    const chosen = (spectrumOption(input).series as Area[])[0]!.markArea
    const proposed = (spectrumOption({ ...input, bandLabel: 'if chosen', bandFaint: true }).series as Area[])[0]!.markArea
    expect(chosen.data[0]![0].name).toBe('trained')
    expect(proposed.data[0]![0].name).toBe('if chosen')
    const alpha = (color: string): number => Number(/([\d.]+)\)$/.exec(color)![1])
    expect(alpha(proposed.itemStyle.color)).toBeLessThan(alpha(chosen.itemStyle.color) / 2)
    // One band colour: the charts' shade is the one the sparklines use.
    expect(chosen.itemStyle.color).toBe(bandColor())
    expect(chosen.itemStyle.color).toBe('rgba(245, 158, 11, 0.24)')
  })

  it('a linear spectrum keeps zeros and starts at 0', () => {
    const option = spectrumOption({ series: [{ name: 'now', values: [3, 0, 1] }], logScale: false })
    expect(option.yAxis).toMatchObject({ type: 'value', scale: false })
    expect(seriesOf(option)[0]!.data).toEqual([
      [1, 3],
      [2, 0],
      [3, 1]
    ])
  })

  it('names the module and formats σ in the spectrum tooltip', () => {
    const option = spectrumOption({ series: [{ name: 'now', values: [4, 2, 1, 0.5] }, { name: 'before', values: [4, 2, 1, 0.4], dashed: true }], band: [2, 4], module: 'encoder.layer.0.attention.self.query' })
    const text = tooltipOf(option)([param('now', [3, 1.9112162114173996]), param('before', [3, 1.000004])])
    expect(text).toBe('<b>encoder.layer.0.attention.self.query</b><br/>index 3 · in the trained band<br/>now σ <b>1.911</b><br/>before σ <b>1</b>')
    expect(tooltipOf(option)([param('now', [1, 4])])).toBe('<b>encoder.layer.0.attention.self.query</b><br/>index 1<br/>now σ <b>4</b>')
  })

  it('zooms onto the trained band with its neighbours, inside the axis', () => {
    // Band [100, 120): indices 101…120, 10 more each side.
    expect(bandZoomRange([100, 120], 768)).toEqual([91, 130])
    // At the head: clamped to index 1; a narrow band still gets 4 each side.
    expect(bandZoomRange([0, 2], 768)).toEqual([1, 6])
    expect(bandZoomRange([760, 768], 768)).toEqual([757, 768])
  })

  it('falls back to a linear loss axis when a loss is not positive', () => {
    expect(lossOption({ loss: [[1, 0.5]], smoothed: [[1, 0.5]], logScale: true }).yAxis).toMatchObject({ type: 'log' })
    expect(lossOption({ loss: [[1, -0.5]], smoothed: [[1, -0.5]], logScale: true }).yAxis).toMatchObject({ type: 'value' })
    expect(lossOption({ loss: [[1, 0.5]], smoothed: [[1, 0.5]], logScale: false }).yAxis).toMatchObject({ type: 'value' })
  })

  it('draws the raw loss faint behind the smoothed one, and alone at weight 0', () => {
    const loss: [number, number][] = [
      [1, 1],
      [2, 3]
    ]
    const smoothed = lossOption({ loss, smoothed: [[1, 1], [2, 2]], weight: 0.5, logScale: false })
    expect(seriesOf(smoothed).map((s) => s.name)).toEqual(['loss', 'smoothed (0.5)'])
    expect((seriesOf(smoothed)[0] as unknown as { lineStyle: { opacity: number } }).lineStyle.opacity).toBeLessThan(0.5)
    expect(seriesOf(lossOption({ loss, smoothed: loss, weight: 0, logScale: false })).map((s) => s.name)).toEqual(['loss'])
  })

  it('steps are whole numbers on the axis, and long ones are shortened so ticks never collide', () => {
    const axis = trainingXAxis({ kind: 'step' }) as { minInterval: number; axisLabel: { hideOverlap: boolean; formatter: (v: number) => string } }
    expect(axis.minInterval).toBe(1)
    expect(axis.axisLabel.hideOverlap).toBe(true)
    expect(axis.axisLabel.formatter(3840)).toBe('3840')
    expect(axis.axisLabel.formatter(38400)).toBe('38.4 k')
    expect(formatStep(120000)).toBe('120 k')
    expect(trainingXAxis({ kind: 'time' })).toMatchObject({ type: 'time', axisLabel: { hideOverlap: true } })
  })

  it('the erank axis steps by whole ranks', () => {
    const option = linesOption({ 'encoder.layer.0.query': [[0, 171.57], [10, 172.2]] }, 'effective rank', { minInterval: 1 })
    expect(option.yAxis).toMatchObject({ minInterval: 1, name: 'effective rank' })
  })

  it('tooltips over training name each series and format its value', () => {
    const option = linesOption({ 'encoder.layer.0.query': [[0, 171.5712345]], 'mean of 2 layers': [[0, 170.25]] }, 'effective rank')
    const text = tooltipOf(option)([param('encoder.layer.0.query', [0, 171.5712345]), param('mean of 2 layers', [0, 170.25])])
    expect(text).toBe('step 0<br/>encoder.layer.0.query <b>171.6</b><br/>mean of 2 layers <b>170.3</b>')
    // A series whose nearest point is at another step says where; markup in a name stays text.
    expect(tooltipOf(option)([param('loss', [120, 0.51234]), param('<eval>', [100, 0.6])])).toBe('step 120<br/>loss <b>0.5123</b><br/>&#60;eval&#62; <b>0.6</b> <span style="opacity:.7">(step 100)</span>')
  })

  it('on a time axis, tooltips give the step, the time of day and the time since the start', () => {
    const origin = Date.UTC(2025, 0, 1, 12, 0, 0)
    const at = origin + 75_000
    const clock = new Date(at).toLocaleTimeString('en-GB', { hour12: false })
    expect(describeX([at, 0.5, 120], { kind: 'time', origin })).toBe(`step 120 · ${clock} (+1 min 15 s)`)
    const option = lossOption({ loss: [[at, 0.5, 120]], smoothed: [[at, 0.5, 120]], weight: 0.9, logScale: true, x: { kind: 'time', origin } })
    expect(option.xAxis).toMatchObject({ type: 'time' })
    expect(tooltipOf(option)([param('loss', [at, 0.5, 120])])).toBe(`step 120 · ${clock} (+1 min 15 s)<br/>loss <b>0.5</b>`)
  })

  it('puts losses on their own axis and gives every metric its own marker and dash', () => {
    const option = metricsOption({
      metrics: {
        accuracy: [
          [2, 0.75],
          [4, 0.8]
        ],
        f1: [
          [2, 0.75],
          [4, 0.8]
        ],
        mcc: [
          [2, 0.5],
          [4, 0.6]
        ],
        loss: [
          [2, 0.7],
          [4, 0.55]
        ]
      },
      trainedSteps: 4
    })
    const axes = option.yAxis as { name: string; position: string }[]
    expect(axes.map((a) => [a.name, a.position])).toEqual([
      ['score', 'left'],
      ['loss', 'right']
    ])
    const series = seriesOf(option)
    expect(series.map((s) => [s.name, s.yAxisIndex])).toEqual([
      ['accuracy', 0],
      ['f1', 0],
      ['mcc', 0],
      ['loss', 1]
    ])
    // accuracy and F1 are equal here: different markers, sizes and dashes keep both visible.
    expect(new Set(series.map((s) => s.symbol)).size).toBe(4)
    expect(series[0]!.symbolSize).toBeGreaterThan(series[1]!.symbolSize!)
    expect(series[0]!.lineStyle!.type).not.toBe(series[1]!.lineStyle!.type)
  })

  it('a single evaluation is a labelled point on the steps trained so far', () => {
    const option = metricsOption({ metrics: { accuracy: [[2, 0.83333]] }, trainedSteps: 114 })
    expect(option.xAxis).toMatchObject({ min: 0, max: 114, minInterval: 1 })
    expect(option.yAxis).toEqual([expect.objectContaining({ name: 'score', min: 0, max: 1 })])
    // MCC below zero: the axis reaches −1; with more evaluations it fits the values.
    expect((metricsOption({ metrics: { mcc: [[2, -0.1]] } }).yAxis as { min: number }[])[0]!.min).toBe(-1)
    expect((metricsOption({ metrics: { mcc: [[2, -0.1], [4, 0.2]] } }).yAxis as { min?: number; scale: boolean }[])[0]).toMatchObject({ scale: true })
    const label = seriesOf(option)[0]!.label!
    expect(label.show).toBe(true)
    expect(label.formatter({ value: [2, 0.83333] })).toBe('0.8333')
    expect(seriesOf(metricsOption({ metrics: { accuracy: [[2, 0.8], [4, 0.9]] } }))[0]!.label!.show).toBe(false)
  })

  it('tells losses from scores by name or by range', () => {
    expect(isLossLike('loss')).toBe(true)
    expect(isLossLike('eval_loss')).toBe(true)
    expect(isLossLike('perplexity')).toBe(true)
    expect(isLossLike('accuracy', [0.5, 0.9])).toBe(false)
    expect(isLossLike('mcc', [-0.2, 0.4])).toBe(false)
    expect(isLossLike('spearman', [3.5])).toBe(true)
  })

  it('draws the erank change of each layer as a bar, up and down in two colours', () => {
    const option = erankGainOption({
      layers: [
        { name: 'a.query', label: 'query', before: 3.2, now: 3.5 },
        { name: 'a.value', label: 'value', before: 3.6, now: 3.4 }
      ],
      focused: 'a.value'
    })
    const bars = (option.series as { data: { value: number; name: string; itemStyle: { color: string; opacity: number } }[] }[])[0]!.data
    expect(bars.map((b) => b.name)).toEqual(['a.query', 'a.value'])
    expect(bars[0]!.value).toBeCloseTo(0.3, 12)
    expect(bars[1]!.value).toBeCloseTo(-0.2, 12)
    expect(bars[0]!.itemStyle.color).not.toBe(bars[1]!.itemStyle.color)
    expect(bars[1]!.itemStyle.opacity).toBe(1)
    expect(bars[0]!.itemStyle.opacity).toBeLessThan(1)
    expect(option.xAxis).toMatchObject({ type: 'category', data: ['query', 'value'] })
    // A bar's length is the change: the axis keeps zero even when every change is far from it.
    expect(option.yAxis).toMatchObject({ scale: false })
    const tooltip = tooltipOf(option)({ dataIndex: 1 })
    expect(tooltip).toBe('<b>a.value</b><br/>erank 3.6 → 3.4 <b>(−0.2)</b>')
    expect(formatChange(0.3)).toBe('+0.3')
    expect(formatChange(0)).toBe('0')
  })

  it('averages erank over layers step by step', () => {
    expect(
      meanSeries([
        [
          [0, 2],
          [10, 4]
        ],
        [
          [0, 4],
          [10, 8]
        ]
      ])
    ).toEqual([
      [0, 3],
      [10, 6]
    ])
  })

  it('lays erank out as blocks × roles in transformer order', () => {
    const input = heatmapCells(
      [
        { block: 1, role: 'mlp.out', value: 5 },
        { block: 0, role: 'value', value: 2 },
        { block: 0, role: 'query', value: 1 },
        { block: 1, role: 'query' }, // not analysed yet
        { role: 'query', value: 9 } // no block: left out
      ],
      'erank'
    )
    expect(input.blocks).toEqual([0, 1])
    expect(input.roles).toEqual(['query', 'value', 'mlp.out'])
    expect(input.cells).toEqual([
      [1, 2, 5],
      [0, 1, 2],
      [0, 0, 1]
    ])
    expect(heatmapOption(input).visualMap).toMatchObject({ min: 1, max: 5 })
  })
})
