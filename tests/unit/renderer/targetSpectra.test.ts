// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import type { InspectReport } from '@shared/spectra'
import { moduleNameOfTensor, spectraByTarget, spectrumMatchesTarget } from '@renderer/lib/targetSpectra'
import fixture from '../../fixtures/spectra/tiny-random-gpt2.json?raw'
import { bertSummary, gpt2Summary, spectrum } from './fixtures'

describe('target ↔ spectrum names', () => {
  it('strips .weight from a tensor name and moves a fused block letter after the module', () => {
    expect(moduleNameOfTensor('bert.encoder.layer.0.attention.self.query.weight')).toBe('bert.encoder.layer.0.attention.self.query')
    expect(moduleNameOfTensor('transformer.h.3.attn.c_attn.weight.k')).toBe('transformer.h.3.attn.c_attn.k')
    expect(moduleNameOfTensor('transformer.h.3.attn.c_proj.weight')).toBe('transformer.h.3.attn.c_proj')
  })

  it('matches a BERT target to its tensor, with or without the bert. prefix a bare BertModel lacks', () => {
    expect(spectrumMatchesTarget('bert.encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.0.attention.self.query')).toBe(true)
    expect(spectrumMatchesTarget('encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.0.attention.self.query')).toBe(true)
  })

  it('matches a GPT-2 fused block (…c_attn.weight.q ↔ …c_attn.q), also from a bare GPT2Model', () => {
    expect(spectrumMatchesTarget('transformer.h.0.attn.c_attn.weight.q', 'transformer.h.0.attn.c_attn.q')).toBe(true)
    expect(spectrumMatchesTarget('h.0.attn.c_attn.weight.v', 'transformer.h.0.attn.c_attn.v')).toBe(true)
    expect(spectrumMatchesTarget('transformer.h.0.attn.c_attn.weight.q', 'transformer.h.0.attn.c_attn.k')).toBe(false)
  })

  it('never confuses block 1 with block 11, nor output.dense with attention.output.dense', () => {
    expect(spectrumMatchesTarget('bert.encoder.layer.11.attention.self.query.weight', 'bert.encoder.layer.1.attention.self.query')).toBe(false)
    expect(spectrumMatchesTarget('encoder.layer.11.output.dense.weight', 'bert.encoder.layer.1.output.dense')).toBe(false)
    expect(spectrumMatchesTarget('bert.encoder.layer.1.attention.output.dense.weight', 'bert.encoder.layer.1.output.dense')).toBe(false)
    // Dropping prefixes stops before the block number: a name without one never matches a block's target.
    expect(spectrumMatchesTarget('attention.self.query.weight', 'bert.encoder.layer.0.attention.self.query')).toBe(false)
  })

  it('pairs every target of a bare BERT with its spectrum, and leaves out tensors that are not targets', () => {
    const summary = bertSummary(12)
    const spectra = summary.targets.map((t) => spectrum(`${t.name.replace(/^bert\./, '')}.weight`, t.shape))
    spectra.push(spectrum('pooler.dense.weight', [8, 8]))
    const found = spectraByTarget(summary.targets, spectra)
    expect(found.size).toBe(summary.targets.length)
    expect(found.get('bert.encoder.layer.1.output.dense')?.name).toBe('encoder.layer.1.output.dense.weight')
    expect(found.get('bert.encoder.layer.11.attention.output.dense')?.name).toBe('encoder.layer.11.attention.output.dense.weight')
  })

  it('pairs the 30 targets of tiny-random-gpt2 with the spectra siva inspect wrote for it', () => {
    const report = JSON.parse(fixture) as Pick<InspectReport, 'tensors'>
    const summary = gpt2Summary(5, 32)
    const found = spectraByTarget(summary.targets, report.tensors)
    expect(found.size).toBe(30)
    for (const target of summary.targets) {
      const s = found.get(target.name)!
      expect(s.singularValues).toHaveLength(32)
      expect(moduleNameOfTensor(s.name)).toBe(target.name)
    }
  })

  it('uses the matrix a target names when the back end gives one (the sentence encoder\'s TF scope names share nothing with its module names)', () => {
    const targets = [
      { name: 'encoder.layer.0.attention.qkv.v', matrix: 'module/Encoder_en/KonaTransformer/Encode/Layer_0/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0.v' },
      { name: 'encoder.layer.0.ffn.conv1', matrix: 'module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/Layer_0/TransformerLayer/FFN/conv1/Tensordot/Reshape_1' }
    ]
    const spectra = [...targets.map((t) => spectrum(t.matrix, [4, 4])), spectrum('encoder.layer.0.attention.qkv.weight.v', [4, 4])]
    const found = spectraByTarget(targets, spectra)
    expect(found.get('encoder.layer.0.attention.qkv.v')?.name).toBe(targets[0]!.matrix)
    expect(found.get('encoder.layer.0.ffn.conv1')?.name).toBe(targets[1]!.matrix)
  })
})
