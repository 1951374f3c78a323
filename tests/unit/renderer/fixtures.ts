import type { LayerSpectrum, ModelSummary, TargetRow } from '../../../src/shared/api'

/** A BERT-shaped model as openModel describes it: `blocks` encoder layers of hidden 8, intermediate 32. */
export function bertSummary(blocks = 2, hidden = 8, intermediate = 32): ModelSummary {
  const targets: TargetRow[] = []
  for (let block = 0; block < blocks; block++) {
    const base = `bert.encoder.layer.${block}`
    targets.push(
      { name: `${base}.attention.self.query`, block, role: 'query', shape: [hidden, hidden] },
      { name: `${base}.attention.self.key`, block, role: 'key', shape: [hidden, hidden] },
      { name: `${base}.attention.self.value`, block, role: 'value', shape: [hidden, hidden] },
      { name: `${base}.attention.output.dense`, block, role: 'attention.output', shape: [hidden, hidden] },
      { name: `${base}.intermediate.dense`, block, role: 'mlp.in', shape: [intermediate, hidden] },
      { name: `${base}.output.dense`, block, role: 'mlp.out', shape: [hidden, intermediate] }
    )
  }
  return {
    path: '/models/tiny-bert',
    format: 'safetensors',
    modelType: 'bert',
    architectures: ['BertForSequenceClassification'],
    parameters: 123_456,
    dtypes: { F32: 123_456 },
    layers: blocks,
    hiddenSize: hidden,
    targets,
    defaultTargets: '\\.attention\\.self\\.(query|value)$',
    headLr: 1e-3,
    tokenizer: true,
    imageProcessor: false
  }
}

/** A GPT-2-shaped model: fused c_attn cut into q, k, v targets. */
export function gpt2Summary(blocks = 2, hidden = 32): ModelSummary {
  const targets: TargetRow[] = []
  for (let block = 0; block < blocks; block++) {
    const base = `transformer.h.${block}`
    targets.push(
      { name: `${base}.attn.c_attn.q`, block, role: 'query', shape: [hidden, hidden] },
      { name: `${base}.attn.c_attn.k`, block, role: 'key', shape: [hidden, hidden] },
      { name: `${base}.attn.c_attn.v`, block, role: 'value', shape: [hidden, hidden] },
      { name: `${base}.attn.c_proj`, block, role: 'attention.output', shape: [hidden, hidden] },
      { name: `${base}.mlp.c_fc`, block, role: 'mlp.in', shape: [4 * hidden, hidden] },
      { name: `${base}.mlp.c_proj`, block, role: 'mlp.out', shape: [hidden, 4 * hidden] }
    )
  }
  return {
    path: '/models/tiny-gpt2',
    format: 'safetensors',
    modelType: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    parameters: 100_000,
    dtypes: { F32: 100_000 },
    layers: blocks,
    hiddenSize: hidden,
    targets,
    defaultTargets: '\\.attn\\.c_attn\\.[qv]$',
    tokenizer: true,
    imageProcessor: false
  }
}

/** A spectrum as analyseLayers reports it, with geometric singular values from 1 down. */
export function spectrum(name: string, shape: [number, number], ratio = 0.8): LayerSpectrum {
  const r = Math.min(...shape)
  const values = Array.from({ length: r }, (_, i) => ratio ** i)
  const sum = values.reduce((a, b) => a + b, 0)
  const entropy = -values.reduce((acc, v) => acc + (v / sum) * Math.log(v / sum), 0)
  return {
    name,
    tensor: name.replace(/\.[qkv]$/, ''),
    shape,
    dtype: 'F32',
    singularValues: values,
    effectiveRank: Math.exp(entropy),
    stableRank: values.reduce((a, v) => a + v * v, 0) / (values[0]! * values[0]!),
    spectralNorm: values[0]!,
    conditionNumber: values[0]! / values[r - 1]!,
    bottomK: Math.max(1, Math.round(0.1 * r)),
    bottomEnergyShare: 0.01
  }
}
