import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { loadImageProcessorConfig, preprocessImage } from '../../../src/main/engine/data'
import { openCheckpoint, type TensorSource, type TensorToWrite } from '../../../src/main/engine/io'
import { seededNormal } from '../../../src/main/engine/models/ops'
import type { BuildOptions, ModelInputs } from '../../../src/main/engine/models/types'
import { vitFamily, VitModel } from '../../../src/main/engine/models/vit'
import { repoRoot, tempDir } from '../../helpers/paths'
import {
  adapterMethods,
  bandAdapters,
  hfFixtureData,
  logitsOf,
  maxAbsDifference,
  methodAdapters,
  ReferenceCases,
  rewriteCheckpoint,
  writeHead,
  type ForwardJob,
  type TestAdapters
} from './hfModels'

// ViT against the real transformers (ViTForImageClassification; hf_models.py) on hfref's checkpoints: vit-cls
// (its own 3-label classifier) and vit-base (a bare ViTModel with its pooler, google/vit-base-patch16-224-in21k's
// layout), on the images transformers' ViTImageProcessor made for the fixture and on real digit images (PNG,
// JPEG, WebP) through our own preprocessing. 32×32 RGB in 8×8 patches, hidden 32, 2 layers, MLP 37.

const digits = join(repoRoot, 'tests/fixtures/data/images/digits')
const kernel = 'vit.embeddings.patch_embeddings.projection.weight'
const scratch = tempDir('vit')

type ImageBatch = ModelInputs & { pixels: Float32Array }
let source: TensorSource
let clsDir: string
/** The fixture's three images as transformers' ViTImageProcessor made them: [3, 3, 32, 32]. */
let images: ImageBatch
/** Three real digit images through our ViTImageProcessor. */
let digitImages: ImageBatch
let storedLogits: number[]
const classes = [0, 1, 2]

const cases = new ReferenceCases('ViT')

function pixelJob(batch: ImageBatch): Pick<ForwardJob, 'pixel_values'> {
  const side = Math.sqrt(batch.pixels.length / (batch.batchSize * 3))
  return { pixel_values: { shape: [batch.batchSize, 3, side, side], values: Array.from(batch.pixels) } }
}

/** The engine's model on `dir` and transformers' class on the same folder, on `inputs`; a created head is given to the reference. */
async function addCase(name: string, dir: string, inputs: ImageBatch, options: BuildOptions, job: Partial<ForwardJob> = {}, adapters?: TestAdapters): Promise<void> {
  const checkpoint = await openCheckpoint(dir)
  const model = await vitFamily.build(checkpoint, checkpoint.config!, { ...options, ...(adapters && { linears: adapters.linears }) })
  await checkpoint.close()
  const regression = options.task === 'regression'
  const values = regression ? [0.5, -1.25, 2] : ((job.labels as number[] | undefined) ?? classes)
  const headFile = model.head.created ? { head_file: await writeHead(model, join(scratch, `${name}-head.safetensors`)) } : {}
  cases.add(name, {
    model,
    inputs,
    task: options.task,
    labels: () => (regression ? tf.tensor1d(values) : tf.tensor1d(values, 'int32')),
    adapters,
    job: { model: dir, task: options.task, ...pixelJob(inputs), labels: values, ...headFile, ...job }
  })
}

beforeAll(async () => {
  // The wasm backend as training runs it, with the engine's own matmul: fidelity is checked through it.
  await selectBackend('wasm')
  const cls = hfFixtureData('vit-cls')
  clsDir = cls.dir
  storedLogits = cls.arrays.logits!.values
  const pixels = cls.arrays.pixel_values!
  expect(pixels.shape).toEqual([3, 3, 32, 32])
  images = { batchSize: 3, pixels: Float32Array.from(pixels.values) }
  source = await openCheckpoint(clsDir)
  const processor = await loadImageProcessorConfig(clsDir)
  expect([processor.source, processor.height, processor.width]).toEqual(['preprocessor_config.json', 32, 32])
  const files = ['0/0-a.png', '1/1-b.jpg', '2/2-c.webp']
  digitImages = { batchSize: files.length, pixels: new Float32Array(files.length * 3 * 32 * 32) }
  for (const [i, file] of files.entries()) digitImages.pixels.set(await preprocessImage(join(digits, file), processor), i * 3 * 32 * 32)

  await addCase('images', clsDir, images, { task: 'image-classification' }, { param_grads: ['classifier.weight', 'classifier.bias'] })
  await addCase('digits', clsDir, digitImages, { task: 'image-classification' })
  const targets = vitFamily.targets(source.config!, source.tensors)
  const pick = (...names: string[]) => names.map((name) => targets.find((t) => t.name === name)!)
  const bandFile = join(scratch, 'band.safetensors')
  const band = await bandAdapters(source, pick('vit.encoder.layer.0.attention.attention.query', 'vit.encoder.layer.1.intermediate.dense'), 4, bandFile, 0.1)
  await addCase('band', clsDir, images, { task: 'image-classification' }, { adapters: bandFile, param_grads: ['classifier.weight', 'classifier.bias'] }, band)
  for (const method of adapterMethods) {
    const adapters = await methodAdapters(source, pick('vit.encoder.layer.0.output.dense', 'vit.encoder.layer.1.attention.attention.value'), method, join(scratch, `${method}.safetensors`))
    await addCase(method, clsDir, images, { task: 'image-classification' }, adapters.job, adapters)
  }
  await addCase('train-all', clsDir, images, { task: 'image-classification', trainAll: true }, { param_grads: [kernel, 'vit.embeddings.cls_token', 'vit.embeddings.position_embeddings'] })
  await addCase('new-head', clsDir, images, { task: 'image-classification', numLabels: 5, seed: 9 }, { num_labels: 5, labels: [4, 0, 3] })
  await addCase('regression', clsDir, images, { task: 'regression', seed: 4 })
  await addCase('vit-base', hfFixtureData('vit-base').dir, images, { task: 'image-classification', numLabels: 3, seed: 1 }, { num_labels: 3, param_grads: ['classifier.weight', 'classifier.bias'] })
  cases.run()
}, 120_000)

afterAll(async () => {
  cases.dispose()
  await source?.close()
})

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

describe('ViT family: forward pass against transformers (its Conv2d patch embedding)', () => {
  it("logits and loss for the fixture's images and for three real digit images; the checkpoint head is used, and its gradient matches", () => {
    const model = cases.model('images')
    expect(model.head).toEqual({ created: false, tensors: ['classifier.weight', 'classifier.bias'] })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[3, 32], [3]])
    expect(model.baseVariables).toEqual([])
    const expected = cases.compare('images', { logits: 1e-4 })
    expect([expected.class, expected.logits.shape]).toEqual(['ViTForImageClassification', [3, 3]])
    expect(expected.loading_info).toMatchObject({ missing_keys: [], unexpected_keys: [], mismatched_keys: [] })
    expect(maxAbsDifference(logitsOf(model, images), storedLogits)).toBeLessThan(1e-4)
    cases.compareGradients('images', { tensors: ['classifier.weight', 'classifier.bias'] })
    cases.compare('digits', { logits: 1e-4 })
  })

  it('d loss / d δ of a SiVA-style adapter on two targets matches torch autograd through transformers, and so does the head gradient', () => {
    cases.compare('band', { logits: 1e-4 })
    cases.compareGradients('band', { tensors: ['classifier.weight', 'classifier.bias'] })
  })

  it('every adapter method of engine/peft (siva, svdiff, topk, lora) on an MLP output and a value: loss and gradients', () => {
    for (const method of adapterMethods) {
      cases.compare(method, { logits: 1e-4 })
      cases.compareGradients(method)
    }
    expect(Math.abs(cases.result('svdiff').loss! - cases.result('images').loss!)).toBeGreaterThan(1e-4)
  })

  it('trainAll: every other weight is a variable in its stored shape; the patch-kernel, [CLS] and position gradients match autograd', () => {
    const model = cases.model('train-all')
    const names = (model as VitModel).baseTensors
    expect(model.baseVariables).toHaveLength(names.length)
    expect(new Set(names)).toEqual(new Set(source.tensors.map((t) => t.name).filter((name) => !name.startsWith('classifier.'))))
    expect(model.baseVariables[names.indexOf(kernel)]!.shape).toEqual([32, 3, 8, 8])
    expect(maxAbsDifference(logitsOf(model, images), logitsOf(cases.model('images'), images))).toBeLessThan(1e-5)
    cases.compareGradients('train-all', { tensors: [kernel, 'vit.embeddings.cls_token', 'vit.embeddings.position_embeddings'] })
  })

  it('a new head (no classifier of that size): normal(0, initializer_range) from the seed, zero bias; transformers agrees given it', async () => {
    const model = cases.model('new-head')
    expect(model.head).toEqual({ created: true, tensors: ['classifier.weight', 'classifier.bias'] })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[5, 32], [5]])
    const [weight, bias] = model.headVariables.map((v) => Array.from(v.dataSync()))
    expect(bias).toEqual([0, 0, 0, 0, 0])
    const std = Math.sqrt(weight!.reduce((s, w) => s + w * w, 0) / weight!.length)
    expect(std).toBeGreaterThan(0.012)
    expect(std).toBeLessThan(0.03)
    const expected = cases.compare('new-head', { logits: 1e-4 })
    expect(expected.loading_info.mismatched_keys.sort()).toEqual(['classifier.bias', 'classifier.weight'])
    const again = await vitFamily.build(source, source.config!, { task: 'image-classification', numLabels: 5, seed: 9 })
    expect(Array.from(again.headVariables[0]!.dataSync())).toEqual(weight)
    again.dispose()
  })

  it('regression (numLabels 1): a created head, logits and mean squared error match', () => {
    expect(cases.model('regression').head.created).toBe(true)
    expect(cases.compare('regression', { logits: 1e-4 }).problem_type).toBe('regression')
  })

  it('a bare ViTModel base with a pooler (vit-base): a new classifier on the [CLS] token, the pooler left out as ViTForImageClassification does', () => {
    const model = cases.model('vit-base')
    expect(model.head).toEqual({ created: true, tensors: ['classifier.weight', 'classifier.bias'] })
    const expected = cases.compare('vit-base', { logits: 1e-4 })
    expect(expected.loading_info.missing_keys.sort()).toEqual(['classifier.bias', 'classifier.weight'])
    expect(expected.loading_info.unexpected_keys.sort()).toEqual(['pooler.dense.bias', 'pooler.dense.weight'])
    cases.compareGradients('vit-base', { tensors: ['classifier.weight', 'classifier.bias'] })
  })

  it('the same checkpoint without its "vit." prefix and with a pooler added gives the same logits', async () => {
    const pooler: TensorToWrite[] = [
      { name: 'pooler.dense.weight', dtype: 'F32', shape: [32, 32], data: seededNormal(32 * 32, 0.2, 5) },
      { name: 'pooler.dense.bias', dtype: 'F32', shape: [32], data: seededNormal(32, 0.1, 6) }
    ]
    const dir = await rewriteCheckpoint(clsDir, 'vit-bare', (name) => name.replace(/^vit\./, ''), pooler)
    const bare = await openCheckpoint(dir)
    const model = await vitFamily.build(bare, bare.config!, { task: 'image-classification' })
    expect(maxAbsDifference(logitsOf(model, images), logitsOf(cases.model('images'), images))).toBe(0)
    expect(model.head.created).toBe(false)
    model.dispose()
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
    const dir = await rewriteCheckpoint(clsDir, 'vit-missing', (name) => (name === 'vit.encoder.layer.1.layernorm_after.bias' ? undefined : name))
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
