// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { heatmapOption, lossOption, meanSeries, spectrumOption, spectrumPoints } from '@renderer/charts/options'
import { heatmapCells } from '@renderer/lib/heatmap'

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
  })

  it('falls back to a linear loss axis when a loss is not positive', () => {
    expect(lossOption([[1, 0.5]], [[1, 0.5]], true).yAxis).toMatchObject({ type: 'log' })
    expect(lossOption([[1, -0.5]], [[1, -0.5]], true).yAxis).toMatchObject({ type: 'value' })
    expect(lossOption([[1, 0.5]], [[1, 0.5]], false).yAxis).toMatchObject({ type: 'value' })
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
