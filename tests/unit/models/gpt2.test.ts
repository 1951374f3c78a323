import * as tf from '@tensorflow/tfjs'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint, writeSafetensors, type TensorSource, type TensorToWrite } from '../../../src/main/engine/io'
import { TextTokenizer } from '../../../src/main/engine/data'
import { gpt2Family } from '../../../src/main/engine/models/gpt2'
import { taskLoss } from '../../../src/main/engine/models/loss'
import { matMul, readLinear, seededNormal } from '../../../src/main/engine/models/ops'
import type { AdaptableLinear, BuildOptions, BuiltModel, LinearFn, ModelInputs, ModelTask } from '../../../src/main/engine/models/types'
import { tempDir, tinyGpt2 } from '../../helpers/paths'
import { runTorchReference } from './torchReference'
import { selectBackend } from '../../../src/main/engine/backend'

// The real hf-internal-testing/tiny-random-gpt2 checkpoint (5 blocks, n_embd 32, vocabulary 1000) against
// tests/reference/torch_gpt2.py, GPT-2 written from torch primitives.

const sentences = ['The quick brown fox jumps over the lazy dog.', 'Hello world!', 'Singular values, adapted.']

interface Batch extends ModelInputs {
  rows: number[][]
  maskRows: number[][]
}

interface Reference {
  logits: number[][] | number[][][]
  loss?: number
  grads?: Record<string, number[]>
}

let source: TensorSource
let batch: Batch
/** Causal-LM labels: the ids, -100 on padding. */
let lmLabels: number[][]
const classes = [2, 0, 1]
const scratch = tempDir('gpt2')

function reference(model: string, request: { task: ModelTask; labels?: unknown; headFile?: string; adapters?: string }): Reference {
  const args = [model, ...(request.adapters ? ['--adapters', request.adapters] : [])]
  return runTorchReference('torch_gpt2.py', args, {
    input_ids: batch.rows,
    attention_mask: batch.maskRows,
    task: request.task,
    labels: request.labels,
    head_file: request.headFile
  }) as Reference
}

function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length)
  let max = 0
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!))
  return max
}

/** ‖a − b‖ / ‖b‖. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length)
  let difference = 0
  let norm = 0
  for (let i = 0; i < expected.length; i++) {
    difference += (actual[i]! - expected[i]!) ** 2
    norm += expected[i]! ** 2
  }
  return Math.sqrt(difference / norm)
}

function logitsOf(model: BuiltModel, inputs: ModelInputs = batch): Float32Array {
  const logits = tf.tidy(() => model.forward(inputs))
  const values = logits.dataSync() as Float32Array
  logits.dispose()
  return values
}

function labelTensor(task: ModelTask): tf.Tensor {
  if (task === 'causal-lm') return tf.tensor2d(lmLabels, undefined, 'int32')
  return task === 'regression' ? tf.tensor1d(classes.map((c) => c - 0.5)) : tf.tensor1d(classes, 'int32')
}

function lossOf(model: BuiltModel, task: ModelTask): number {
  return tf.tidy(() => taskLoss(task, model.forward(batch), labelTensor(task)).dataSync()[0]!)
}

async function build(options: BuildOptions, from: TensorSource = source): Promise<BuiltModel> {
  return gpt2Family.build(from, from.config!, options)
}

/** Write the head's variables under their export names, for the reference to read. */
async function writeHead(model: BuiltModel, file: string): Promise<void> {
  const tensors = model.headVariables.map((variable, i) => ({
    name: model.head.tensors[i]!,
    dtype: 'F32' as const,
    shape: variable.shape,
    data: variable.dataSync() as Float32Array
  }))
  await writeSafetensors(file, tensors)
}

/** Columns of a seeded normal [rows, k] matrix made orthonormal (Gram–Schmidt): what SiVA's U_b and V_b look like. */
function orthonormalColumns(rows: number, k: number, seed: number): Float32Array {
  const values = Float64Array.from(seededNormal(rows * k, 1, seed))
  for (let j = 0; j < k; j++) {
    for (let p = 0; p < j; p++) {
      let dot = 0
      for (let i = 0; i < rows; i++) dot += values[i * k + j]! * values[i * k + p]!
      for (let i = 0; i < rows; i++) values[i * k + j]! -= dot * values[i * k + p]!
    }
    let norm = 0
    for (let i = 0; i < rows; i++) norm += values[i * k + j]! ** 2
    for (let i = 0; i < rows; i++) values[i * k + j]! /= Math.sqrt(norm)
  }
  return Float32Array.from(values)
}

/**
 * A SiVA-style adapter on each target: y = x Wᵀ + b + ((x V) ⊙ δ) Uᵀ with U [out, k], V [in, k] orthonormal
 * columns and δ a variable of small nonzero values; written as `<target>.U/.V/.delta` for the reference.
 */
async function sivaLikeAdapters(targets: AdaptableLinear[], k: number, file: string) {
  const linears = new Map<string, LinearFn>()
  const deltas = new Map<string, tf.Variable>()
  const owned: tf.Tensor[] = []
  const toWrite: TensorToWrite[] = []
  for (const [t, target] of targets.entries()) {
    const { weightT, bias, inFeatures, outFeatures } = await readLinear(source, target)
    const u = orthonormalColumns(outFeatures, k, 11 + t)
    const v = orthonormalColumns(inFeatures, k, 23 + t)
    const delta = Float32Array.from({ length: k }, (_, i) => 0.2 * (i + 1) * (i % 2 === 0 ? 1 : -1))
    const wT = tf.tensor2d(weightT, [inFeatures, outFeatures])
    const b = tf.tensor1d(bias!)
    const uT = tf.tidy(() => tf.transpose(tf.tensor2d(u, [outFeatures, k])))
    const vMatrix = tf.tensor2d(v, [inFeatures, k])
    const d = tf.variable(tf.tensor1d(delta), true)
    owned.push(wT, b, uT, vMatrix, d)
    deltas.set(target.name, d)
    linears.set(target.name, (x) => tf.add(tf.add(matMul(x, wT), b), matMul(tf.mul(matMul(x, vMatrix), d), uT)))
    toWrite.push(
      { name: `${target.name}.U`, dtype: 'F32', shape: [outFeatures, k], data: u },
      { name: `${target.name}.V`, dtype: 'F32', shape: [inFeatures, k], data: v },
      { name: `${target.name}.delta`, dtype: 'F32', shape: [k], data: delta }
    )
  }
  await writeSafetensors(file, toWrite)
  return { linears, deltas, dispose: () => owned.forEach((tensor) => tensor.dispose()) }
}

/** A copy of the checkpoint with tensors renamed or (undefined) left out, and its config.json. */
async function rewriteCheckpoint(prefix: string, change: (name: string) => string | undefined): Promise<string> {
  const out = tempDir(prefix)
  const tensors: TensorToWrite[] = []
  for (const info of source.tensors) {
    const name = change(info.name)
    if (name !== undefined) tensors.push({ name, dtype: info.dtype, shape: info.shape, data: await source.readRaw(info.name) })
  }
  await writeSafetensors(join(out, 'model.safetensors'), tensors, source.metadata)
  await copyFile(join(tinyGpt2, 'config.json'), join(out, 'config.json'))
  return out
}

beforeAll(async () => {
  // The wasm backend as training runs it, with the engine's own matmul: fidelity is checked through it.
  await selectBackend('wasm')
  source = await openCheckpoint(tinyGpt2)
  const tokenizer = await TextTokenizer.load(tinyGpt2)
  const encoded = sentences.map((text) => tokenizer.encode(text).ids)
  const length = Math.max(...encoded.map((ids) => ids.length))
  // Right padding with the tokenizer's pad id (GPT-2 pads with its end-of-text token), masked out.
  const rows = encoded.map((ids) => [...ids, ...Array<number>(length - ids.length).fill(tokenizer.padId)])
  const maskRows = encoded.map((ids) => Array.from({ length }, (_, j) => (j < ids.length ? 1 : 0)))
  batch = { batchSize: rows.length, length, inputIds: Int32Array.from(rows.flat()), attentionMask: Int32Array.from(maskRows.flat()), rows, maskRows }
  lmLabels = rows.map((row, r) => row.map((id, j) => (maskRows[r]![j] ? id : -100)))
  expect(new Set(encoded.map((ids) => ids.length)).size).toBe(3)
})

afterAll(async () => {
  await source.close()
})

describe('GPT-2 family: targets', () => {
  it('lists q, k, v cut out of the fused Conv1D c_attn, then c_proj, c_fc, mlp.c_proj — six per block', () => {
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
  })
})

describe('GPT-2 family: numerics against torch', () => {
  it('causal LM: logits of a right-padded batch and the shifted next-token loss', async () => {
    const model = await build({ task: 'causal-lm' })
    try {
      expect(model.headVariables).toEqual([])
      expect(model.baseVariables).toEqual([])
      expect(model.head).toEqual({ created: false, tensors: [] })
      const expected = reference(tinyGpt2, { task: 'causal-lm', labels: lmLabels })
      const logits = logitsOf(model)
      expect(logits.length).toBe(3 * batch.length! * 1000)
      expect(maxAbsDifference(logits, (expected.logits as number[][][]).flat(2))).toBeLessThan(1e-4)
      expect(Math.abs(lossOf(model, 'causal-lm') - expected.loss!)).toBeLessThan(1e-5)
    } finally {
      model.dispose()
    }
  })

  it('sequence classification: a new score head (no bias) on the last real token; cross-entropy', async () => {
    const variablesBefore = Object.keys(tf.engine().registeredVariables).length
    const model = await build({ task: 'classification', numLabels: 3, seed: 7 })
    try {
      // Frozen weights are plain tensors: the head is the only variable made.
      expect(Object.keys(tf.engine().registeredVariables).length).toBe(variablesBefore + 1)
      expect(model.head).toEqual({ created: true, tensors: ['score.weight'] })
      expect(model.headVariables.map((v) => [v instanceof tf.Variable, v.trainable, v.shape])).toEqual([[true, true, [3, 32]]])
      // normal(0, initializer_range = 0.02)
      const head = model.headVariables[0]!.dataSync() as Float32Array
      const std = Math.sqrt(head.reduce((sum, x) => sum + x * x, 0) / head.length)
      expect(std).toBeGreaterThan(0.012)
      expect(std).toBeLessThan(0.028)
      const headFile = join(scratch, 'score.safetensors')
      await writeHead(model, headFile)
      const expected = reference(tinyGpt2, { task: 'classification', labels: classes, headFile })
      expect(maxAbsDifference(logitsOf(model), (expected.logits as number[][]).flat())).toBeLessThan(1e-5)
      expect(Math.abs(lossOf(model, 'classification') - expected.loss!)).toBeLessThan(1e-5)
      // The same seed gives the same head.
      const again = await build({ task: 'classification', numLabels: 3, seed: 7 })
      expect(Array.from(again.headVariables[0]!.dataSync())).toEqual(Array.from(head))
      again.dispose()
    } finally {
      model.dispose()
    }
  })

  it('regression: one output, mean squared error', async () => {
    const model = await build({ task: 'regression' })
    try {
      const headFile = join(scratch, 'score-regression.safetensors')
      await writeHead(model, headFile)
      const expected = reference(tinyGpt2, { task: 'regression', labels: classes.map((c) => c - 0.5), headFile })
      const logits = tf.tidy(() => model.forward(batch))
      expect(logits.shape).toEqual([3, 1])
      expect(maxAbsDifference(logits.dataSync(), (expected.logits as number[][]).flat())).toBeLessThan(1e-5)
      logits.dispose()
      expect(Math.abs(lossOf(model, 'regression') - expected.loss!)).toBeLessThan(1e-5)
    } finally {
      model.dispose()
    }
  })

  it('gradients of the loss with respect to SiVA-style δ on a fused q block and on c_fc (causal LM and classification)', async () => {
    const chosen = gpt2Family.targets(source.config!).filter((t) => t.name === 'transformer.h.0.attn.c_attn.q' || t.name === 'transformer.h.1.mlp.c_fc')
    expect(chosen).toHaveLength(2)
    const adapterFile = join(scratch, 'adapters.safetensors')
    const adapters = await sivaLikeAdapters(chosen, 4, adapterFile)
    try {
      for (const task of ['causal-lm', 'classification'] as const) {
        const model = await build({ task, numLabels: 3, seed: 3, linears: adapters.linears })
        try {
          const headFile = join(scratch, `head-${task}.safetensors`)
          if (task === 'classification') await writeHead(model, headFile)
          const expected = reference(tinyGpt2, {
            task,
            labels: task === 'causal-lm' ? lmLabels : classes,
            headFile: task === 'classification' ? headFile : undefined,
            adapters: adapterFile
          })
          const before = tf.memory().numTensors
          const deltas = [...adapters.deltas.values()]
          const { value, grads } = tf.variableGrads(() => taskLoss(task, model.forward(batch), labelTensor(task)), deltas)
          expect(Math.abs(value.dataSync()[0]! - expected.loss!)).toBeLessThan(1e-5)
          for (const [name, delta] of adapters.deltas) {
            const gradient = grads[delta.name]!.dataSync()
            const errors = relativeError(gradient, expected.grads![name]!)
            expect(errors, `${task} ${name}`).toBeLessThan(1e-4)
          }
          value.dispose()
          tf.dispose(Object.values(grads))
          expect(tf.memory().numTensors).toBe(before)
        } finally {
          model.dispose()
        }
      }
    } finally {
      adapters.dispose()
    }
  })
})

describe('GPT-2 family: checkpoints and lifetime', () => {
  it('loads a bare GPT2Model checkpoint (no transformer. prefix) to the same logits', async () => {
    const bareDir = await rewriteCheckpoint('gpt2-bare', (name) => name.replace(/^transformer\./, ''))
    const bare = await openCheckpoint(bareDir)
    const model = await build({ task: 'causal-lm' }, bare)
    try {
      expect(bare.tensors.some((t) => t.name.startsWith('transformer.'))).toBe(false)
      const expected = reference(bareDir, { task: 'causal-lm' })
      expect(maxAbsDifference(logitsOf(model), (expected.logits as number[][][]).flat(2))).toBeLessThan(1e-4)
    } finally {
      model.dispose()
      await bare.close()
    }
  })

  it("uses the checkpoint's own score.weight when it has one of the right shape", async () => {
    const dir = tempDir('gpt2-scored')
    const score = seededNormal(3 * 32, 0.5, 99)
    const tensors: TensorToWrite[] = source.tensors.map((info) => ({ name: info.name, dtype: info.dtype, shape: info.shape, data: () => source.readRaw(info.name) }))
    await writeSafetensors(join(dir, 'model.safetensors'), [...tensors, { name: 'score.weight', dtype: 'F32', shape: [3, 32], data: score }])
    await copyFile(join(tinyGpt2, 'config.json'), join(dir, 'config.json'))
    const scored = await openCheckpoint(dir)
    // No num_labels in config.json: the stored head says 3.
    const model = await build({ task: 'classification' }, scored)
    try {
      expect(model.head).toEqual({ created: false, tensors: ['score.weight'] })
      expect(Array.from(model.headVariables[0]!.dataSync())).toEqual(Array.from(score))
      const expected = reference(dir, { task: 'classification', labels: classes })
      expect(maxAbsDifference(logitsOf(model), (expected.logits as number[][]).flat())).toBeLessThan(1e-5)
    } finally {
      model.dispose()
      await scored.close()
    }
  })

  it('names the missing tensor when the checkpoint lacks one', async () => {
    const dir = await rewriteCheckpoint('gpt2-missing', (name) => (name === 'transformer.h.1.mlp.c_fc.weight' ? undefined : name))
    const broken = await openCheckpoint(dir)
    const before = tf.memory().numTensors
    await expect(build({ task: 'causal-lm' }, broken)).rejects.toThrow(/no tensor transformer\.h\.1\.mlp\.c_fc\.weight \(needed for transformer\.h\.1\.mlp\.c_fc\)/)
    expect(tf.memory().numTensors).toBe(before)
    await broken.close()
  })

  it('full fine-tuning: every checkpoint tensor a variable, same logits, a gradient for each', async () => {
    const frozen = await build({ task: 'causal-lm' })
    const model = await build({ task: 'causal-lm', trainAll: true })
    try {
      expect([...model.baseTensors!].sort()).toEqual(source.tensors.map((t) => t.name).sort())
      for (const [i, variable] of model.baseVariables.entries()) {
        expect(variable.shape).toEqual(source.tensors.find((t) => t.name === model.baseTensors![i])!.shape)
      }
      expect(maxAbsDifference(logitsOf(model), logitsOf(frozen))).toBeLessThan(1e-5)
      const { value, grads } = tf.variableGrads(() => taskLoss('causal-lm', model.forward(batch), labelTensor('causal-lm')), model.baseVariables)
      expect(Math.abs(value.dataSync()[0]! - lossOf(frozen, 'causal-lm'))).toBeLessThan(1e-5)
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
    const model = await build({ task: 'classification', numLabels: 2 })
    logitsOf(model)
    const afterFirst = tf.memory().numTensors
    for (let i = 0; i < 3; i++) logitsOf(model)
    expect(tf.memory().numTensors).toBe(afterFirst)
    model.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('refuses inputs it cannot run, with the reason', async () => {
    const model = await build({ task: 'causal-lm' })
    try {
      expect(() => model.forward({ batchSize: 1, length: 2, inputIds: Int32Array.from([5, 1000]) })).toThrow(/token id 1000 is outside the vocabulary \(1000/)
      expect(() => model.forward({ batchSize: 1, length: 513, inputIds: new Int32Array(513) })).toThrow(/longer than the checkpoint's 512 positions/)
      await expect(build({ task: 'image-classification' })).rejects.toThrow(/task "image-classification" is not supported/)
      await expect(build({ task: 'causal-lm', linears: new Map([['h.0.attn.c_attn.q', (x: tf.Tensor2D) => x]]) })).rejects.toThrow(/not one of this model's targets/)
    } finally {
      model.dispose()
    }
  })
})
