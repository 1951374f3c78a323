// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { erankIn, heatmapCells, normalisedErank } from '@renderer/lib/heatmap'
import { compareCounts, estimateParameters, formatTimes, taskHeadEstimate } from '@renderer/lib/parameterCount'
import { blockRuns, selectedBlocksText } from '@renderer/lib/targetSelection'

describe('the task head every method trains', () => {
  it('counts a classifier [labels, hidden] and its bias: 2 classes × 512 + 2 = 1,026', () => {
    expect(taskHeadEstimate({ task: 'classify', hiddenSize: 512, classes: 2, modelType: 'use-lite' })).toEqual({ parameters: 2 * 512 + 2, formula: '2 classes × 512 + 2' })
    expect(taskHeadEstimate({ task: 'classify', hiddenSize: 768, classes: 3, modelType: 'bert' })!.parameters).toBe(3 * 768 + 3)
    expect(taskHeadEstimate({ task: 'regress', hiddenSize: 768, modelType: 'bert' })).toEqual({ parameters: 768 + 1, formula: '1 output × 768 + 1' })
  })

  it('follows the families: RoBERTa’s dense + out_proj, GPT-2’s bias-free score, a language model none', () => {
    expect(taskHeadEstimate({ task: 'classify', hiddenSize: 768, classes: 2, modelType: 'roberta' })!.parameters).toBe(768 * 768 + 768 + 2 * 768 + 2)
    expect(taskHeadEstimate({ task: 'classify', hiddenSize: 768, classes: 2, modelType: 'gpt2' })!.parameters).toBe(2 * 768)
    expect(taskHeadEstimate({ task: 'causal-lm', hiddenSize: 768, modelType: 'gpt2' })!.parameters).toBe(0)
  })

  it('is unknown (not 0) until the width and the classes are known', () => {
    expect(taskHeadEstimate({ task: 'classify', hiddenSize: 512 })).toBeUndefined()
    expect(taskHeadEstimate({ task: 'classify', classes: 2 })).toBeUndefined()
  })
})

describe('ratios as the count panel says them', () => {
  it('whole numbers from 10 up (128, never 130), three significant digits below', () => {
    expect(formatTimes(128)).toBe('128')
    expect(formatTimes(8192)).toBe('8,192')
    expect(formatTimes(41.7)).toBe('42')
    expect(formatTimes(1.0195)).toBe('1.02')
    expect(formatTimes(2.5)).toBe('2.5')
    expect(compareCounts(64, 8192)).toBe('128× fewer')
    expect(compareCounts(8192 * 3, 8192)).toBe('3× more')
    expect(compareCounts(5, 5)).toBe('as many')
  })

  it('a probe trains no adapter: the estimate’s adapter is 0 and the head is counted apart', () => {
    const estimate = estimateParameters('head', [{ name: 'q', shape: [512, 512] }], {}, {}, 10_000)
    expect(estimate.adapter).toBe(0)
    expect(estimate.lora8).toBe(8 * (512 + 512))
  })
})

describe('the blocks a selection covers', () => {
  it('writes blocks as runs', () => {
    expect(blockRuns([3, 0, 1, 2, 5, 7, 8])).toBe('0–3, 5, 7–8')
    expect(blockRuns([1])).toBe('1')
    expect(blockRuns([])).toBe('')
  })

  it('says the blocks of the selected targets, not of the range', () => {
    const targets = [0, 1, 2].flatMap((block) => [{ name: `l.${block}.q`, block }, { name: `l.${block}.v`, block }])
    expect(selectedBlocksText(targets, new Set(['l.1.q', 'l.1.v']))).toBe('in block 1')
    expect(selectedBlocksText(targets, new Set(['l.0.q', 'l.2.v']))).toBe('in blocks 0, 2')
    expect(selectedBlocksText(targets, new Set())).toBe('')
  })
})

describe('erank / r', () => {
  it('divides by min(out, in)', () => {
    expect(normalisedErank(128, [256, 1536])).toBe(0.5)
    expect(erankIn('normalised', 300, [1536, 1536])).toBe(300 / 1536)
    expect(erankIn('erank', 300, [1536, 1536])).toBe(300)
  })

  it('the heatmap keeps every cell’s matrix and selection, analysed or not', () => {
    const input = heatmapCells(
      [
        { name: 'a', block: 0, role: 'query', value: 2, selected: true },
        { name: 'b', block: 1, role: 'query' }
      ],
      'erank'
    )
    expect(input.cells).toEqual([[0, 0, 2]])
    expect(input.entries).toEqual([
      { x: 0, y: 0, block: 0, role: 'query', name: 'a', selected: true, value: 2 },
      { x: 1, y: 0, block: 1, role: 'query', name: 'b', selected: false }
    ])
  })
})
