import { selectBackend } from '../../../src/main/engine/backend'
import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TensorSource } from '../../../src/main/engine/io'
import { bertFamily } from '../../../src/main/engine/models/bert'
import { EncoderModel } from '../../../src/main/engine/models/bert/model'
import { taskLoss } from '../../../src/main/engine/models/loss'
import { tempDir } from '../../helpers/paths'
import {
  batchOf,
  logitsOf,
  maxAbsDifference,
  open,
  reference,
  relativeDifference,
  rewriteCheckpoint,
  sivaLikeAdapters,
  tinyBert,
  writeHead
} from './bertFamilyTesting'

// [CLS] = 2, [SEP] = 3, [PAD] = 0 in the tiny vocabulary; the first row is a sentence pair.
const pairs = batchOf(
  [
    [2, 17, 45, 3, 88, 9, 3],
    [2, 101, 5, 66, 3],
    [2, 7, 3]
  ],
  0,
  [
    [0, 0, 0, 0, 1, 1, 1],
    [0, 0, 0, 0, 0],
    [0, 0, 0]
  ]
)
const classes = [0, 2, 1]

let source: TensorSource

beforeAll(async () => {
  // The wasm backend as training runs it, with the engine's own matmul: fidelity is checked through it.
  await selectBackend('wasm')
  source = await open(tinyBert)
})

afterAll(async () => {
  await source.close()
})

describe('BERT family: targets', () => {
  it('lists six nn.Linear projections per layer, in block order, and defaults to query and value', () => {
    const targets = bertFamily.targets(source.config!)
    expect(targets).toHaveLength(12)
    expect(targets.slice(0, 6).map((t) => [t.name, t.role, t.outFeatures, t.inFeatures])).toEqual([
      ['bert.encoder.layer.0.attention.self.query', 'query', 32, 32],
      ['bert.encoder.layer.0.attention.self.key', 'key', 32, 32],
      ['bert.encoder.layer.0.attention.self.value', 'value', 32, 32],
      ['bert.encoder.layer.0.attention.output.dense', 'attention.output', 32, 32],
      ['bert.encoder.layer.0.intermediate.dense', 'mlp.in', 37, 32],
      ['bert.encoder.layer.0.output.dense', 'mlp.out', 32, 37]
    ])
    for (const target of targets) {
      expect(target.conv1d).toBe(false)
      expect(target.weightTensor).toBe(`${target.name}.weight`)
      expect(target.biasTensor).toBe(`${target.name}.bias`)
      expect(source.tensors.find((t) => t.name === target.weightTensor)?.shape).toEqual([target.outFeatures, target.inFeatures])
    }
    expect(targets.map((t) => t.block)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    expect(targets.filter((t) => bertFamily.defaultTargets.test(t.name)).map((t) => t.name)).toEqual([
      'bert.encoder.layer.0.attention.self.query',
      'bert.encoder.layer.0.attention.self.value',
      'bert.encoder.layer.1.attention.self.query',
      'bert.encoder.layer.1.attention.self.value'
    ])
    // A config naming only the bare BertModel: tensors without the prefix, target names unchanged.
    const bare = bertFamily.targets({ ...source.config!, architectures: ['BertModel'] })
    expect([bare[0]!.name, bare[0]!.weightTensor]).toEqual(['bert.encoder.layer.0.attention.self.query', 'encoder.layer.0.attention.self.query.weight'])
  })
})

describe('BERT family: forward pass against the torch reference', () => {
  it('classification: logits and loss of a padded batch of pairs; the checkpoint head is used', async () => {
    const model = await bertFamily.build(source, source.config!, { task: 'classification' })
    expect(model.head).toEqual({ created: false, tensors: ['classifier.weight', 'classifier.bias'] })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[3, 32], [3]])
    expect(model.baseVariables).toEqual([])
    const expected = reference(tinyBert, pairs, { task: 'classification', labels: classes })
    const logits = logitsOf(model, pairs)
    const error = maxAbsDifference(logits, expected.logits.flat())
    expect(error).toBeLessThan(1e-4)
    const loss = tf.tidy(() => taskLoss('classification', model.forward(pairs), tf.tensor1d(classes, 'int32')).dataSync()[0]!)
    expect(Math.abs(loss - expected.loss!)).toBeLessThan(1e-4)
    console.info(`BERT classification: logits max |Δ| ${error.toExponential(2)}, loss |Δ| ${Math.abs(loss - expected.loss!).toExponential(2)}`)
    model.dispose()
  })

  it('d loss / d δ of a SiVA-style adapter on two targets matches torch autograd', async () => {
    const targets = bertFamily.targets(source.config!)
    const chosen = [targets.find((t) => t.name === 'bert.encoder.layer.0.attention.self.query')!, targets.find((t) => t.name === 'bert.encoder.layer.1.intermediate.dense')!]
    const file = join(tempDir('bert-adapters'), 'adapters.safetensors')
    const adapters = await sivaLikeAdapters(source, chosen, 4, file)
    const model = await bertFamily.build(source, source.config!, { task: 'classification', linears: adapters.linears })
    const labels = tf.tensor1d(classes, 'int32')
    const deltas = [...adapters.deltas.values()]
    const { value, grads } = tf.variableGrads(() => taskLoss('classification', model.forward(pairs), labels), deltas)
    const expected = reference(tinyBert, pairs, { task: 'classification', labels: classes, adapters: file })
    expect(Math.abs(value.dataSync()[0]! - expected.loss!)).toBeLessThan(1e-4)
    for (const [name, delta] of adapters.deltas) {
      const error = relativeDifference(grads[delta.name]!.dataSync(), expected.grads![name]!)
      console.info(`BERT d loss/d δ ${name}: relative error ${error.toExponential(2)}`)
      expect(error).toBeLessThan(1e-4)
    }
    tf.dispose([value, labels, ...Object.values(grads)])
    model.dispose()
    adapters.dispose()
  })

  it('regression (numLabels 1): a new head, normal(0, initializer_range) from the seed, zero bias; logits and loss', async () => {
    const model = await bertFamily.build(source, source.config!, { task: 'regression', seed: 7 })
    expect(model.head).toEqual({ created: true, tensors: ['classifier.weight', 'classifier.bias'] })
    const [weight, bias] = model.headVariables.map((v) => Array.from(v.dataSync()))
    expect(bias).toEqual([0])
    const std = Math.sqrt(weight!.reduce((s, w) => s + w * w, 0) / weight!.length)
    expect(std).toBeGreaterThan(0.01)
    expect(std).toBeLessThan(0.04)
    const file = join(tempDir('bert-head'), 'head.safetensors')
    await writeHead(model, file)
    const targets = [0.5, -1.25, 2]
    const expected = reference(tinyBert, pairs, { task: 'regression', labels: targets, headFile: file })
    const error = maxAbsDifference(logitsOf(model, pairs), expected.logits.flat())
    expect(error).toBeLessThan(1e-4)
    const loss = tf.tidy(() => taskLoss('regression', model.forward(pairs), tf.tensor1d(targets)).dataSync()[0]!)
    expect(Math.abs(loss - expected.loss!)).toBeLessThan(1e-4)
    console.info(`BERT regression: logits max |Δ| ${error.toExponential(2)}`)
    // The same seed gives the same head.
    const again = await bertFamily.build(source, source.config!, { task: 'regression', seed: 7 })
    expect(Array.from(again.headVariables[0]!.dataSync())).toEqual(weight)
    again.dispose()
    model.dispose()
  })

  it('a checkpoint without pooler and classifier: both are created and train; logits match the reference given them', async () => {
    const dir = await rewriteCheckpoint(tinyBert, 'bert-headless', (name) => (name.startsWith('classifier.') || name.startsWith('bert.pooler.') ? undefined : name))
    const headless = await open(dir)
    const model = await bertFamily.build(headless, headless.config!, { task: 'classification', numLabels: 4, seed: 3 })
    expect(model.head).toEqual({ created: true, tensors: ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias'] })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[32, 32], [32], [4, 32], [4]])
    const file = join(dir, 'head.safetensors')
    await writeHead(model, file)
    const expected = reference(dir, pairs, { task: 'classification', headFile: file })
    expect(maxAbsDifference(logitsOf(model, pairs), expected.logits.flat())).toBeLessThan(1e-4)
    model.dispose()
    await headless.close()
  })

  it('a bare BertModel checkpoint (no "bert." prefix) gives the same logits', async () => {
    const dir = await rewriteCheckpoint(tinyBert, 'bert-bare', (name) => name.replace(/^bert\./, ''))
    const bare = await open(dir)
    const model = await bertFamily.build(bare, bare.config!, { task: 'classification' })
    const prefixed = await bertFamily.build(source, source.config!, { task: 'classification' })
    expect(maxAbsDifference(logitsOf(model, pairs), logitsOf(prefixed, pairs))).toBe(0)
    expect(model.head.created).toBe(false)
    model.dispose()
    prefixed.dispose()
    await bare.close()
  })

  it('trainAll: every other weight is a variable under its tensor name, in the checkpoint layout; same logits', async () => {
    const model = await bertFamily.build(source, source.config!, { task: 'classification', trainAll: true })
    const frozen = await bertFamily.build(source, source.config!, { task: 'classification' })
    const names = (model as EncoderModel).baseTensors
    expect(model.baseVariables).toHaveLength(names.length)
    // Everything but the classifier (head) is a base variable.
    expect(names.length).toBe(source.tensors.length - 2)
    const query = names.indexOf('bert.encoder.layer.0.attention.self.query.weight')
    expect(model.baseVariables[query]!.shape).toEqual([32, 32])
    expect(model.baseVariables[names.indexOf('bert.encoder.layer.0.intermediate.dense.weight')]!.shape).toEqual([37, 32])
    expect(maxAbsDifference(logitsOf(model, pairs), logitsOf(frozen, pairs))).toBeLessThan(1e-5)
    // The gradient reaches the embeddings (one-hot path: the wasm backend cannot differentiate gather).
    const labels = tf.tensor1d(classes, 'int32')
    const words = model.baseVariables[names.indexOf('bert.embeddings.word_embeddings.weight')]!
    const { value, grads } = tf.variableGrads(() => taskLoss('classification', model.forward(pairs), labels), [words])
    expect(tf.tidy(() => tf.abs(grads[words.name]!).sum().dataSync()[0]!)).toBeGreaterThan(0)
    tf.dispose([value, labels, ...Object.values(grads)])
    model.dispose()
    frozen.dispose()
  })
})

describe('BERT family: errors and memory', () => {
  it('a missing tensor is named', async () => {
    const dir = await rewriteCheckpoint(tinyBert, 'bert-missing', (name) => (name === 'bert.encoder.layer.1.output.dense.weight' ? undefined : name))
    const broken = await open(dir)
    const before = tf.memory().numTensors
    await expect(bertFamily.build(broken, broken.config!, { task: 'classification' })).rejects.toThrow(/no tensor bert\.encoder\.layer\.1\.output\.dense\.weight/)
    expect(tf.memory().numTensors).toBe(before)
    await broken.close()
  })

  it('tasks it cannot do, and inputs that do not fit, are refused clearly', async () => {
    await expect(bertFamily.build(source, source.config!, { task: 'causal-lm' })).rejects.toThrow(/task "causal-lm" is not supported/)
    await expect(bertFamily.build(source, source.config!, { task: 'image-classification' })).rejects.toThrow(/not supported/)
    const model = await bertFamily.build(source, source.config!, { task: 'classification' })
    expect(() => model.forward({ batchSize: 1, length: 2, inputIds: Int32Array.from([2, 120]) })).toThrow(/token id 120 is outside the vocabulary/)
    expect(() => model.forward({ batchSize: 1, length: 2, inputIds: Int32Array.from([2, 3]), tokenTypeIds: Int32Array.from([0, 2]) })).toThrow(/token type id 2/)
    expect(() => model.forward({ batchSize: 1, length: 65, inputIds: new Int32Array(65).fill(5) })).toThrow(/position 64/)
    model.dispose()
  })

  it('leaves no tensor behind: forward calls inside tidy, and build + dispose', async () => {
    const start = tf.memory().numTensors
    const model = await bertFamily.build(source, source.config!, { task: 'classification' })
    logitsOf(model, pairs)
    const afterFirst = tf.memory().numTensors
    for (let i = 0; i < 3; i++) logitsOf(model, pairs)
    // Without a mask or token types too.
    logitsOf(model, { batchSize: 1, length: 3, inputIds: Int32Array.from([2, 7, 3]) })
    expect(tf.memory().numTensors).toBe(afterFirst)
    model.dispose()
    expect(tf.memory().numTensors).toBe(start)
  })
})
