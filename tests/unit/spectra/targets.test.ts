import { describe, expect, it } from 'vitest'
import type { TensorInfo } from '../../../src/main/engine/io'
import { columnBlock, planMatrices } from '../../../src/main/engine/spectra'

const t = (name: string, shape: number[], dtype: TensorInfo['dtype'] = 'F32'): TensorInfo => ({ name, shape, dtype, file: 'x.safetensors', byteOffset: 0, byteLength: 0 })

describe('which tensors inspect analyses', () => {
  it('BERT-style names: projections analysed; embeddings, norms, biases and integer buffers skipped', () => {
    const { matrices, skipped } = planMatrices([
      t('bert.embeddings.word_embeddings.weight', [30522, 768]),
      t('bert.embeddings.position_ids', [1, 512], 'I64'),
      t('bert.encoder.layer.0.attention.self.query.weight', [768, 768]),
      t('bert.encoder.layer.0.attention.self.query.bias', [768]),
      t('bert.encoder.layer.0.intermediate.dense.weight', [3072, 768], 'BF16'),
      t('vit.embeddings.patch_embeddings.projection.weight', [768, 3, 16, 16]),
      t('classifier.weight', [2, 768], 'F16')
    ])
    expect(matrices.map((m) => m.name)).toEqual(['bert.encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.0.intermediate.dense.weight', 'classifier.weight'])
    expect(Object.fromEntries(skipped.map((s) => [s.name, s.reason]))).toEqual({
      'bert.embeddings.word_embeddings.weight': 'embedding table, not a projection (--include-embeddings analyses it)',
      'bert.embeddings.position_ids': 'I64 tensor, not floating-point weights',
      'bert.encoder.layer.0.attention.self.query.bias': '1-D tensor (bias or norm), not a matrix',
      'vit.embeddings.patch_embeddings.projection.weight': '4-D tensor, not a matrix'
    })
  })

  it("splits GPT-2's fused c_attn into q, k, v blocks, unless the config says another family", () => {
    const fused = t('h.3.attn.c_attn.weight', [64, 192])
    const { matrices } = planMatrices([fused])
    expect(matrices.map((m) => [m.name, m.shape, m.columns])).toEqual([
      ['h.3.attn.c_attn.weight.q', [64, 64], [0, 64]],
      ['h.3.attn.c_attn.weight.k', [64, 64], [64, 128]],
      ['h.3.attn.c_attn.weight.v', [64, 64], [128, 192]]
    ])
    expect(planMatrices([fused], { modelType: 'bert' }).matrices.map((m) => m.name)).toEqual(['h.3.attn.c_attn.weight'])
  })

  it('--layers matches block names; embeddings on request', () => {
    const tensors = [t('h.0.attn.c_attn.weight', [8, 24]), t('h.0.mlp.c_fc.weight', [8, 32]), t('wte.weight', [100, 8])]
    const { matrices, skipped } = planMatrices(tensors, { layers: /c_attn\.weight\.(q|v)$|wte/, includeEmbeddings: true })
    expect(matrices.map((m) => m.name)).toEqual(['h.0.attn.c_attn.weight.q', 'h.0.attn.c_attn.weight.v', 'wte.weight'])
    expect(skipped.map((s) => [s.name, s.reason])).toEqual([['h.0.mlp.c_fc.weight', 'does not match --layers']])
  })

  it('a vector stored as a 1×n or n×1 matrix is skipped: it has one singular value', () => {
    const { matrices, skipped } = planMatrices([
      t('Encoder_en/Embeddings/timing_scales', [1, 128]),
      t('classifier.weight', [1, 768]),
      t('lm.proj', [1, 1, 512, 1]),
      t('h.0.mlp.c_fc.weight', [8, 32])
    ])
    expect(matrices.map((m) => m.name)).toEqual(['h.0.mlp.c_fc.weight'])
    expect(skipped.map((s) => [s.name, s.reason])).toEqual([
      ['Encoder_en/Embeddings/timing_scales', 'one row or column: a vector, with one singular value, not a matrix'],
      ['classifier.weight', 'one row or column: a vector, with one singular value, not a matrix'],
      ['lm.proj', 'one row or column: a vector, with one singular value, not a matrix']
    ])
  })

  it('columnBlock copies a column range of a row-major matrix', () => {
    const a = Float64Array.from({ length: 12 }, (_, i) => i) // 3×4
    expect(Array.from(columnBlock(a, 3, 4, 1, 3))).toEqual([1, 2, 5, 6, 9, 10])
  })
})
