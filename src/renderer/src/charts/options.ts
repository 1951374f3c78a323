import type { LineSeriesOption } from 'echarts/charts'
import type { Point } from '../lib/runTrace'
import type { ChartOption } from './echarts'

/** Options for every chart in the app: pure functions of the data, so the views stay declarative. */

const base: ChartOption = {
  backgroundColor: 'transparent',
  animation: false,
  aria: { enabled: true },
  tooltip: { trigger: 'axis' },
  grid: { left: 64, right: 16, top: 40, bottom: 40 }
}

/** A y axis named along its side, so the name never collides with the legend above the plot. */
function yName(name: string): { name: string; nameLocation: 'middle'; nameGap: number } {
  return { name, nameLocation: 'middle', nameGap: 48 }
}

/** Singular values as ECharts points [index from 1, σ]; zeros are left out (a log axis cannot show them). */
export function spectrumPoints(values: readonly number[]): Point[] {
  const points: Point[] = []
  values.forEach((v, i) => {
    if (v > 0 && Number.isFinite(v)) points.push([i + 1, v])
  })
  return points
}

export interface SpectrumChartInput {
  series: { name: string; values: readonly number[]; dashed?: boolean }[]
  /** The trained band [start, end) of the descending values, shaded. */
  band?: readonly [number, number]
  bandLabel?: string
  /** The band of a layer that is not chosen: what would be trained, drawn fainter. */
  bandFaint?: boolean
}

export function spectrumOption({ series, band, bandLabel = 'trained', bandFaint = false }: SpectrumChartInput): ChartOption {
  const length = Math.max(1, ...series.map((s) => s.values.length))
  // The label leans away from the nearer edge, so a band at either end keeps its label on the chart.
  const align = band && band[0] + band[1] > length ? 'right' : 'left'
  const lines: LineSeriesOption[] = series.map((s, i) => ({
    type: 'line',
    name: s.name,
    data: spectrumPoints(s.values),
    showSymbol: false,
    lineStyle: { width: 1.5, ...(s.dashed && { type: 'dashed' }) },
    ...(i === 0 && band && band[1] > band[0] && {
      markArea: {
        silent: true,
        itemStyle: { color: `rgba(245, 158, 11, ${bandFaint ? 0.09 : 0.22})` },
        label: { show: true, position: 'top', align, fontSize: 11 },
        data: [[{ name: bandLabel, xAxis: band[0] + 0.5 }, { xAxis: band[1] + 0.5 }]]
      }
    })
  }))
  return {
    ...base,
    legend: { show: series.length > 1, top: 0, right: 16 },
    xAxis: { type: 'value', name: 'index', nameLocation: 'middle', nameGap: 22, min: 1, max: length },
    yAxis: { type: 'log', ...yName('σ') },
    series: lines
  }
}

export function lossOption(loss: readonly Point[], smoothed: readonly Point[], logScale: boolean): ChartOption {
  const canLog = logScale && loss.every(([, v]) => !(v <= 0))
  return {
    ...base,
    legend: { top: 0, right: 16 },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 22, min: 'dataMin' },
    yAxis: { type: canLog ? 'log' : 'value', ...yName('loss'), scale: true },
    series: [
      { type: 'line', name: 'loss', data: loss as Point[], showSymbol: false, lineStyle: { width: 1, opacity: 0.5 }, itemStyle: { opacity: 0.5 } },
      { type: 'line', name: 'smoothed', data: smoothed as Point[], showSymbol: false, lineStyle: { width: 2 } }
    ]
  }
}

export function linesOption(series: Readonly<Record<string, readonly Point[]>>, axisName: string, options: { logScale?: boolean; highlight?: string } = {}): ChartOption {
  const names = Object.keys(series)
  return {
    ...base,
    legend: { show: names.length > 1, top: 0, left: 64, right: 16, type: 'scroll' },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 22, min: 'dataMin' },
    yAxis: { type: options.logScale ? 'log' : 'value', ...yName(axisName), scale: true },
    series: names.map((name) => ({
      type: 'line',
      name,
      data: series[name] as Point[],
      showSymbol: (series[name]?.length ?? 0) < 30,
      lineStyle: { width: options.highlight === undefined || options.highlight === name ? 2 : 1 }
    }))
  }
}

/** Mean of several series that share their steps (all layers' erank at each spectra event). */
export function meanSeries(series: readonly (readonly Point[])[]): Point[] {
  const sums = new Map<number, { sum: number; count: number }>()
  for (const points of series) {
    for (const [step, value] of points) {
      const entry = sums.get(step) ?? { sum: 0, count: 0 }
      entry.sum += value
      entry.count++
      sums.set(step, entry)
    }
  }
  return [...sums].sort((a, b) => a[0] - b[0]).map(([step, { sum, count }]) => [step, sum / count])
}

export interface HeatmapInput {
  blocks: number[]
  roles: string[]
  /** [block index, role index, value]. */
  cells: [number, number, number][]
  valueName: string
}

export function heatmapOption({ blocks, roles, cells, valueName }: HeatmapInput): ChartOption {
  const values = cells.map((c) => c[2])
  const min = values.length > 0 ? Math.min(...values) : 0
  const max = values.length > 0 ? Math.max(...values) : 1
  return {
    ...base,
    tooltip: { position: 'top' },
    grid: { left: 120, right: 96, top: 16, bottom: 40 },
    xAxis: { type: 'category', name: 'block', nameLocation: 'middle', nameGap: 24, data: blocks.map(String), splitArea: { show: true } },
    // Roles read top-down in block order: query first.
    yAxis: { type: 'category', data: roles, inverse: true, splitArea: { show: true } },
    visualMap: { min, max: max > min ? max : min + 1, calculable: true, orient: 'vertical', right: 0, top: 'middle', itemHeight: 100, text: [valueName, ''], precision: 1 },
    series: [{ type: 'heatmap', name: valueName, data: cells, label: { show: blocks.length * roles.length <= 72, formatter: (p) => formatCell((p.value as number[])[2]) } }]
  }
}

function formatCell(value: number | undefined): string {
  if (value === undefined) return ''
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toFixed(2)
}
