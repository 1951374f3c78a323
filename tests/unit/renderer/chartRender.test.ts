import { init, use } from 'echarts/core'
import { SVGRenderer } from 'echarts/renderers'
import { describe, expect, it } from 'vitest'
import '@renderer/charts/echarts'
import type { ChartOption } from '@renderer/charts/echarts'
import { erankGainOption, linesOption, lossOption, metricsOption, spectrumOption } from '@renderer/charts/options'

use([SVGRenderer])

/** The option drawn by the real ECharts, server-side to SVG: every component it names is registered and accepted. */
function render(option: ChartOption): string {
  const chart = init(null, null, { renderer: 'svg', ssr: true, width: 480, height: 260 })
  try {
    chart.setOption(option)
    return chart.renderToSVGString()
  } finally {
    chart.dispose()
  }
}

const steps = (n: number, f: (s: number) => number): [number, number][] => Array.from({ length: n }, (_, i) => [i + 1, f(i + 1)])

describe('the chart options in ECharts', () => {
  it('draws loss, evaluation with a loss axis, and effective rank with their axis names and legends', () => {
    const loss = render(lossOption({ loss: steps(3840, (s) => 1 / s), smoothed: steps(3840, (s) => 1 / s), weight: 0.9, logScale: true }))
    expect(loss).toContain('smoothed (0.9)')
    expect(loss).toContain('>step<')
    const metrics = render(metricsOption({ metrics: { accuracy: [[2, 0.8]], f1: [[2, 0.8]], loss: [[2, 0.55]] }, trainedSteps: 114 }))
    expect(metrics).toContain('>score<')
    expect(metrics).toContain('>loss<')
    // The one evaluation is labelled with its value.
    expect(metrics).toContain('>0.8<')
    const t0 = Date.UTC(2025, 0, 1, 12, 0, 0)
    const byTime = steps(120, (s) => 1 / s).map(([s, v]): [number, number, number] => [t0 + s * 1000, v, s])
    expect(render(lossOption({ loss: byTime, smoothed: byTime, weight: 0.6, logScale: false, x: { kind: 'time', origin: t0 } }))).toContain('>time<')
    const erank = render(linesOption({ 'encoder.layer.0.query': steps(5, (s) => 171 + s / 7) }, 'effective rank', { minInterval: 1 }))
    expect(erank).toContain('effective rank')
  })

  it('draws a spectrum with its band and the bars of erank change', () => {
    const spectrum = render(spectrumOption({ series: [{ name: 'now', values: Array.from({ length: 512 }, (_, i) => 1 / (i + 1)) }], band: [100, 200], module: 'q' }))
    expect(spectrum).toContain('trained')
    expect(spectrum).toContain('rgb(245,158,11)')
    const bars = render(erankGainOption({ layers: [{ name: 'a.q', label: 'q', before: 3, now: 3.5 }, { name: 'a.v', label: 'v', before: 3, now: 2.5 }] }))
    expect(bars).toContain('erank change')
  })
})
