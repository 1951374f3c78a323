import type { DataCheckTokens } from '@shared/api'
import { formatCount } from '../lib/format'
import type { ChartOption } from './echarts'

/** A bin as the CLI prints it: lengths from–to inclusive. */
export function binLabel(bin: { from: number; to: number }): string {
  return bin.to - 1 === bin.from ? `${bin.from}` : `${bin.from}–${bin.to - 1}`
}

/** Rows in the bins above the limit: the bins are split at maxLength + 1, so this is the rows training truncates. */
export function rowsOverLimit(tokens: DataCheckTokens): number {
  return tokens.histogram.filter((b) => b.from > tokens.maxLength).reduce((sum, b) => sum + b.count, 0)
}

/**
 * The Data step's token-length histogram (`siva data check`'s bins), one equal-width bar per bin drawn as a
 * stepped area, its edges on the axis, and the bins training truncates shaded and labelled with the limit.
 */
export function tokenHistogramOption(tokens: DataCheckTokens): ChartOption {
  const bins = tokens.histogram
  const n = bins.length
  // Bar i spans [i, i + 1]; the last point closes the last bar.
  const points: [number, number][] = bins.map((b, i) => [i, b.count])
  if (n > 0) points.push([n, bins[n - 1]!.count])
  const over = bins.findIndex((b) => b.from > tokens.maxLength)
  const edge = (i: number): string => (i < n ? `${bins[i]!.from}` : n > 0 ? `${bins[n - 1]!.to}` : '')
  return {
    backgroundColor: 'transparent',
    animation: false,
    aria: { enabled: true },
    grid: { left: 48, right: 12, top: 28, bottom: 40 },
    tooltip: {
      trigger: 'axis',
      formatter: (params: unknown) => {
        const first = (Array.isArray(params) ? params[0] : params) as { value?: [number, number] } | undefined
        const i = Math.min(n - 1, Math.floor(first?.value?.[0] ?? 0))
        const bin = bins[i]
        if (!bin) return ''
        return `${binLabel(bin)} tokens: ${formatCount(bin.count)} ${bin.count === 1 ? 'row' : 'rows'}${bin.from > tokens.maxLength ? ' (truncated)' : ''}`
      }
    },
    xAxis: { type: 'value', name: 'tokens per row', nameLocation: 'middle', nameGap: 26, min: 0, max: Math.max(1, n), interval: 1, axisLabel: { formatter: (v: number) => edge(v), hideOverlap: true } },
    yAxis: { type: 'value', name: 'rows', minInterval: 1 },
    series: [
      {
        type: 'line',
        name: 'rows',
        step: 'end',
        symbol: 'none',
        data: points,
        lineStyle: { width: 1.5 },
        areaStyle: { opacity: 0.35 },
        ...(over >= 0 && {
          markArea: {
            silent: true,
            itemStyle: { color: 'rgba(214, 120, 40, 0.18)' },
            label: { show: true, position: 'insideTop', fontSize: 11, formatter: `over ${tokens.maxLength}: truncated` },
            data: [[{ xAxis: over }, { xAxis: n }]]
          }
        })
      }
    ]
  }
}
