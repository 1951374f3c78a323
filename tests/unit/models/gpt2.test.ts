import * as tf from '@tensorflow/tfjs'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { openCheckpoint, writeSafetensors, type TensorSource, type TensorToWrite } from '../../../src/main/engine/io'
import { gpt2Family } from '../../../src/main/engine/models/gpt2'
import { taskLoss } from '../../../src/main/engine/models/loss'
import { seededNormal } from '../../../src/main/engine/models/ops'
import type { BuildOptions, BuiltModel, ModelTask } from '../../../src/main/engine/models/types'
import { tempDir, tinyGpt2 } from '../../helpers/paths'
import {
  adapterMethods,
  bandAdapters,
  fixtureTextBatch,
  hfFixtureData,
  logitsOf,
  maxAbsDifference,
  methodAdapters,
  ReferenceCases,
  rewriteCheckpoint,
  textJob,
  writeHead,
  type ForwardJob,
  type TestAdapters,
  type TextBatch
} from './hfModels'

// Numerics against the real transformers (GPT2LMHeadModel, GPT2ForSequenceClassification; hf_models.py) on
// hfref's checkpoints: gpt2-lm (no pad id, as gpt2), gpt2-cls (its own score head, pad = eos), gpt2-lm-f16,
// with the inputs transformers' GPT2Tokenizer made of corpus.EVAL_TEXTS (right-padded with eos, masked). Targets
// and lifetime on the real hf-internal-testing/tiny-random-gpt2 (5 blocks, a stray intermediate_size).

const classes = [2, 0, 1, 1]
const regressionTargets = [1.5, -0.5, 0.5, 0.25]
const scratch = tempDir('gpt2')

let lmDir: string
let clsDir: string
let lmSource: TensorSource
let clsSource: TensorSource
/** The fixture's batch: 4 texts without an end-of-text token, padded with it (id 0) on the right. */
let batch: TextBatch
/** Causal-LM labels: the ids, -100 on padding. */
let lmLabels: number[][]
/** The logits transformers stored in each fixture's reference.npz (float32, as it runs by default). */
const storedLogits = new Map<string, number[]>()

function labels(task: ModelTask): { labels: () => tf.Tensor; job: Pick<ForwardJob, 'labels'> } {
  if (task === 'causal-lm') return { labels: () => tf.tensor2d(lmLabels, undefined, 'int32'), job: { labels: lmLabels } }
  if (task === 'regression') return { labels: () => tf.tensor1d(regressionTargets), job: { labels: regressionTargets } }
  return { labels: () => tf.tensor1d(classes, 'int32'), job: { labels: classes } }
}

async function build(source: TensorSource, options: BuildOptions): Promise<BuiltModel> {
  return gpt2Family.build(source, source.config!, options)
}

// Every model the numerics compare, built once; transformers' answers to all of them from one python run.
const cases = new ReferenceCases('GPT-2')

/**
 * The engine's model on `source` and transformers' class on `dir`, both given the fixture's batch and labels;
 * a head the engine created is written for the reference to load in place of transformers' random one.
 */
async function addCase(name: string, source: TensorSource, dir: string, options: BuildOptions, job: Partial<ForwardJob> = {}, adapters?: TestAdapters): Promise<BuiltModel> {
  const model = await build(source, { ...options, ...(adapters && { linears: adapters.linears }) })
  const { labels: engineLabels, job: labelJob } = labels(options.task)
  const headFile = model.head.created ? { head_file: await writeHead(model, join(scratch, `${name}-head.safetensors`)) } : {}
  return cases.add(name, { model, inputs: batch, task: options.task, labels: engineLabels, adapters, job: { model: dir, task: options.task, ...textJob(batch), ...labelJob, ...headFile, ...job } })
}

beforeAll(async () => {
  // The wasm backend as training runs it, with the engine's own matmul: fidelity is checked through it.
  await selectBackend('wasm')
  const lm = hfFixtureData('gpt2-lm')
  const cls = hfFixtureData('gpt2-cls')
  const f16 = hfFixtureData('gpt2-lm-f16')
  lmDir = lm.dir
  clsDir = cls.dir
  for (const [name, data] of [['gpt2-lm', lm], ['gpt2-cls', cls], ['gpt2-lm-f16', f16]] as const) storedLogits.set(name, data.arrays.logits!.values)
  batch = fixtureTextBatch(lm.arrays)
  expect(fixtureTextBatch(cls.arrays).rows).toEqual(batch.rows)
  lmLabels = batch.rows.map((row, r) => row.map((id, j) => (batch.maskRows[r]![j] ? id : -100)))
  lmSource = await openCheckpoint(lmDir)
  clsSource = await openCheckpoint(clsDir)
  // No end-of-text (id 0, gpt2-cls's pad id) inside a text: transformers' pad-id pooling and the engine's
  // mask pooling pick the same token. Four different lengths, one row unpadded.
  expect([lmSource.config!.raw.eos_token_id, lmSource.config!.raw.pad_token_id, clsSource.config!.raw.pad_token_id]).toEqual([0, undefined, 0])
  for (const [r, row] of batch.rows.entries()) expect(row.some((id, j) => id === 0 && batch.maskRows[r]![j] === 1)).toBe(false)
  expect(batch.maskRows.map((m) => m.reduce((a, b) => a + b, 0))).toEqual([9, 13, 18, 15])

  await addCase('lm', lmSource, lmDir, { task: 'causal-lm' })
  const f16Source = await openCheckpoint(f16.dir)
  await addCase('lm-f16', f16Source, f16.dir, { task: 'causal-lm' })
  await f16Source.close()
  await addCase('new-head', lmSource, lmDir, { task: 'classification', numLabels: 3, seed: 7 }, { num_labels: 3, config: { pad_token_id: 0 }, param_grads: ['score.weight'] })
  await addCase('own-head', clsSource, clsDir, { task: 'classification' }, { param_grads: ['score.weight'] })
  await addCase('regression', clsSource, clsDir, { task: 'regression', seed: 5 })

  // SiVA-style δ on a fused q block and on c_fc, for the LM and for classification with the checkpoint's head.
  const chosen = gpt2Family.targets(lmSource.config!, lmSource.tensors).filter((t) => t.name === 'transformer.h.0.attn.c_attn.q' || t.name === 'transformer.h.1.mlp.c_fc')
  expect(chosen).toHaveLength(2)
  for (const [task, dir, source] of [['causal-lm', lmDir, lmSource], ['classification', clsDir, clsSource]] as const) {
    const file = join(scratch, `band-${task}.safetensors`)
    await addCase(`band-${task}`, source, dir, { task }, { adapters: file, ...(task === 'classification' && { param_grads: ['score.weight'] }) }, await bandAdapters(source, chosen, 4, file, 0.2))
  }
  // engine/peft's methods on a fused k block and on the attention output.
  const methodTargets = gpt2Family.targets(lmSource.config!, lmSource.tensors).filter((t) => t.name === 'transformer.h.0.attn.c_attn.k' || t.name === 'transformer.h.1.attn.c_proj')
  for (const method of adapterMethods) {
    const adapters = await methodAdapters(lmSource, methodTargets, method, join(scratch, `${method}.safetensors`))
    await addCase(method, lmSource, lmDir, { task: 'causal-lm' }, adapters.job, adapters)
  }

  // A bare GPT2Model checkpoint: gpt2-lm's tensors without the transformer. prefix.
  const bareDir = await rewriteCheckpoint(lmDir, 'gpt2-bare', (name) => name.replace(/^transformer\./, ''))
  const bare = await openCheckpoint(bareDir)
  expect(bare.tensors.some((t) => t.name.startsWith('transformer.'))).toBe(false)
  await addCase('bare', bare, bareDir, { task: 'causal-lm' })
  await bare.close()

  cases.run()
}, 120_000)

afterAll(async () => {
  cases.dispose()
  await lmSource?.close()
  await clsSource?.close()
})

describe('GPT-2 family: targets', () => {
  it('lists q, k, v cut out of the fused Conv1D c_attn, then c_proj, c_fc, mlp.c_proj — six per block', async () => {
    const source = await openCheckpoint(tinyGpt2)
    const targets = gpt2Family.targets(source.config!)
    expect(targets).toHaveLength(30)
    expect(targets.slice(0, 6).map((t) => [t.name, t.role, t.outFeatures, t.inFeatures, t.slice])).toEqual([
      ['transformer.h.0.attn.c_attn.q', 'query', 32, 32, [0, 32]],
      ['transformer.h.0.attn.c_attn.k', 'key', 32, 32, [32, 64]],
      ['transformer.h.0.attn.c_attn.v', 'value', 32, 32, [64, 96]],
      ['transformer.h.0.attn.c_proj', 'attention.output', 32, 32, undefined],
      // n_inner is null: 4·n_embd, whatever the config's stray intermediate_size (37) says.
      ['transformer.h.0.mlp.c_fc', 'mlp.in', 128, 32, undefined],
      ['transformer.h.0.mlp.c_proj', 'mlp.out', 32, 128, undefined]
    ])
    for (const target of targets) {
      expect(target.conv1d).toBe(true)
      const module = target.slice ? target.name.slice(0, -2) : target.name
      expect([target.weightTensor, target.biasTensor]).toEqual([`${module}.weight`, `${module}.bias`])
      const stored = source.tensors.find((t) => t.name === target.weightTensor)!.shape
      // Conv1D: [in, out], c_attn's output axis three targets wide.
      expect(stored).toEqual([target.inFeatures, target.slice ? 3 * target.outFeatures : target.outFeatures])
      expect(source.tensors.find((t) => t.name === target.biasTensor)!.shape).toEqual([stored[1]])
    }
    expect(targets.map((t) => t.block)).toEqual([0, 1, 2, 3, 4].flatMap((b) => Array<number>(6).fill(b)))
    expect(targets.filter((t) => gpt2Family.defaultTargets.test(t.name)).map((t) => t.name)).toEqual(
      [0, 1, 2, 3, 4].flatMap((b) => [`transformer.h.${b}.attn.c_attn.q`, `transformer.h.${b}.attn.c_attn.v`])
    )
    // A config naming only the bare GPT2Model: tensors without the prefix, target names unchanged.
    const bare = gpt2Family.targets({ ...source.config!, architectures: ['GPT2Model'] })
    expect([bare[4]!.name, bare[4]!.weightTensor]).toEqual(['transformer.h.0.mlp.c_fc', 'h.0.mlp.c_fc.weight'])
    await source.close()
  })
})

describe('GPT-2 family: numerics against transformers', () => {
  it('causal LM (GPT2LMHeadModel): logits of the right-padded batch and its shifted next-token loss', () => {
    const model = cases.model('lm')
    expect(model.headVariables).toEqual([])
    expect(model.baseVariables).toEqual([])
    expect(model.head).toEqual({ created: false, tensors: [] })
    const expected = cases.compare('lm', { logits: 1e-4, loss: 1e-5 })
    expect([expected.class, expected.logits.shape]).toEqual(['GPT2LMHeadModel', [4, batch.length, 1063]])
    // And the logits transformers stored when it wrote the fixture (float32, its default).
    expect(maxAbsDifference(logitsOf(model, batch), storedLogits.get('gpt2-lm')!)).toBeLessThan(1e-4)
  })

  it('an F16 checkpoint (gpt2-lm-f16): the stored half-precision weights, read exactly, give transformers\' logits and loss', () => {
    cases.compare('lm-f16', { logits: 1e-4, loss: 1e-5 })
    expect(maxAbsDifference(logitsOf(cases.model('lm-f16'), batch), storedLogits.get('gpt2-lm-f16')!)).toBeLessThan(1e-4)
    // F16 rounding moved the logits: the two checkpoints are not the same model.
    expect(maxAbsDifference(storedLogits.get('gpt2-lm-f16')!, storedLogits.get('gpt2-lm')!)).toBeGreaterThan(1e-4)
  })

  it('sequence classification from an LM checkpoint: a new score head (no bias) on the last real token; cross-entropy; its gradient', async () => {
    const variablesBefore = Object.keys(tf.engine().registeredVariables).length
    const again = await build(lmSource, { task: 'classification', numLabels: 3, seed: 7 })
    try {
      // Frozen weights are plain tensors: the head is the only variable made.
      expect(Object.keys(tf.engine().registeredVariables).length).toBe(variablesBefore + 1)
      expect(again.head).toEqual({ created: true, tensors: ['score.weight'] })
      expect(again.headVariables.map((v) => [v instanceof tf.Variable, v.trainable, v.shape])).toEqual([[true, true, [3, 32]]])
      // normal(0, initializer_range = 0.02)
      const head = again.headVariables[0]!.dataSync() as Float32Array
      const std = Math.sqrt(head.reduce((sum, x) => sum + x * x, 0) / head.length)
      expect(std).toBeGreaterThan(0.012)
      expect(std).toBeLessThan(0.028)
      // The same seed gives the same head: the one the reference was given.
      expect(Array.from(head)).toEqual(Array.from(cases.model('new-head').headVariables[0]!.dataSync()))
    } finally {
      again.dispose()
    }
    const expected = cases.compare('new-head', { logits: 1e-5, loss: 1e-5 })
    expect(expected.loading_info.missing_keys).toEqual(['score.weight'])
    cases.compareGradients('new-head', { tensors: ['score.weight'], loss: 1e-5 })
  })

  it("uses the checkpoint's own score.weight (gpt2-cls, 3 labels in config.json)", () => {
    const model = cases.model('own-head')
    expect(model.head).toEqual({ created: false, tensors: ['score.weight'] })
    expect(model.headVariables[0]!.shape).toEqual([3, 32])
    const expected = cases.compare('own-head', { logits: 1e-5, loss: 1e-5 })
    expect(expected.loading_info).toMatchObject({ missing_keys: [], unexpected_keys: [], mismatched_keys: [] })
    expect(maxAbsDifference(logitsOf(model, batch), storedLogits.get('gpt2-cls')!)).toBeLessThan(1e-5)
  })

  it('regression on a 3-label checkpoint: a new one-output head replaces the stored one; mean squared error', () => {
    const model = cases.model('regression')
    expect(model.head).toEqual({ created: true, tensors: ['score.weight'] })
    const logits = tf.tidy(() => model.forward(batch))
    expect(logits.shape).toEqual([4, 1])
    logits.dispose()
    const expected = cases.compare('regression', { logits: 1e-5, loss: 1e-5 })
    expect([expected.problem_type, expected.loading_info.mismatched_keys]).toEqual(['regression', ['score.weight']])
  })

  it('gradients with respect to SiVA-style δ on a fused q block and on c_fc (causal LM; classification with the head)', () => {
    cases.compareGradients('band-causal-lm', { loss: 1e-5 })
    cases.compareGradients('band-classification', { tensors: ['score.weight'], loss: 1e-5 })
  })

  it('every adapter method of engine/peft (siva, svdiff, topk, lora) on a fused k block and c_proj: loss and gradients', () => {
    for (const method of adapterMethods) {
      cases.compare(method, { logits: 1e-4, loss: 1e-5 })
      cases.compareGradients(method, { loss: 1e-5 })
    }
    // The adapters moved the model: the comparison is not of the checkpoint alone.
    expect(Math.abs(cases.result('siva').loss! - cases.result('lm').loss!)).toBeGreaterThan(1e-4)
  })

  it('loads a bare GPT2Model checkpoint (no transformer. prefix) to the logits transformers gives it', () => {
    cases.compare('bare', { logits: 1e-4, loss: 1e-5 })
    expect(maxAbsDifference(logitsOf(cases.model('bare'), batch), logitsOf(cases.model('lm'), batch))).toBe(0)
  })
})

describe('GPT-2 family: checkpoints and lifetime', () => {
  let source: TensorSource
  const tinyBatch = { batchSize: 2, length: 4, inputIds: Int32Array.from([5, 17, 42, 8, 9, 3, 0, 0]), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 0, 0]) }
  const tinyLabels = (): tf.Tensor => tf.tensor2d([[5, 17, 42, 8], [9, 3, -100, -100]], undefined, 'int32')
  beforeAll(async () => {
    source = await openCheckpoint(tinyGpt2)
  })
  afterAll(async () => {
    await source.close()
  })

  it("uses a checkpoint's own score.weight added to an LM checkpoint, its row count giving the classes", async () => {
    const dir = tempDir('gpt2-scored')
    const score = seededNormal(3 * 32, 0.5, 99)
    const tensors: TensorToWrite[] = source.tensors.map((info) => ({ name: info.name, dtype: info.dtype, shape: info.shape, data: () => source.readRaw(info.name) }))
    await writeSafetensors(join(dir, 'model.safetensors'), [...tensors, { name: 'score.weight', dtype: 'F32', shape: [3, 32], data: score }])
    await copyFile(join(tinyGpt2, 'config.json'), join(dir, 'config.json'))
    const scored = await openCheckpoint(dir)
    // No num_labels in config.json: the stored head says 3.
    const model = await build(scored, { task: 'classification' })
    try {
      expect(model.head).toEqual({ created: false, tensors: ['score.weight'] })
      expect(Array.from(model.headVariables[0]!.dataSync())).toEqual(Array.from(score))
    } finally {
      model.dispose()
      await scored.close()
    }
  })

  it('names the missing tensor when the checkpoint lacks one', async () => {
    const dir = await rewriteCheckpoint(tinyGpt2, 'gpt2-missing', (name) => (name === 'transformer.h.1.mlp.c_fc.weight' ? undefined : name))
    const broken = await openCheckpoint(dir)
    const before = tf.memory().numTensors
    await expect(build(broken, { task: 'causal-lm' })).rejects.toThrow(/no tensor transformer\.h\.1\.mlp\.c_fc\.weight \(needed for transformer\.h\.1\.mlp\.c_fc\)/)
    expect(tf.memory().numTensors).toBe(before)
    await broken.close()
  })

  it('full fine-tuning: every checkpoint tensor a variable, same logits, a gradient for each', async () => {
    const frozen = await build(source, { task: 'causal-lm' })
    const model = await build(source, { task: 'causal-lm', trainAll: true })
    try {
      expect([...model.baseTensors!].sort()).toEqual(source.tensors.map((t) => t.name).sort())
      for (const [i, variable] of model.baseVariables.entries()) {
        expect(variable.shape).toEqual(source.tensors.find((t) => t.name === model.baseTensors![i])!.shape)
      }
      expect(maxAbsDifference(logitsOf(model, tinyBatch), logitsOf(frozen, tinyBatch))).toBeLessThan(1e-5)
      const frozenLoss = tf.tidy(() => taskLoss('causal-lm', frozen.forward(tinyBatch), tinyLabels()).dataSync()[0]!)
      const { value, grads } = tf.variableGrads(() => taskLoss('causal-lm', model.forward(tinyBatch), tinyLabels()), model.baseVariables)
      expect(Math.abs(value.dataSync()[0]! - frozenLoss)).toBeLessThan(1e-5)
      for (const variable of model.baseVariables) {
        const gradient = grads[variable.name]!.dataSync()
        expect(gradient.every(Number.isFinite)).toBe(true)
        expect(gradient.some((g) => g !== 0), variable.name).toBe(true)
      }
      value.dispose()
      tf.dispose(Object.values(grads))
    } finally {
      model.dispose()
      frozen.dispose()
    }
  })

  it('leaks no tensor across forward passes, and dispose frees everything it made', async () => {
    const before = tf.memory().numTensors
    const model = await build(source, { task: 'classification', numLabels: 2 })
    logitsOf(model, tinyBatch)
    const afterFirst = tf.memory().numTensors
    for (let i = 0; i < 3; i++) logitsOf(model, tinyBatch)
    expect(tf.memory().numTensors).toBe(afterFirst)
    model.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('refuses inputs it cannot run, with the reason', async () => {
    const model = await build(source, { task: 'causal-lm' })
    try {
      expect(() => model.forward({ batchSize: 1, length: 2, inputIds: Int32Array.from([5, 1000]) })).toThrow(/token id 1000 is outside the vocabulary \(1000/)
      expect(() => model.forward({ batchSize: 1, length: 513, inputIds: new Int32Array(513) })).toThrow(/longer than the checkpoint's 512 positions/)
      await expect(build(source, { task: 'image-classification' })).rejects.toThrow(/task "image-classification" is not supported/)
      await expect(build(source, { task: 'causal-lm', linears: new Map([['h.0.attn.c_attn.q', (x: tf.Tensor2D) => x]]) })).rejects.toThrow(/not one of this model's targets/)
    } finally {
      model.dispose()
    }
  })
})
