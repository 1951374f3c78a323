import { describe, expect, it } from 'vitest'
import { compareScatterOption } from '@renderer/charts/compareScatter'
import type { ScatterData } from '@renderer/lib/compareRuns'

/** The Compare plot's ECharts option: one point per run, where its numbers put it, and axes that fit the metric. */
describe('the key-metric-against-cost plot', () => {
  const points: ScatterData['points'] = [
    { id: 'a', label: 'bert-siva', method: 'siva', x: 78, y: 0.91, trainable: 78 },
    { id: 'b', label: 'bert-lora', method: 'lora', x: 2048, y: 0.93, trainable: 2048 }
  ]

  it('puts each run at (trainable, metric), one series per method, on a log axis', () => {
    const option = compareScatterOption({ metric: 'accuracy', points, leftOut: [] }, 'trainable', 'final')
    const series = option.series as { name: string; data: { value: [number, number] }[] }[]
    expect(series.map((s) => [s.name, s.data.map((d) => d.value)])).toEqual([
      ['SiVA', [[78, 0.91]]],
      ['LoRA', [[2048, 0.93]]]
    ])
    expect(option.xAxis).toMatchObject({ type: 'log' })
  })

  it('stops a score axis at 1, and leaves a loss axis free', () => {
    expect(compareScatterOption({ metric: 'accuracy', points, leftOut: [] }, 'trainable', 'final').yAxis).toMatchObject({ max: 1 })
    const loss = compareScatterOption({ metric: 'loss', points: points.map((p) => ({ ...p, y: p.y + 1 })), leftOut: [] }, 'erankGain', 'final').yAxis as { max?: number }
    expect(loss.max).toBeUndefined()
  })
})
