import type { TooltipComponentFormatterCallbackParams, XAXisComponentOption, YAXisComponentOption } from 'echarts'
import type { BarSeriesOption, LineSeriesOption } from 'echarts/charts'
import type { DataZoomComponentOption, TooltipComponentOption } from 'echarts/components'
import { formatCount, formatDuration, formatValue } from '../lib/format'
import type { Point } from '../lib/runTrace'
import { bandAlpha, bandColor } from './band'
import type { ChartOption } from './echarts'

/** Options for every chart in the app: pure functions of the data, so the views stay declarative. */

/** A point on a chart: [step, value], or [time in ms, value, step] on a time axis. */
export type ChartPoint = readonly [number, number] | readonly [number, number, number]

/** What the x-axis counts: optimiser steps, or wall-clock time (`origin`: the run's first time, for "+1 min" in tooltips). */
export interface XAxisMode {
  kind: 'step' | 'time'
  origin?: number
}

const byStep: XAxisMode = { kind: 'step' }

const base: ChartOption = {
  backgroundColor: 'transparent',
  animation: false,
  aria: { enabled: true },
  tooltip: { trigger: 'axis' },
  grid: { left: 64, right: 16, top: 40, bottom: 40 }
}

/**
 * Box zoom (drag a range) in the chart's corner; Ctrl + wheel zooms and dragging pans (`zoomInside`). The
 * plain wheel still scrolls the page: a chart under the pointer must not trap it.
 */
const toolbox: ChartOption['toolbox'] = {
  right: 4,
  top: 0,
  itemSize: 13,
  feature: { dataZoom: { yAxisIndex: 'none', title: { zoom: 'Drag over a range to zoom', back: 'Undo the last zoom' } } }
}
const zoomInside: DataZoomComponentOption[] = [{ type: 'inside', xAxisIndex: 0, zoomOnMouseWheel: 'ctrl', moveOnMouseWheel: false, moveOnMouseMove: true }]

/** A step on an axis or in a tooltip: in full below 10 000, then "12 k", never so long that ticks collide. */
export function formatStep(step: number): string {
  return Math.abs(step) >= 1e4 ? formatCount(step) : String(Math.round(step))
}

/** A wall-clock time of day, 24-hour, in the viewer's zone. */
export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false })
}

/** Series and module names go into tooltip HTML: never as markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** A y axis named along its side, so the name never collides with the legend above the plot. */
function yName(name: string): { name: string; nameLocation: 'middle'; nameGap: number } {
  return { name, nameLocation: 'middle', nameGap: 48 }
}

function valueAxis(name: string, options: { log?: boolean; minInterval?: number; position?: 'left' | 'right' } = {}): YAXisComponentOption {
  return {
    type: options.log ? 'log' : 'value',
    ...yName(name),
    ...(options.position && { position: options.position }),
    ...(options.position === 'right' && { nameGap: 44 }),
    scale: true,
    ...(options.minInterval !== undefined && { minInterval: options.minInterval }),
    axisLabel: { hideOverlap: true, formatter: (v: number) => formatValue(v) }
  } as YAXisComponentOption
}

/** The x-axis of a chart over training: integer steps (never "0.5"), or time; labels that would overlap are dropped. */
export function trainingXAxis(mode: XAxisMode, range: { min?: number; max?: number } = {}): XAXisComponentOption {
  if (mode.kind === 'time') {
    return { type: 'time', name: 'time', nameLocation: 'middle', nameGap: 26, splitNumber: 4, axisLabel: { hideOverlap: true } }
  }
  return {
    type: 'value',
    name: 'step',
    nameLocation: 'middle',
    nameGap: 26,
    min: range.min ?? 'dataMin',
    ...(range.max !== undefined && { max: range.max }),
    minInterval: 1,
    splitNumber: 4,
    axisLabel: { hideOverlap: true, formatter: (v: number) => formatStep(v) }
  }
}

interface TooltipItem {
  seriesName?: string
  marker?: unknown
  value?: unknown
}

function items(params: TooltipComponentFormatterCallbackParams): TooltipItem[] {
  return (Array.isArray(params) ? params : [params]) as TooltipItem[]
}

/** Where a point sits on the x-axis, in words: "step 120", or "step 120 · 14:02:33 (+1 min 15 s)". */
export function describeX(point: readonly number[], mode: XAxisMode): string {
  if (mode.kind === 'step') return `step ${formatStep(point[0]!)}`
  const [ms, , step] = point
  const clock = ms !== undefined ? formatClock(ms) : '–'
  const since = mode.origin !== undefined && ms !== undefined ? ` (+${formatDuration((ms - mode.origin) / 1000)})` : ''
  return `${step !== undefined ? `step ${formatStep(step)} · ` : ''}${clock}${since}`
}

/**
 * An axis tooltip for series over training: where on the x-axis, then each series by name with its value
 * formatted (a series whose nearest point is elsewhere says where). `title` heads it: the module's name.
 */
export function trainingTooltip(mode: XAxisMode, title?: string): TooltipComponentOption['formatter'] {
  return (params: TooltipComponentFormatterCallbackParams) => {
    const list = items(params).filter((p) => Array.isArray(p.value))
    if (list.length === 0) return ''
    const first = list[0]!.value as number[]
    const where = describeX(first, mode)
    const rows = list.map((p) => {
      const value = p.value as number[]
      const elsewhere = value[0] !== first[0] ? ` <span style="opacity:.7">(${describeX(value, mode)})</span>` : ''
      return `${typeof p.marker === 'string' ? p.marker : ''}${escapeHtml(p.seriesName ?? '')} <b>${formatValue(value[1])}</b>${elsewhere}`
    })
    return [...(title ? [`<b>${escapeHtml(title)}</b>`] : []), where, ...rows].join('<br/>')
  }
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
  /** The matrix's module name, heading the tooltip. */
  module?: string
  /** σ on a log axis (the default: a spectrum spans decades); false for a linear one. */
  logScale?: boolean
}

/** The spectrum tooltip: module, index (and whether it is in the band), σ of each series formatted. */
export function spectrumTooltip(module: string | undefined, band: readonly [number, number] | undefined): TooltipComponentOption['formatter'] {
  return (params: TooltipComponentFormatterCallbackParams) => {
    const list = items(params).filter((p) => Array.isArray(p.value))
    if (list.length === 0) return ''
    const index = (list[0]!.value as number[])[0]!
    const inBand = band && index - 1 >= band[0] && index - 1 < band[1] ? ' · in the trained band' : ''
    const rows = list.map((p) => `${typeof p.marker === 'string' ? p.marker : ''}${escapeHtml(p.seriesName ?? '')} σ <b>${formatValue((p.value as number[])[1])}</b>`)
    return [...(module ? [`<b>${escapeHtml(module)}</b>`] : []), `index ${index}${inBand}`, ...rows].join('<br/>')
  }
}

/**
 * The index range that "zoom to the trained band" shows: the band and as much again around it (at least
 * 4 indices each side), within [1, length], so the band's neighbours are there to compare with.
 */
export function bandZoomRange(band: readonly [number, number], length: number): [number, number] {
  const width = Math.max(1, band[1] - band[0])
  const margin = Math.max(4, Math.ceil(width / 2))
  return [Math.max(1, band[0] + 1 - margin), Math.min(Math.max(1, length), band[1] + margin)]
}

export function spectrumOption({ series, band, bandLabel = 'trained', bandFaint = false, module, logScale = true }: SpectrumChartInput): ChartOption {
  const length = Math.max(1, ...series.map((s) => s.values.length))
  // The label leans away from the nearer edge, so a band at either end keeps its label on the chart.
  const align = band && band[0] + band[1] > length ? 'right' : 'left'
  const lines: LineSeriesOption[] = series.map((s, i) => ({
    type: 'line',
    name: s.name,
    data: logScale ? spectrumPoints(s.values) : s.values.map((v, k) => [k + 1, v]),
    showSymbol: false,
    sampling: 'lttb',
    lineStyle: { width: 1.5, ...(s.dashed && { type: 'dashed' }) },
    ...(i === 0 &&
      band &&
      band[1] > band[0] && {
        markArea: {
          silent: true,
          itemStyle: { color: bandColor(bandFaint ? bandAlpha.faint : bandAlpha.trained) },
          label: { show: true, position: 'top', align, fontSize: 11 },
          data: [[{ name: bandLabel, xAxis: band[0] + 0.5 }, { xAxis: band[1] + 0.5 }]]
        }
      })
  }))
  return {
    ...base,
    tooltip: { trigger: 'axis', formatter: spectrumTooltip(module, band) },
    toolbox,
    dataZoom: zoomInside,
    legend: { show: series.length > 1, top: 0, right: 40 },
    xAxis: { type: 'value', name: 'index', nameLocation: 'middle', nameGap: 26, min: 1, max: length, minInterval: 1, axisLabel: { hideOverlap: true, formatter: (v: number) => formatStep(v) } },
    // A linear σ axis starts at 0, so the band's small values are not magnified out of proportion.
    yAxis: { ...valueAxis('σ', { log: logScale }), scale: logScale },
    series: lines
  }
}

export interface LossChartInput {
  loss: readonly ChartPoint[]
  smoothed: readonly ChartPoint[]
  /** The smoothing weight, named in the legend. */
  weight?: number
  logScale: boolean
  x?: XAxisMode
}

/** Raw loss faint behind its moving average; a log axis only when every loss is positive. */
export function lossOption({ loss, smoothed, weight, logScale, x = byStep }: LossChartInput): ChartOption {
  const canLog = logScale && loss.every(([, v]) => !(v <= 0))
  const smoothedName = weight === undefined ? 'smoothed' : `smoothed (${weight})`
  return {
    ...base,
    tooltip: { trigger: 'axis', formatter: trainingTooltip(x) },
    toolbox,
    dataZoom: zoomInside,
    legend: { top: 0, left: 64, right: 40 },
    xAxis: trainingXAxis(x),
    yAxis: valueAxis('loss', { log: canLog }),
    series: [
      { type: 'line', name: 'loss', data: loss as Point[], showSymbol: false, sampling: 'lttb', lineStyle: { width: 1, opacity: 0.35 }, itemStyle: { opacity: 0.35 } },
      ...(weight === 0 ? [] : [{ type: 'line' as const, name: smoothedName, data: smoothed as Point[], showSymbol: false, sampling: 'lttb' as const, lineStyle: { width: 2 } }])
    ]
  }
}

export interface LinesOptions {
  logScale?: boolean
  /** The series drawn thicker. */
  highlight?: string
  x?: XAxisMode
  /** Heads the tooltip: the module the series are of. */
  title?: string
  /** Force a y step of at least this much (1 for effective rank: no "171.5" ticks). */
  minInterval?: number
}

export function linesOption(series: Readonly<Record<string, readonly ChartPoint[]>>, axisName: string, options: LinesOptions = {}): ChartOption {
  const names = Object.keys(series)
  const x = options.x ?? byStep
  return {
    ...base,
    tooltip: { trigger: 'axis', formatter: trainingTooltip(x, options.title) },
    toolbox,
    dataZoom: zoomInside,
    legend: { show: names.length > 1, top: 0, left: 64, right: 40, type: 'scroll' },
    xAxis: trainingXAxis(x),
    yAxis: valueAxis(axisName, { ...(options.logScale !== undefined && { log: options.logScale }), ...(options.minInterval !== undefined && { minInterval: options.minInterval }) }),
    series: names.map((name) => ({
      type: 'line',
      name,
      data: series[name] as Point[],
      showSymbol: (series[name]?.length ?? 0) < 30,
      lineStyle: { width: options.highlight === undefined || options.highlight === name ? 2 : 1 }
    }))
  }
}

/** A metric where lower is better, on its own axis: a loss (or perplexity, or an error) is not a 0–1 score. */
export function isLossLike(name: string, values: readonly number[] = []): boolean {
  return /loss|perplexity|error|mse|mae/i.test(name) || values.some((v) => v > 1 || v < -1)
}

const metricSymbols = ['circle', 'rect', 'triangle', 'diamond', 'roundRect', 'pin'] as const
const metricDashes = ['solid', 'dashed', 'dotted'] as const

export interface MetricsChartInput {
  metrics: Readonly<Record<string, readonly ChartPoint[]>>
  x?: XAxisMode
  /**
   * The last step trained so far: the step axis ends there (as the loss chart's does), so the evaluations
   * line up with the loss and one evaluation is a point in its place, not a dot at the edge of an axis
   * stretched to the end of the run.
   */
  trainedSteps?: number
}

/**
 * Evaluation metrics: scores (accuracy, F1, MCC) on the left axis, losses on their own axis on the right.
 * Each series has its own marker, dash and marker size, so equal values (accuracy = F1) still show both;
 * a series of one evaluation is labelled with its value.
 */
export function metricsOption({ metrics, x = byStep, trainedSteps }: MetricsChartInput): ChartOption {
  const names = Object.keys(metrics)
  const lossNames = new Set(names.filter((n) => isLossLike(n, (metrics[n] ?? []).map((p) => p[1]))))
  const scoreNames = names.filter((n) => !lossNames.has(n))
  const axes: YAXisComponentOption[] = []
  if (scoreNames.length > 0) {
    // One evaluation so far: the whole score range, so a single point is not read as the top or bottom of a scale.
    const scores = scoreNames.flatMap((n) => (metrics[n] ?? []).map((p) => p[1]))
    const single = scoreNames.every((n) => (metrics[n]?.length ?? 0) <= 1)
    axes.push({ ...valueAxis('score', { position: 'left' }), ...(single && { scale: false, min: scores.some((v) => v < 0) ? -1 : 0, max: 1 }) } as YAXisComponentOption)
  }
  if (lossNames.size > 0) axes.push(valueAxis('loss', { position: scoreNames.length > 0 ? 'right' : 'left' }))
  const lossAxis = scoreNames.length > 0 ? 1 : 0
  const lastStep = Math.max(0, ...names.flatMap((n) => (metrics[n] ?? []).map((p) => p[2] ?? p[0])))
  return {
    ...base,
    tooltip: { trigger: 'axis', formatter: trainingTooltip(x) },
    toolbox,
    dataZoom: zoomInside,
    grid: { left: 64, right: scoreNames.length > 0 && lossNames.size > 0 ? 64 : 16, top: 40, bottom: 40 },
    legend: { show: true, top: 0, left: 64, right: 40, type: 'scroll' },
    xAxis: trainingXAxis(x, x.kind === 'step' ? { min: 0, max: Math.max(trainedSteps ?? 0, lastStep, 1) } : {}),
    yAxis: axes,
    series: names.map((name, i): LineSeriesOption => {
      const data = (metrics[name] ?? []) as Point[]
      return {
        type: 'line',
        name,
        yAxisIndex: lossNames.has(name) ? lossAxis : 0,
        data,
        showSymbol: data.length <= 60,
        symbol: metricSymbols[i % metricSymbols.length],
        // Later series are drawn smaller on top of earlier ones: two equal values show as one mark inside another.
        symbolSize: Math.max(5, 11 - 2 * (i % 4)),
        lineStyle: { width: 1.75, type: metricDashes[i % metricDashes.length] },
        label: { show: data.length === 1, position: 'top', formatter: (p: { value?: unknown }) => formatValue((p.value as number[])[1]) },
        labelLayout: { hideOverlap: true }
      }
    })
  }
}

export interface ErankGainInput {
  /** In the run's order: the layer, its erank before training and now. */
  layers: readonly { name: string; label: string; before: number; now: number }[]
  /** The focused layer, drawn at full strength. */
  focused?: string
}

/** Signed, with the sign always shown: "+0.3", "−1.2". */
export function formatChange(x: number): string {
  if (!Number.isFinite(x)) return '–'
  return x > 0 ? `+${formatValue(x)}` : x < 0 ? `−${formatValue(-x)}` : '0'
}

/** Effective-rank change per layer as bars (up in one colour, down in another), in the run's layer order. */
export function erankGainOption({ layers, focused }: ErankGainInput): ChartOption {
  const many = layers.length > 16
  const bars: BarSeriesOption = {
    type: 'bar',
    name: 'erank change',
    barMaxWidth: 28,
    data: layers.map((l) => {
      const change = l.now - l.before
      return {
        value: change,
        name: l.name,
        itemStyle: { color: change >= 0 ? '#2f9e6b' : '#d1495b', opacity: focused === undefined || focused === l.name ? 1 : 0.55 }
      }
    })
  }
  return {
    ...base,
    tooltip: {
      trigger: 'item',
      formatter: (params: TooltipComponentFormatterCallbackParams) => {
        const p = items(params)[0] as { dataIndex?: number } | undefined
        const l = p?.dataIndex !== undefined ? layers[p.dataIndex] : undefined
        if (!l) return ''
        return `<b>${escapeHtml(l.name)}</b><br/>erank ${formatValue(l.before)} → ${formatValue(l.now)} <b>(${formatChange(l.now - l.before)})</b>`
      }
    },
    grid: { left: 64, right: 16, top: 16, bottom: many ? 24 : 56 },
    xAxis: {
      type: 'category',
      data: layers.map((l) => l.label),
      // Many layers: no names under the bars (the tooltip and the small multiples give them).
      axisLabel: many ? { show: false } : { hideOverlap: true, rotate: layers.length > 4 ? 30 : 0, fontSize: 11 },
      axisTick: { show: !many }
    },
    // Bars start at zero: a bar's length is the change.
    yAxis: { ...valueAxis('erank change'), scale: false },
    series: [bars]
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
