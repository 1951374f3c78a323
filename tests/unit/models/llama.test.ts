import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { describeModel, openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { decoderSettings, inverseFrequencies, llamaFamily, mistralFamily, qwen2Family, rotaryTables } from '../../../src/main/engine/models/llama'
import { familyFor } from '../../../src/main/engine/models/registry'
import type { BuildOptions, BuiltModel, ModelFamily, ModelTask } from '../../../src/main/engine/models/types'
import { hfReference } from '../../helpers/hfref'
import { tempDir } from '../../helpers/paths'
import {
  adapterMethods,
  bandAdapters,
  fixtureTextBatch,
  hfFixtureData,
  logitsOf,
  maxAbsDifference,
  methodAdapters,
  paddedBatch,
  ReferenceCases,
  rewriteCheckpoint,
  textJob,
  writeHead,
  type ForwardJob,
  type TestAdapters,
  type TextBatch
} from './hfModels'

// The Llama-style decoders (Llama, Mistral, Qwen2: one decoder with settings) against the real transformers
// 4.44 (hf_models.py: AutoModelForCausalLM / AutoModelForSequenceClassification in float64) on hfref's
// llama-lm (GQA 4/2, rope_theta 20000 with llama3 scaling whose three bands all occur, untied lm_head) and
// qwen2-lm (q/k/v biases, rope_theta 1e6, tied embeddings), and on checkpoints save_pretrained writes here
// (tests/reference/hf_decoder_save.py): Mistral with a sliding window shorter than the batch and its own
// head_dim, Llama with attention_bias + mlp_bias and linear rope scaling, a bare LlamaModel.

const scratch = tempDir('llama')
const classes = [2, 0, 1, 1]
const regressionTargets = [1.5, -0.5, 0.5, 0.25]
const cases = new ReferenceCases('decoder')

let llamaDir: string
let qwenDir: string
let llama: TensorSource
let qwen: TensorSource
let llamaBatch: TextBatch
let qwenBatch: TextBatch
const storedLogits = new Map<string, number[]>()
const opened: TensorSource[] = []

/** Causal-LM labels: the ids, -100 on padding. */
const lmLabels = (batch: TextBatch): number[][] => batch.rows.map((row, r) => row.map((id, j) => (batch.maskRows[r]![j] ? id : -100)))

function labelsFor(task: ModelTask, batch: TextBatch): { labels: () => tf.Tensor; job: Pick<ForwardJob, 'labels'> } {
  if (task === 'causal-lm') {
    const rows = lmLabels(batch)
    return { labels: () => tf.tensor2d(rows, undefined, 'int32'), job: { labels: rows } }
  }
  if (task === 'regression') return { labels: () => tf.tensor1d(regressionTargets), job: { labels: regressionTargets } }
  return { labels: () => tf.tensor1d(classes, 'int32'), job: { labels: classes } }
}

async function addCase(
  name: string,
  family: ModelFamily,
  source: TensorSource,
  dir: string,
  batch: TextBatch,
  options: BuildOptions,
  job: Partial<ForwardJob> = {},
  adapters?: TestAdapters
): Promise<BuiltModel> {
  const model = await family.build(source, source.config!, { ...options, ...(adapters && { linears: adapters.linears }) })
  const { labels, job: labelJob } = labelsFor(options.task, batch)
  const headFile = model.head.created ? { head_file: await writeHead(model, join(scratch, `${name}-head.safetensors`)) } : {}
  return cases.add(name, { model, inputs: batch, task: options.task, labels, adapters, job: { model: dir, task: options.task, ...textJob(batch), ...labelJob, ...headFile, ...job } })
}

/** Tiny configs for the checkpoints written here (hidden 32, 2 layers), each exercising what the fixtures do not. */
const mistralConfig = {
  model_type: 'mistral', vocab_size: 1064, hidden_size: 32, intermediate_size: 37, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 1, head_dim: 12, sliding_window: 5, rope_theta: 10000, rms_norm_eps: 1e-6, max_position_embeddings: 64, pad_token_id: 0
}
const llamaBiasConfig = {
  model_type: 'llama', vocab_size: 1064, hidden_size: 32, intermediate_size: 37, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 4, attention_bias: true, mlp_bias: true, rope_theta: 500, rope_scaling: { type: 'linear', factor: 2.5 },
  rms_norm_eps: 1e-5, tie_word_embeddings: true, num_labels: 3, pad_token_id: 0
}

interface Saved {
  class: string
  tensors: string[]
}

beforeAll(async () => {
  await selectBackend('wasm')
  const llamaData = hfFixtureData('llama-lm')
  const qwenData = hfFixtureData('qwen2-lm')
  llamaDir = llamaData.dir
  qwenDir = qwenData.dir
  storedLogits.set('llama-lm', llamaData.arrays.logits!.values)
  storedLogits.set('qwen2-lm', qwenData.arrays.logits!.values)
  llamaBatch = fixtureTextBatch(llamaData.arrays)
  qwenBatch = fixtureTextBatch(qwenData.arrays)
  llama = await openCheckpoint(llamaDir)
  qwen = await openCheckpoint(qwenDir)
  // The pad ids (llama-lm pads with eos 0, qwen2-lm with <|endoftext|> 1062) never occur inside a text, so
  // transformers' pad-id pooling and the engine's mask pooling pick the same token.
  for (const [batch, pad] of [[llamaBatch, 0], [qwenBatch, 1062]] as const) {
    for (const [r, row] of batch.rows.entries()) expect(row.some((id, j) => id === pad && batch.maskRows[r]![j] === 1)).toBe(false)
  }

  const mistralDir = tempDir('mistral-window')
  const llamaBiasDir = tempDir('llama-bias-cls')
  const saved = hfReference<{ results: Saved[] }>('hf_decoder.py', [], {
    jobs: [
      { kind: 'save', out: mistralDir, config: mistralConfig, class: 'causal-lm', seed: 3 },
      { kind: 'save', out: llamaBiasDir, config: llamaBiasConfig, class: 'classification', seed: 4 }
    ]
  }).results
  expect(saved.map((s) => s.class)).toEqual(['MistralForCausalLM', 'LlamaForSequenceClassification'])
  expect(saved[1]!.tensors).toContain('model.layers.0.mlp.down_proj.bias')
  expect(saved[1]!.tensors).toContain('score.weight')

  await addCase('llama-lm', llamaFamily, llama, llamaDir, llamaBatch, { task: 'causal-lm' })
  await addCase('qwen2-lm', qwen2Family, qwen, qwenDir, qwenBatch, { task: 'causal-lm' })
  const mistral = await openCheckpoint(mistralDir)
  opened.push(mistral)
  // Rows of 18 tokens with a window of 5: most positions see only part of their prefix. In float32, as
  // transformers runs by default: in float64 its eager Mistral mask turns rows with more padding than the
  // window into NaN (every key of a padded query masked twice: −1.8e308 + −1.8e308 = −∞).
  await addCase('mistral-window', mistralFamily, mistral, mistralDir, llamaBatch, { task: 'causal-lm' }, { dtype: 'float32' })
  const llamaBias = await openCheckpoint(llamaBiasDir)
  opened.push(llamaBias)
  await addCase('llama-bias-cls', llamaFamily, llamaBias, llamaBiasDir, llamaBatch, { task: 'classification' }, { param_grads: ['score.weight'] })
  await addCase('new-head', llamaFamily, llama, llamaDir, llamaBatch, { task: 'classification', numLabels: 3, seed: 7 }, { num_labels: 3, config: { pad_token_id: 0 }, param_grads: ['score.weight'] })
  await addCase('qwen2-regression', qwen2Family, qwen, qwenDir, qwenBatch, { task: 'regression', seed: 5 }, { num_labels: 1, config: { pad_token_id: 1062 } })

  // δ on q_proj (a grouped-query projection) and down_proj, for the LM and for classification.
  const chosen = llamaFamily.targets(llama.config!, llama.tensors).filter((t) => t.name === 'model.layers.0.self_attn.q_proj' || t.name === 'model.layers.1.mlp.down_proj')
  expect(chosen).toHaveLength(2)
  await addCase('band-lm', llamaFamily, llama, llamaDir, llamaBatch, { task: 'causal-lm' }, { adapters: join(scratch, 'band-lm.safetensors') }, await bandAdapters(llama, chosen, 4, join(scratch, 'band-lm.safetensors'), 0.2))
  const qwenChosen = qwen2Family.targets(qwen.config!, qwen.tensors).filter((t) => t.name === 'model.layers.1.self_attn.k_proj' || t.name === 'model.layers.0.mlp.gate_proj')
  await addCase('band-qwen2', qwen2Family, qwen, qwenDir, qwenBatch, { task: 'causal-lm' }, { adapters: join(scratch, 'band-qwen2.safetensors') }, await bandAdapters(qwen, qwenChosen, 4, join(scratch, 'band-qwen2.safetensors'), 0.2))
  // engine/peft's methods on v_proj (biased in Qwen2) and up_proj.
  const methodTargets = qwen2Family.targets(qwen.config!, qwen.tensors).filter((t) => t.name === 'model.layers.0.self_attn.v_proj' || t.name === 'model.layers.1.mlp.up_proj')
  for (const method of adapterMethods) {
    const adapters = await methodAdapters(qwen, methodTargets, method, join(scratch, `${method}.safetensors`))
    // The LM head's loss cut into chunks of 7 positions (uneven: the rows' positions are not a multiple of 7).
    await addCase(method, qwen2Family, qwen, qwenDir, qwenBatch, { task: 'causal-lm', lossChunkTokens: 7 }, adapters.job, adapters)
  }
  // Full fine-tuning: gradients of the norms, a grouped k_proj and the untied lm_head.
  // The loss in chunks of 5 positions: lm_head's gradient is summed over the chunks.
  await addCase('full', llamaFamily, llama, llamaDir, llamaBatch, { task: 'causal-lm', trainAll: true, lossChunkTokens: 5 }, { param_grads: ['model.norm.weight', 'model.layers.1.self_attn.k_proj.weight', 'model.layers.0.input_layernorm.weight', 'lm_head.weight'] })
  // Qwen2 ties lm_head to embed_tokens: the table's gradient is the embedding's plus the chunked head's.
  await addCase('full-tied', qwen2Family, qwen, qwenDir, qwenBatch, { task: 'causal-lm', trainAll: true, lossChunkTokens: 4 }, { param_grads: ['model.embed_tokens.weight', 'model.norm.weight'] })

  // A bare LlamaModel checkpoint: llama-lm's decoder without the model. prefix (and without its lm_head).
  const bareDir = await rewriteCheckpoint(llamaDir, 'llama-bare', (name) => (name === 'lm_head.weight' ? undefined : name.replace(/^model\./, '')))
  const bare = await openCheckpoint(bareDir)
  opened.push(bare)
  await addCase('bare', llamaFamily, bare, bareDir, llamaBatch, { task: 'classification', numLabels: 3, seed: 7 }, { num_labels: 3, config: { pad_token_id: 0 } })

  cases.run()
}, 180_000)

afterAll(async () => {
  cases.dispose()
  for (const source of [llama, qwen, ...opened]) await source?.close()
})

describe('Llama-style decoders: targets and settings', () => {
  it("lists PEFT's seven projections per layer with GQA's narrower k/v and the family's biases", () => {
    const targets = llamaFamily.targets(llama.config!, llama.tensors)
    expect(targets).toHaveLength(14)
    expect(targets.slice(0, 7).map((t) => [t.name, t.role, t.outFeatures, t.inFeatures, t.biasTensor])).toEqual([
      ['model.layers.0.self_attn.q_proj', 'query', 32, 32, undefined],
      ['model.layers.0.self_attn.k_proj', 'key', 16, 32, undefined],
      ['model.layers.0.self_attn.v_proj', 'value', 16, 32, undefined],
      ['model.layers.0.self_attn.o_proj', 'attention.output', 32, 32, undefined],
      ['model.layers.0.mlp.gate_proj', 'mlp.in', 37, 32, undefined],
      ['model.layers.0.mlp.up_proj', 'mlp.in', 37, 32, undefined],
      ['model.layers.0.mlp.down_proj', 'mlp.out', 32, 37, undefined]
    ])
    for (const target of targets) expect(llama.tensors.find((t) => t.name === target.weightTensor)!.shape).toEqual([target.outFeatures, target.inFeatures])
    expect(targets.filter((t) => llamaFamily.defaultTargets.test(t.name)).map((t) => t.name)).toEqual([0, 1].flatMap((b) => [`model.layers.${b}.self_attn.q_proj`, `model.layers.${b}.self_attn.v_proj`]))
    // Qwen2: q, k and v carry biases, o_proj none.
    const qwenTargets = qwen2Family.targets(qwen.config!, qwen.tensors)
    expect(qwenTargets.slice(0, 4).map((t) => t.biasTensor)).toEqual(['model.layers.0.self_attn.q_proj.bias', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.bias', undefined])
    expect(familyFor(llama.config)).toBe(llamaFamily)
    expect(familyFor(qwen.config)).toBe(qwen2Family)
  })

  it('reads each config class\'s defaults and refuses what transformers would not run the same way, naming the field', () => {
    const describe = (raw: Record<string, unknown>) => describeModel('/m/config.json', raw)
    const base = { hidden_size: 32, num_attention_heads: 4, num_hidden_layers: 2, intermediate_size: 37 }
    const llamaDefaults = decoderSettings(describe({ model_type: 'llama', ...base }))
    expect([llamaDefaults.numKvHeads, llamaDefaults.tieWordEmbeddings, llamaDefaults.ropeTheta, llamaDefaults.rmsNormEps, llamaDefaults.activation]).toEqual([4, false, 10000, 1e-6, 'silu'])
    // MistralConfig's default window is 4096; null turns it off.
    expect(decoderSettings(describe({ model_type: 'mistral', ...base })).slidingWindow).toBe(4096)
    expect(decoderSettings(describe({ model_type: 'mistral', ...base, sliding_window: null })).slidingWindow).toBeUndefined()
    expect(() => decoderSettings(describe({ model_type: 'llama', ...base, num_key_value_heads: 3 }))).toThrow(/\/m\/config\.json: field "num_key_value_heads" .*must divide num_attention_heads/)
    expect(() => decoderSettings(describe({ model_type: 'llama', ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }))).toThrow(/field "rope_scaling" has rope_type "yarn"; SiVA computes default, linear and llama3/)
    expect(() => decoderSettings(describe({ model_type: 'qwen2', ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }))).toThrow(/field "rope_scaling" is set; transformers 4.44 ignores rope_scaling for qwen2/)
    expect(decoderSettings(describe({ model_type: 'qwen2', ...base, rope_scaling: null })).ropeScaling).toEqual({ type: 'default' })
    expect(() => decoderSettings(describe({ model_type: 'qwen2', ...base, use_sliding_window: true }))).toThrow(/field "use_sliding_window" is true; transformers applies a Qwen2 sliding window only with flash attention/)
    expect(() => decoderSettings(describe({ model_type: 'llama', ...base, head_dim: 16 }))).toThrow(/field "head_dim" says 16, but a llama model's heads are .* 8 wide/)
  })

  it("rotary tables equal transformers' LlamaRotaryEmbedding in float32 (default, linear, llama3 with all three bands), far out too", () => {
    const positions = [0, 1, 17, 1000, 131071]
    const configs = [
      { model_type: 'llama', hidden_size: 64, num_attention_heads: 2, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } },
      { model_type: 'llama', hidden_size: 32, num_attention_heads: 4, rope_theta: 20000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 128 } },
      { model_type: 'llama', hidden_size: 128, num_attention_heads: 2, rope_theta: 1000000 },
      { model_type: 'llama', hidden_size: 32, num_attention_heads: 4, rope_theta: 500, rope_scaling: { type: 'linear', factor: 2.5 } }
    ]
    const answers = hfReference<{ results: { inv_freq: number[]; cos: number[][]; sin: number[][] }[] }>('hf_decoder.py', [], { jobs: configs.map((config) => ({ kind: 'rope', config, positions })) }).results
    for (const [i, config] of configs.entries()) {
      const settings = decoderSettings(describeModel('/m/config.json', config))
      const inv = inverseFrequencies(settings)
      expect(Array.from(inv), `${JSON.stringify(config)}`).toEqual(answers[i]!.inv_freq)
      const dim = settings.headDim
      const { cos, sin } = rotaryTables(inv, positions.at(-1)! + 1)
      for (const [p, position] of positions.entries()) {
        // torch's float32 cos/sin may differ from the correctly rounded value in the last bit.
        expect(maxAbsDifference(cos.subarray(position * dim, (position + 1) * dim), answers[i]!.cos[p]!)).toBeLessThanOrEqual(2 ** -23)
        expect(maxAbsDifference(sin.subarray(position * dim, (position + 1) * dim), answers[i]!.sin[p]!)).toBeLessThanOrEqual(2 ** -23)
      }
    }
  })
})

describe('Llama-style decoders: numerics against transformers', () => {
  it('Llama causal LM (LlamaForCausalLM: GQA, llama3 rope, untied lm_head): logits and shifted loss', () => {
    const model = cases.model('llama-lm')
    expect([model.headVariables, model.baseVariables, model.head]).toEqual([[], [], { created: false, tensors: [] }])
    const expected = cases.compare('llama-lm', { logits: 1e-4, loss: 1e-5 })
    expect([expected.class, expected.logits.shape]).toEqual(['LlamaForCausalLM', [4, llamaBatch.length, 1064]])
    expect(maxAbsDifference(logitsOf(model, llamaBatch), storedLogits.get('llama-lm')!)).toBeLessThan(1e-4)
  })

  it('Qwen2 causal LM (q/k/v biases, tied embeddings, rope_theta 1e6)', () => {
    const expected = cases.compare('qwen2-lm', { logits: 1e-4, loss: 1e-5 })
    expect(expected.class).toBe('Qwen2ForCausalLM')
    expect(maxAbsDifference(logitsOf(cases.model('qwen2-lm'), qwenBatch), storedLogits.get('qwen2-lm')!)).toBeLessThan(1e-4)
  })

  it("Mistral with a sliding window of 5 over 18-token rows, one key/value head and head_dim 12 ≠ hidden / heads", () => {
    const expected = cases.compare('mistral-window', { logits: 1e-4, loss: 1e-5 })
    expect(expected.class).toBe('MistralForCausalLM')
  })

  it("sequence classification: the checkpoint's own score head on Llama with attention and MLP biases and linear rope; a new head; Qwen2 regression", () => {
    expect(cases.model('llama-bias-cls').head).toEqual({ created: false, tensors: ['score.weight'] })
    const own = cases.compare('llama-bias-cls', { logits: 1e-5, loss: 1e-5 })
    expect([own.class, own.loading_info.missing_keys]).toEqual(['LlamaForSequenceClassification', []])
    cases.compareGradients('llama-bias-cls', { tensors: ['score.weight'], loss: 1e-5 })
    const fresh = cases.compare('new-head', { logits: 1e-5, loss: 1e-5 })
    expect(fresh.loading_info.missing_keys).toEqual(['score.weight'])
    cases.compareGradients('new-head', { tensors: ['score.weight'], loss: 1e-5 })
    const regression = cases.compare('qwen2-regression', { logits: 1e-5, loss: 1e-5 })
    expect(regression.problem_type).toBe('regression')
  })

  it('gradients with respect to SiVA-style δ on q_proj and down_proj (Llama), k_proj and gate_proj (Qwen2)', () => {
    cases.compareGradients('band-lm', { loss: 1e-5 })
    cases.compareGradients('band-qwen2', { loss: 1e-5 })
  })

  it('every adapter method of engine/peft (siva, svdiff, topk, lora) on a biased v_proj and up_proj: loss and gradients', () => {
    for (const method of adapterMethods) {
      cases.compare(method, { logits: 1e-4, loss: 1e-5 })
      cases.compareGradients(method, { loss: 1e-5 })
    }
    expect(Math.abs(cases.result('siva').loss! - cases.result('qwen2-lm').loss!)).toBeGreaterThan(1e-4)
  })

  it('full fine-tuning: gradients of RMSNorm weights, a grouped k_proj and the untied lm_head', () => {
    cases.compare('full', { logits: 1e-4, loss: 1e-5 })
    cases.compareGradients('full', { tensors: ['model.norm.weight', 'model.layers.1.self_attn.k_proj.weight', 'model.layers.0.input_layernorm.weight', 'lm_head.weight'], loss: 1e-5 })
  })

  it("full fine-tuning of Qwen2's tied embeddings: the table's gradient from the embedding and the chunked LM head together", () => {
    cases.compare('full-tied', { logits: 1e-4, loss: 1e-5 })
    cases.compareGradients('full-tied', { tensors: ['model.embed_tokens.weight', 'model.norm.weight'], loss: 1e-5 })
  })

  it('a bare LlamaModel checkpoint (no model. prefix) classifies as transformers does with the same new head', () => {
    cases.compare('bare', { logits: 1e-5 })
    const batch = paddedBatch([[5, 6, 7]], 0)
    expect(logitsOf(cases.model('bare'), batch).length).toBe(3)
  })
})
