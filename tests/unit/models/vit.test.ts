import * as tf from '@tensorflow/tfjs'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadImageProcessorConfig, preprocessImage } from '../../../src/main/engine/data'
import { openCheckpoint, writeSafetensors, type TensorSource, type TensorToWrite } from '../../../src/main/engine/io'
import { taskLoss } from '../../../src/main/engine/models/loss'
import { readLinear, seededNormal } from '../../../src/main/engine/models/ops'
import type { AdaptableLinear, BuiltModel, LinearFn, ModelInputs, ModelTask } from '../../../src/main/engine/models/types'
import { vitFamily, VitModel } from '../../../src/main/engine/models/vit'
import { repoRoot, tempDir } from '../../helpers/paths'
import { runTorchReference } from './torchReference'
import { selectBackend } from '../../../src/main/engine/backend'

const tinyVit = join(repoRoot, 'tests/fixtures/models/tiny-vit')
const digits = join(repoRoot, 'tests/fixtures/data/images/digits')
const kernel = 'vit.embeddings.patch_embeddings.projection.weight'

let source: TensorSource
/** Three real digit images (PNG, JPEG, WebP) through our ViTImageProcessor: [3, 3, 32, 32]. */
let images: ModelInputs & { pixels: Float32Array }
const classes = [0, 1, 2]

beforeAll(async () => {
  // The wasm backend as training runs it, with the engine's own matmul: fidelity is checked through it.
  await selectBackend('wasm')
  source = await openCheckpoint(tinyVit)
  const processor = await loadImageProcessorConfig(tinyVit)
  expect([processor.source, processor.height, processor.width]).toEqual(['preprocessor_config.json', 32, 32])
  const files = ['0/0-a.png', '1/1-b.jpg', '2/2-c.webp']
  const pixels = new Float32Array(files.length * 3 * 32 * 32)
  for (const [i, file] of files.entries()) pixels.set(await preprocessImage(join(digits, file), processor), i * 3 * 32 * 32)
  images = { batchSize: files.length, pixels }
})

afterAll(async () => {
  await source.close()
})

interface Reference {
  logits: number[][]
  loss?: number
  grads?: Record<string, number[]>
  tensor_grads?: Record<string, number[]>
}

function reference(
  model: string,
  inputs: ModelInputs & { pixels: Float32Array },
  request: { task: ModelTask; labels?: number[]; headFile?: string; adapters?: string; gradTensors?: string[] }
): Reference {
  const args = [model, ...(request.adapters ? ['--adapters', request.adapters] : [])]
  const side = Math.sqrt(inputs.pixels.length / (inputs.batchSize * 3))
  return runTorchReference('torch_vit.py', args, {
    pixels: Array.from(inputs.pixels),
    shape: [inputs.batchSize, 3, side, side],
    task: request.task,
    labels: request.labels,
    head_file: request.headFile,
    grad_tensors: request.gradTensors
  }) as Reference
}

function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length)
  let max = 0
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!))
  return max
}

/** Largest difference relative to the largest reference magnitude. */
function relativeDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  return maxAbsDifference(actual, expected) / Math.max(...Array.from(expected, Math.abs))
}

function logitsOf(model: BuiltModel, inputs: ModelInputs): Float32Array {
  const logits = tf.tidy(() => model.forward(inputs))
  const values = logits.dataSync() as Float32Array
  logits.dispose()
  return values
}

function lossOf(model: BuiltModel, task: ModelTask, inputs: ModelInputs, labels: number[]): number {
  return tf.tidy(() => taskLoss(task, model.forward(inputs), task === 'regression' ? tf.tensor1d(labels) : tf.tensor1d(labels, 'int32')).dataSync()[0]!)
}

/** The head's variables under their export names, for the reference to read. */
async function writeHead(model: BuiltModel, file: string): Promise<void> {
  await writeSafetensors(
    file,
    model.headVariables.map((variable, i) => ({ name: model.head.tensors[i]!, dtype: 'F32' as const, shape: variable.shape, data: variable.dataSync() as Float32Array }))
  )
}

/** A copy of the tiny checkpoint with tensors renamed or (undefined) left out, and `extra` ones added. */
async function rewriteCheckpoint(prefix: string, change: (name: string) => string | undefined, extra: TensorToWrite[] = []): Promise<string> {
  const out = tempDir(prefix)
  const tensors: TensorToWrite[] = [...extra]
  for (const info of source.tensors) {
    const name = change(info.name)
    if (name !== undefined) tensors.push({ name, dtype: info.dtype, shape: info.shape, data: await source.readRaw(info.name) })
  }
  await writeSafetensors(join(out, 'model.safetensors'), tensors, source.metadata)
  await copyFile(join(tinyVit, 'config.json'), join(out, 'config.json'))
  return out
}

/**
 * SiVA's computation on each target, built here so the family is tested against the contract alone:
 * y = x Wᵀ + b + ((x V) ⊙ δ) Uᵀ, U [out, k] and V [in, k] seeded random, δ a variable of small nonzero
 * values; also written as `<target>.U/.V/.delta` for the reference.
 */
async function sivaStyleAdapters(targets: AdaptableLinear[], k: number, file: string) {
  const linears = new Map<string, LinearFn>()
  const deltas = new Map<string, tf.Variable>()
  const owned: tf.Tensor[] = []
  const toWrite: TensorToWrite[] = []
  for (const [t, target] of targets.entries()) {
    const { weightT, bias, inFeatures, outFeatures } = await readLinear(source, target)
    const u = seededNormal(outFeatures * k, 0.3, 11 + t)
    const v = seededNormal(inFeatures * k, 0.3, 23 + t)
    const delta = Float32Array.from({ length: k }, (_, i) => 0.04 * (i + 1) * (i % 2 === 0 ? 1 : -1))
    const wT = tf.tensor2d(weightT, [inFeatures, outFeatures])
    const b = tf.tensor1d(bias!)
    const uT = tf.tidy(() => tf.transpose(tf.tensor2d(u, [outFeatures, k])))
    const vMatrix = tf.tensor2d(v, [inFeatures, k])
    const d = tf.variable(tf.tensor1d(delta), true)
    owned.push(wT, b, uT, vMatrix, d)
    deltas.set(target.name, d)
    linears.set(target.name, (x) => tf.add(tf.add(tf.matMul(x, wT), b), tf.matMul(tf.mul(tf.matMul(x, vMatrix), d), uT)))
    toWrite.push(
      { name: `${target.name}.U`, dtype: 'F32', shape: [outFeatures, k], data: u },
      { name: `${target.name}.V`, dtype: 'F32', shape: [inFeatures, k], data: v },
      { name: `${target.name}.delta`, dtype: 'F32', shape: [k], data: delta }
    )
  }
  await writeSafetensors(file, toWrite)
  return { linears, deltas, dispose: () => tf.dispose(owned) }
}

describe('ViT family: targets', () => {
  it('lists six nn.Linear projections per layer, in block order, and defaults to query and value', () => {
    const targets = vitFamily.targets(source.config!)
    expect(targets).toHaveLength(12)
    expect(targets.slice(0, 6).map((t) => [t.name, t.role, t.outFeatures, t.inFeatures])).toEqual([
      ['vit.encoder.layer.0.attention.attention.query', 'query', 32, 32],
      ['vit.encoder.layer.0.attention.attention.key', 'key', 32, 32],
      ['vit.encoder.layer.0.attention.attention.value', 'value', 32, 32],
      ['vit.encoder.layer.0.attention.output.dense', 'attention.output', 32, 32],
      ['vit.encoder.layer.0.intermediate.dense', 'mlp.in', 37, 32],
      ['vit.encoder.layer.0.output.dense', 'mlp.out', 32, 37]
    ])
    for (const target of targets) {
      expect(target.conv1d).toBe(false)
      expect(target.slice).toBeUndefined()
      expect(target.weightTensor).toBe(`${target.name}.weight`)
      expect(target.biasTensor).toBe(`${target.name}.bias`)
      expect(source.tensors.find((t) => t.name === target.weightTensor)?.shape).toEqual([target.outFeatures, target.inFeatures])
    }
    expect(targets.map((t) => t.block)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    expect(targets.filter((t) => vitFamily.defaultTargets.test(t.name)).map((t) => t.name)).toEqual([
      'vit.encoder.layer.0.attention.attention.query',
      'vit.encoder.layer.0.attention.attention.value',
      'vit.encoder.layer.1.attention.attention.query',
      'vit.encoder.layer.1.attention.attention.value'
    ])
    // The bare ViTModel: tensors without the prefix, names unchanged. qkv_bias false: no q/k/v biases.
    const bare = vitFamily.targets({ ...source.config!, architectures: ['ViTModel'] })
    expect([bare[0]!.name, bare[0]!.weightTensor]).toEqual(['vit.encoder.layer.0.attention.attention.query', 'encoder.layer.0.attention.attention.query.weight'])
    const noBias = vitFamily.targets({ ...source.config!, raw: { ...source.config!.raw, qkv_bias: false } })
    expect(noBias.slice(0, 4).map((t) => t.biasTensor)).toEqual([undefined, undefined, undefined, 'vit.encoder.layer.0.attention.output.dense.bias'])
  })
})

describe('ViT family: forward pass against the torch reference (F.conv2d patch embedding)', () => {
  it('logits and loss for three real images; the checkpoint head is used', async () => {
    const model = await vitFamily.build(source, source.config!, { task: 'image-classification' })
    expect(model.head).toEqual({ created: false, tensors: ['classifier.weight', 'classifier.bias'] })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[3, 32], [3]])
    expect(model.baseVariables).toEqual([])
    const expected = reference(tinyVit, images, { task: 'image-classification', labels: classes })
    const logits = logitsOf(model, images)
    expect(logits.length).toBe(9)
    const error = maxAbsDifference(logits, expected.logits.flat())
    expect(error).toBeLessThan(1e-4)
    const lossError = Math.abs(lossOf(model, 'image-classification', images, classes) - expected.loss!)
    expect(lossError).toBeLessThan(1e-4)
    console.info(`ViT logits max |Δ| ${error.toExponential(2)}, loss |Δ| ${lossError.toExponential(2)}`)
    model.dispose()
  })

  it('d loss / d δ of a SiVA-style adapter on two targets matches torch autograd', async () => {
    const targets = vitFamily.targets(source.config!)
    const chosen = ['vit.encoder.layer.0.attention.attention.query', 'vit.encoder.layer.1.intermediate.dense'].map((name) => targets.find((t) => t.name === name)!)
    const file = join(tempDir('vit-adapters'), 'adapters.safetensors')
    const adapters = await sivaStyleAdapters(chosen, 4, file)
    const model = await vitFamily.build(source, source.config!, { task: 'image-classification', linears: adapters.linears })
    const labels = tf.tensor1d(classes, 'int32')
    const { value, grads } = tf.variableGrads(() => taskLoss('image-classification', model.forward(images), labels), [...adapters.deltas.values()])
    const expected = reference(tinyVit, images, { task: 'image-classification', labels: classes, adapters: file })
    expect(Math.abs(value.dataSync()[0]! - expected.loss!)).toBeLessThan(1e-4)
    for (const [name, delta] of adapters.deltas) {
      const error = relativeDifference(grads[delta.name]!.dataSync(), expected.grads![name]!)
      console.info(`ViT d loss/d δ ${name}: relative error ${error.toExponential(2)}`)
      expect(error).toBeLessThan(1e-4)
    }
    tf.dispose([value, labels, ...Object.values(grads)])
    model.dispose()
    adapters.dispose()
  })

  it('trainAll: every other weight is a variable in its stored shape; the patch-kernel gradient matches conv2d autograd', async () => {
    const model = await vitFamily.build(source, source.config!, { task: 'image-classification', trainAll: true })
    const frozen = await vitFamily.build(source, source.config!, { task: 'image-classification' })
    const names = (model as VitModel).baseTensors
    expect(model.baseVariables).toHaveLength(names.length)
    expect(new Set(names)).toEqual(new Set(source.tensors.map((t) => t.name).filter((name) => !name.startsWith('classifier.'))))
    const patchKernel = model.baseVariables[names.indexOf(kernel)]!
    expect(patchKernel.shape).toEqual([32, 3, 8, 8])
    expect(maxAbsDifference(logitsOf(model, images), logitsOf(frozen, images))).toBeLessThan(1e-5)
    const labels = tf.tensor1d(classes, 'int32')
    const watched = [kernel, 'vit.embeddings.cls_token', 'vit.embeddings.position_embeddings']
    const variables = watched.map((name) => model.baseVariables[names.indexOf(name)]!)
    const { value, grads } = tf.variableGrads(() => taskLoss('image-classification', model.forward(images), labels), variables)
    const expected = reference(tinyVit, images, { task: 'image-classification', labels: classes, gradTensors: watched })
    for (const [i, name] of watched.entries()) {
      const error = relativeDifference(grads[variables[i]!.name]!.dataSync(), expected.tensor_grads![name]!)
      console.info(`ViT trainAll d loss/d ${name}: relative error ${error.toExponential(2)}`)
      expect(error).toBeLessThan(1e-4)
    }
    tf.dispose([value, labels, ...Object.values(grads)])
    model.dispose()
    frozen.dispose()
  })

  it('a new head (no classifier of that size): normal(0, initializer_range) from the seed, zero bias; the reference agrees given it', async () => {
    const model = await vitFamily.build(source, source.config!, { task: 'image-classification', numLabels: 5, seed: 9 })
    expect(model.head).toEqual({ created: true, tensors: ['classifier.weight', 'classifier.bias'] })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[5, 32], [5]])
    const [weight, bias] = model.headVariables.map((v) => Array.from(v.dataSync()))
    expect(bias).toEqual([0, 0, 0, 0, 0])
    const std = Math.sqrt(weight!.reduce((s, w) => s + w * w, 0) / weight!.length)
    expect(std).toBeGreaterThan(0.012)
    expect(std).toBeLessThan(0.03)
    const file = join(tempDir('vit-head'), 'head.safetensors')
    await writeHead(model, file)
    const labels = [4, 0, 3]
    const expected = reference(tinyVit, images, { task: 'image-classification', labels, headFile: file })
    expect(maxAbsDifference(logitsOf(model, images), expected.logits.flat())).toBeLessThan(1e-4)
    expect(Math.abs(lossOf(model, 'image-classification', images, labels) - expected.loss!)).toBeLessThan(1e-4)
    const again = await vitFamily.build(source, source.config!, { task: 'image-classification', numLabels: 5, seed: 9 })
    expect(Array.from(again.headVariables[0]!.dataSync())).toEqual(weight)
    again.dispose()
    model.dispose()
  })

  it('regression (numLabels 1): a created head, logits and mean squared error match', async () => {
    const model = await vitFamily.build(source, source.config!, { task: 'regression', seed: 4 })
    expect(model.head.created).toBe(true)
    const file = join(tempDir('vit-regression'), 'head.safetensors')
    await writeHead(model, file)
    const targets = [0.5, -1.25, 2]
    const expected = reference(tinyVit, images, { task: 'regression', labels: targets, headFile: file })
    expect(maxAbsDifference(logitsOf(model, images), expected.logits.flat())).toBeLessThan(1e-4)
    expect(Math.abs(lossOf(model, 'regression', images, targets) - expected.loss!)).toBeLessThan(1e-4)
    model.dispose()
  })

  it('a bare ViTModel checkpoint (no "vit." prefix, with a pooler ViTForImageClassification ignores) gives the same logits', async () => {
    const pooler: TensorToWrite[] = [
      { name: 'pooler.dense.weight', dtype: 'F32', shape: [32, 32], data: seededNormal(32 * 32, 0.2, 5) },
      { name: 'pooler.dense.bias', dtype: 'F32', shape: [32], data: seededNormal(32, 0.1, 6) }
    ]
    const dir = await rewriteCheckpoint('vit-bare', (name) => name.replace(/^vit\./, ''), pooler)
    const bare = await openCheckpoint(dir)
    const model = await vitFamily.build(bare, bare.config!, { task: 'image-classification' })
    const prefixed = await vitFamily.build(source, source.config!, { task: 'image-classification' })
    expect(maxAbsDifference(logitsOf(model, images), logitsOf(prefixed, images))).toBe(0)
    expect(model.head.created).toBe(false)
    model.dispose()
    prefixed.dispose()
    await bare.close()
  })
})

describe('ViT family: errors and memory', () => {
  it('an image of the wrong size is refused, naming the size the model takes', async () => {
    const model = await vitFamily.build(source, source.config!, { task: 'image-classification' })
    const before = tf.memory().numTensors
    const big = { batchSize: 2, pixels: new Float32Array(2 * 3 * 64 * 64) }
    expect(() => tf.tidy(() => model.forward(big))).toThrow(/takes 32×32 images .* got 64×64 images; resize the images to 32×32/)
    expect(() => tf.tidy(() => model.forward({ batchSize: 1, inputIds: new Int32Array([1, 2]), length: 2 }))).toThrow(/no pixels/)
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  })

  it('text tasks, impossible label counts and missing tensors are refused clearly, leaking nothing', async () => {
    const before = tf.memory().numTensors
    await expect(vitFamily.build(source, source.config!, { task: 'classification' })).rejects.toThrow(/text task.*image-classification/)
    await expect(vitFamily.build(source, source.config!, { task: 'causal-lm' })).rejects.toThrow(/text task/)
    await expect(vitFamily.build(source, source.config!, { task: 'regression', numLabels: 3 })).rejects.toThrow(/regression predicts one value/)
    const dir = await rewriteCheckpoint('vit-missing', (name) => (name === 'vit.encoder.layer.1.layernorm_after.bias' ? undefined : name))
    const broken = await openCheckpoint(dir)
    await expect(vitFamily.build(broken, broken.config!, { task: 'image-classification' })).rejects.toThrow(/no tensor vit\.encoder\.layer\.1\.layernorm_after\.bias/)
    await broken.close()
    // A config whose image_size does not fit the position embeddings.
    const wrongSize = { ...source.config!, imageSize: 48 }
    await expect(vitFamily.build(source, wrongSize, { task: 'image-classification' })).rejects.toThrow(/field "image_size" says 48 \(37 positions in 8-pixel patches\), but tensor vit\.embeddings\.position_embeddings has shape \[1, 17, 32\]/)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('no tensor leaks across forward passes, and dispose frees everything the build made', async () => {
    const before = tf.memory().numTensors
    const model = await vitFamily.build(source, source.config!, { task: 'image-classification', trainAll: true })
    logitsOf(model, images)
    const afterOne = tf.memory().numTensors
    for (let i = 0; i < 3; i++) logitsOf(model, images)
    expect(tf.memory().numTensors).toBe(afterOne)
    model.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
