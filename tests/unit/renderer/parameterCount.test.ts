// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { bandSize, effectiveAmount, estimateParameters, trainableFor } from '@renderer/lib/parameterCount'

// BERT-base shapes: [out, in].
const query: [number, number] = [768, 768]
const intermediate: [number, number] = [3072, 768]
const output: [number, number] = [768, 3072]

describe('trainable parameter counts', () => {
  it('SiVA and top-k train k = max(1, round(perc · min(out, in))) values, or k itself (at most r)', () => {
    expect(bandSize(768, { perc: 0.1 })).toBe(77) // round(76.8)
    expect(bandSize(768, { perc: 0.001 })).toBe(1) // round(0.768) = 1
    expect(bandSize(768, { perc: 0.0001 })).toBe(1) // round(0.0768) = 0 → at least 1
    expect(bandSize(8, { perc: 0.5 })).toBe(4)
    expect(bandSize(768, { k: 16 })).toBe(16)
    expect(bandSize(8, { k: 100 })).toBe(8)
    expect(trainableFor('siva', intermediate, { perc: 0.1 })).toBe(77) // min(3072, 768) = 768
    expect(trainableFor('topk', output, { k: 5 })).toBe(5)
  })

  it('SVDiff trains all min(out, in) values, LoRA r · (out + in), full out · in', () => {
    expect(trainableFor('svdiff', intermediate, {})).toBe(768)
    expect(trainableFor('lora', query, { rank: 8 })).toBe(12_288) // 8 · 1536
    expect(trainableFor('lora', intermediate, { rank: 4 })).toBe(15_360) // 4 · 3840
    expect(trainableFor('lora', intermediate, {})).toBe(30_720) // r defaults to 8
    expect(trainableFor('full', query, {})).toBe(589_824)
    expect(trainableFor('head', query, {})).toBe(0)
  })

  it('an override resolves like the engine: its k wins, its perc silences a global k', () => {
    expect(effectiveAmount({ k: 4 }, { perc: 0.5 })).toEqual({ perc: 0.5 })
    expect(effectiveAmount({ perc: 0.1 }, { k: 2 })).toEqual({ k: 2, perc: 0.1 })
    expect(effectiveAmount({ k: 4 }, undefined)).toEqual({ k: 4 })
    expect(bandSize(768, effectiveAmount({ perc: 0.1 }, { k: 2 }))).toBe(2)
  })

  it('counts nothing for an amount the engine refuses, and says why (a fractional k is not floored)', () => {
    expect(trainableFor('siva', query, { k: 2.5 })).toBeUndefined()
    expect(() => bandSize(768, { k: 2.5 })).toThrow(/k must be a positive integer, got 2.5/)
    expect(trainableFor('lora', query, { rank: 0 })).toBeUndefined()
    const estimate = estimateParameters('topk', [{ name: 'q', shape: query }], { perc: 0 }, {}, 1_000)
    expect(estimate).toMatchObject({ adapter: 0, lora8: 12_288 })
    expect(estimate.invalid.get('q')).toBe('perc must be in (0, 1], got 0')
  })

  it('sums SiVA on BERT-base query and value of 12 layers against LoRA r = 8 and the whole model', () => {
    const targets = Array.from({ length: 12 }, (_, b) => [
      { name: `bert.encoder.layer.${b}.attention.self.query`, shape: query },
      { name: `bert.encoder.layer.${b}.attention.self.value`, shape: query }
    ]).flat()
    const estimate = estimateParameters('siva', targets, { perc: 0.1 }, {}, 109_482_240)
    expect(estimate.adapter).toBe(24 * 77) // 1848
    expect(estimate.lora8).toBe(24 * 12_288) // 294,912, as PEFT counts LoRA r = 8 on q, v
    expect(estimate.full).toBe(109_482_240)
  })

  it('applies per-layer overrides and mixes shapes', () => {
    const targets = [
      { name: 'a.0.query', shape: query },
      { name: 'a.0.intermediate', shape: intermediate },
      { name: 'a.0.output', shape: output }
    ]
    const estimate = estimateParameters('siva', targets, { k: 10 }, { 'a.0.output': { k: 3 }, 'a.0.query': { perc: 0.5 } }, 1_000_000)
    // query: perc 0.5 of 768 = 384; intermediate: k 10; output: k 3
    expect(estimate.adapter).toBe(384 + 10 + 3)
    expect(estimate.perTarget.get('a.0.query')).toBe(384)
    // LoRA r = 8: 8·1536 + 8·3840 + 8·3840
    expect(estimate.lora8).toBe(12_288 + 30_720 + 30_720)
    expect(estimateParameters('lora', targets, { rank: 8 }, {}, 1_000_000).adapter).toBe(estimate.lora8)
  })

  it('full fine-tuning counts the whole checkpoint, a linear probe nothing on the targets', () => {
    const targets = [{ name: 'x.0.q', shape: query }]
    expect(estimateParameters('full', targets, {}, {}, 5_000).adapter).toBe(5_000)
    expect(estimateParameters('head', targets, {}, {}, 5_000).adapter).toBe(0)
    expect(estimateParameters('siva', [], { perc: 0.1 }, {}, 5_000)).toMatchObject({ adapter: 0, lora8: 0, full: 5_000 })
  })
})
