import type { ScatterSeriesOption } from 'echarts/charts'
import { methodInfo } from '@shared/methods'
import type { ScatterAxis, ScatterData, ScatterPoint } from '../lib/compareRuns'
import type { ChartOption } from './echarts'
import { escapeHtml, isLossLike } from './options'
import { formatCount, formatExact, formatValue } from '../lib/format'

/** The comparison's metric-against-cost plot (ECharts' scatter, registered with the other parts in echarts.ts). */
export type ScatterChartOption = ChartOption

export const scatterAxisNames: Record<ScatterAxis, string> = { trainable: 'trainable parameters', erankGain: 'mean erank gain' }

/** A point as the chart holds it: its value pair and the run it stands for. */
interface ScatterItem {
  name: string
  value: [number, number]
  point: ScatterPoint
}

function methodLabel(point: ScatterPoint): string {
  return point.method ? methodInfo(point.method).label : 'unknown method'
}

/** The tooltip of one point: the run, its method, and each of its numbers formatted. */
export function scatterTooltip(point: ScatterPoint, metric: string): string {
  const lines = [`<strong>${escapeHtml(point.label)}</strong>`, escapeHtml(methodLabel(point)), `${escapeHtml(metric)}: ${formatValue(point.y)}`]
  if (point.trainable !== undefined) lines.push(`trainable: ${formatCount(point.trainable)} (${formatExact(point.trainable)})`)
  if (point.erankGain !== undefined) lines.push(`mean erank gain: ${point.erankGain > 0 ? '+' : ''}${formatValue(point.erankGain)}`)
  return lines.join('<br>')
}

/**
 * One series per method (its colour and legend entry), one point per run, each labelled with the run's
 * name and method. Trainable parameters go on a log axis: runs differ by orders of magnitude there.
 */
export function compareScatterOption(data: ScatterData, axis: ScatterAxis, valueName: string): ScatterChartOption {
  const metric = data.metric ?? 'metric'
  const byMethod = new Map<string, ScatterItem[]>()
  for (const point of data.points) {
    const method = methodLabel(point)
    const items = byMethod.get(method) ?? []
    items.push({ name: point.label, value: [point.x, point.y], point })
    byMethod.set(method, items)
  }
  const series: ScatterSeriesOption[] = [...byMethod].map(([method, items]) => ({
    type: 'scatter',
    name: method,
    data: items,
    symbolSize: 12,
    label: { show: true, position: 'right', fontSize: 11, formatter: (p: { data?: unknown }) => `${(p.data as ScatterItem).point.label} · ${method}` },
    labelLayout: { hideOverlap: true },
    emphasis: { focus: 'self' }
  }))
  const logAxis = axis === 'trainable'
  const bounded = !isLossLike(metric) && data.points.every((p) => p.y >= -1 && p.y <= 1)
  return {
    backgroundColor: 'transparent',
    animation: false,
    aria: { enabled: true },
    legend: { show: series.length > 1, top: 0, right: 16 },
    grid: { left: 64, right: 96, top: 40, bottom: 48 },
    tooltip: {
      trigger: 'item',
      formatter: (p: unknown) => {
        const item = (p as { data?: ScatterItem }).data
        return item ? scatterTooltip(item.point, `${valueName} ${metric}`) : ''
      }
    },
    xAxis: logAxis
      ? { type: 'log', name: scatterAxisNames[axis], nameLocation: 'middle', nameGap: 28, axisLabel: { formatter: (v: number) => formatCount(v), hideOverlap: true } }
      : { type: 'value', name: scatterAxisNames[axis], nameLocation: 'middle', nameGap: 28, scale: true, axisLabel: { formatter: (v: number) => formatValue(v), hideOverlap: true } },
    // A score (accuracy, F1, MCC) never passes 1: the axis stops there instead of at a round 1.6.
    yAxis: { type: 'value', name: `${valueName} ${metric}`, nameLocation: 'middle', nameGap: 48, scale: true, ...(bounded && { max: 1 }), axisLabel: { formatter: (v: number) => formatValue(v) } },
    series
  }
}
