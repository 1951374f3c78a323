import { selectBackend } from '../../../src/main/engine/backend'
import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { bertFamily } from '../../../src/main/engine/models/bert'
import { EncoderModel } from '../../../src/main/engine/models/bert/model'
import { taskLoss } from '../../../src/main/engine/models/loss'
import type { BuildOptions, ModelTask } from '../../../src/main/engine/models/types'
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

// BERT against the real transformers (BertForSequenceClassification; hf_models.py) on hfref's checkpoints:
// bert-cls (its own pooler and 3-label classifier), bert-mlm (BertForMaskedLM: an MLM head, no pooler — the
// hub's usual BERT), bert-base (a bare BertModel with its pooler, no prefix) and bert-cls-bf16-sharded, with
// the inputs transformers' BertTokenizer made ([CLS] = 2, [SEP] = 3, [PAD] = 0), single texts and pairs.

const scratch = tempDir('bert')
const classes = [0, 2, 1, 1]
const regressionTargets = [0.5, -1.25, 2, 0.75]

let source: TensorSource
let clsDir: string
/** The fixture's four texts, right-padded. */
let texts: TextBatch
/** Pairs made of the fixture's texts ([CLS] a [SEP] b [SEP], token types 0 then 1) and single texts, padded. */
let pairs: TextBatch
/** The logits transformers stored in each fixture's reference.npz (float32, as it runs by default). */
const storedLogits = new Map<string, number[]>()

const cases = new ReferenceCases('BERT')

/**
 * The engine's model on `dir` and transformers' class on the same folder, on `inputs`; a head the engine
 * created is written for the reference to load in place of transformers' random one.
 */
async function addCase(name: string, dir: string, inputs: TextBatch, options: BuildOptions, job: Partial<ForwardJob> = {}, adapters?: TestAdapters): Promise<void> {
  const checkpoint = await openCheckpoint(dir)
  const model = await bertFamily.build(checkpoint, checkpoint.config!, { ...options, ...(adapters && { linears: adapters.linears }) })
  await checkpoint.close()
  const task: ModelTask = options.task
  const values = task === 'regression' ? regressionTargets : (job.labels as number[] | undefined) ?? classes
  const headFile = model.head.created ? { head_file: await writeHead(model, join(scratch, `${name}-head.safetensors`)) } : {}
  cases.add(name, {
    model,
    inputs,
    task,
    labels: () => (task === 'regression' ? tf.tensor1d(values) : tf.tensor1d(values, 'int32')),
    adapters,
    job: { model: dir, task, ...textJob(inputs), labels: values, ...headFile, ...job }
  })
}

beforeAll(async () => {
  // The wasm backend as training runs it, with the engine's own matmul: fidelity is checked through it.
  await selectBackend('wasm')
  const cls = hfFixtureData('bert-cls')
  const bf16 = hfFixtureData('bert-cls-bf16-sharded')
  clsDir = cls.dir
  storedLogits.set('bert-cls', cls.arrays.logits!.values)
  storedLogits.set('bert-cls-bf16-sharded', bf16.arrays.logits!.values)
  texts = fixtureTextBatch(cls.arrays)
  expect(texts.typeRows!.flat().every((t) => t === 0)).toBe(true)
  const real = (r: number): number[] => texts.rows[r]!.slice(0, texts.maskRows[r]!.reduce((a, b) => a + b, 0))
  const pair = (a: number, b: number): [number[], number[]] => [[...real(a), ...real(b).slice(1)], [...real(a).map(() => 0), ...real(b).slice(1).map(() => 1)]]
  const rows = [pair(0, 1), [real(2), real(2).map(() => 0)], pair(3, 0), [real(1), real(1).map(() => 0)]] as [number[], number[]][]
  pairs = paddedBatch(rows.map(([ids]) => ids), 0, rows.map(([, types]) => types))
  expect([real(0)[0], real(0).at(-1)]).toEqual([2, 3])
  source = await openCheckpoint(clsDir)

  await addCase('texts', clsDir, texts, { task: 'classification' })
  await addCase('pairs', clsDir, pairs, { task: 'classification' }, { param_grads: ['classifier.weight', 'classifier.bias'] })
  await addCase('bf16-sharded', bf16.dir, texts, { task: 'classification' })
  await addCase('regression', clsDir, pairs, { task: 'regression', seed: 7 })
  await addCase('mlm-base', hfFixtureData('bert-mlm').dir, pairs, { task: 'classification', numLabels: 4, seed: 3 }, {
    num_labels: 4,
    labels: [3, 0, 2, 1],
    param_grads: ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']
  })
  await addCase('bare-base', hfFixtureData('bert-base').dir, pairs, { task: 'classification', numLabels: 3, seed: 2 }, { num_labels: 3 })

  const targets = bertFamily.targets(source.config!, source.tensors)
  const pick = (...names: string[]) => names.map((name) => targets.find((t) => t.name === name)!)
  const bandFile = join(scratch, 'band.safetensors')
  const band = await bandAdapters(source, pick('bert.encoder.layer.0.attention.self.query', 'bert.encoder.layer.1.intermediate.dense'), 4, bandFile, 0.1)
  await addCase('band', clsDir, pairs, { task: 'classification' }, { adapters: bandFile, param_grads: ['classifier.weight', 'classifier.bias'] }, band)
  for (const method of adapterMethods) {
    const adapters = await methodAdapters(source, pick('bert.encoder.layer.0.attention.self.key', 'bert.encoder.layer.1.output.dense'), method, join(scratch, `${method}.safetensors`))
    await addCase(method, clsDir, pairs, { task: 'classification' }, adapters.job, adapters)
  }
  cases.run()
}, 120_000)

afterAll(async () => {
  cases.dispose()
  await source?.close()
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

describe('BERT family: forward pass against transformers', () => {
  it("classification: logits and loss of the tokenizer's padded texts and of padded pairs; the checkpoint's head is used, and its gradient matches", () => {
    const model = cases.model('pairs')
    expect(model.head).toEqual({ created: false, tensors: ['classifier.weight', 'classifier.bias'] })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[3, 32], [3]])
    expect(model.baseVariables).toEqual([])
    expect(pairs.typeRows!.flat()).toContain(1)
    cases.compare('texts', { logits: 1e-4 })
    expect(maxAbsDifference(logitsOf(cases.model('texts'), texts), storedLogits.get('bert-cls')!)).toBeLessThan(1e-4)
    const expected = cases.compare('pairs', { logits: 1e-4 })
    expect([expected.class, expected.problem_type]).toEqual(['BertForSequenceClassification', 'single_label_classification'])
    cases.compareGradients('pairs', { tensors: ['classifier.weight', 'classifier.bias'] })
  })

  it('a BF16 checkpoint in two shards (bert-cls-bf16-sharded): its stored values give transformers\' logits and loss', () => {
    cases.compare('bf16-sharded', { logits: 1e-4 })
    expect(maxAbsDifference(logitsOf(cases.model('bf16-sharded'), texts), storedLogits.get('bert-cls-bf16-sharded')!)).toBeLessThan(1e-4)
    expect(maxAbsDifference(storedLogits.get('bert-cls-bf16-sharded')!, storedLogits.get('bert-cls')!)).toBeGreaterThan(1e-3)
  })

  it('d loss / d δ of a SiVA-style adapter on two targets matches torch autograd through transformers, and so does the head gradient', () => {
    cases.compare('band', { logits: 1e-4 })
    cases.compareGradients('band', { tensors: ['classifier.weight', 'classifier.bias'] })
  })

  it('every adapter method of engine/peft (siva, svdiff, topk, lora) on a key and an MLM output projection: loss and gradients', () => {
    for (const method of adapterMethods) {
      cases.compare(method, { logits: 1e-4 })
      cases.compareGradients(method)
    }
    expect(Math.abs(cases.result('siva').loss! - cases.result('pairs').loss!)).toBeGreaterThan(1e-4)
  })

  it('regression (numLabels 1) on a 3-label checkpoint: a new classifier, normal(0, initializer_range) from the seed, zero bias; logits and loss', async () => {
    const model = cases.model('regression')
    expect(model.head).toEqual({ created: true, tensors: ['classifier.weight', 'classifier.bias'] })
    const [weight, bias] = model.headVariables.map((v) => Array.from(v.dataSync()))
    expect(bias).toEqual([0])
    const std = Math.sqrt(weight!.reduce((s, w) => s + w * w, 0) / weight!.length)
    expect(std).toBeGreaterThan(0.01)
    expect(std).toBeLessThan(0.04)
    const expected = cases.compare('regression', { logits: 1e-4 })
    expect([expected.problem_type, expected.loading_info.mismatched_keys.sort()]).toEqual(['regression', ['classifier.bias', 'classifier.weight']])
    // The same seed gives the same head.
    const again = await bertFamily.build(source, source.config!, { task: 'regression', seed: 7 })
    expect(Array.from(again.headVariables[0]!.dataSync())).toEqual(weight)
    again.dispose()
  })

  it('a BertForMaskedLM base (MLM head, no pooler): pooler and classifier are created and train; the MLM head is left out; logits, loss and head gradients match', () => {
    const model = cases.model('mlm-base')
    expect(model.head).toEqual({ created: true, tensors: ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias'] })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[32, 32], [32], [4, 32], [4]])
    const expected = cases.compare('mlm-base', { logits: 1e-4 })
    expect(expected.loading_info.missing_keys.sort()).toEqual(['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'classifier.bias', 'classifier.weight'])
    expect(expected.loading_info.unexpected_keys.length).toBeGreaterThan(0)
    expect(expected.loading_info.unexpected_keys.every((key) => key.startsWith('cls.predictions.'))).toBe(true)
    cases.compareGradients('mlm-base', { tensors: ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias'] })
  })

  it("a bare BertModel checkpoint (bert-base: no \"bert.\" prefix, its own pooler): a new classifier on the stored pooler; transformers agrees", () => {
    const model = cases.model('bare-base')
    expect(model.head).toEqual({ created: true, tensors: ['classifier.weight', 'classifier.bias'] })
    const expected = cases.compare('bare-base', { logits: 1e-4 })
    expect(expected.loading_info.missing_keys.sort()).toEqual(['classifier.bias', 'classifier.weight'])
  })

  it('the same checkpoint without its "bert." prefix gives the same logits', async () => {
    const dir = await rewriteCheckpoint(clsDir, 'bert-bare', (name) => name.replace(/^bert\./, ''))
    const bare = await openCheckpoint(dir)
    const model = await bertFamily.build(bare, bare.config!, { task: 'classification' })
    expect(maxAbsDifference(logitsOf(model, pairs), logitsOf(cases.model('pairs'), pairs))).toBe(0)
    expect(model.head.created).toBe(false)
    model.dispose()
    await bare.close()
  })

  it('trainAll: every other weight is a variable under its tensor name, in the checkpoint layout; same logits', async () => {
    const model = await bertFamily.build(source, source.config!, { task: 'classification', trainAll: true })
    const names = (model as EncoderModel).baseTensors
    expect(model.baseVariables).toHaveLength(names.length)
    // Everything but the classifier (head) is a base variable.
    expect(names.length).toBe(source.tensors.length - 2)
    const query = names.indexOf('bert.encoder.layer.0.attention.self.query.weight')
    expect(model.baseVariables[query]!.shape).toEqual([32, 32])
    expect(model.baseVariables[names.indexOf('bert.encoder.layer.0.intermediate.dense.weight')]!.shape).toEqual([37, 32])
    expect(maxAbsDifference(logitsOf(model, pairs), logitsOf(cases.model('pairs'), pairs))).toBeLessThan(1e-5)
    // The gradient reaches the embeddings (one-hot path: the wasm backend cannot differentiate gather).
    const labels = tf.tensor1d(classes, 'int32')
    const words = model.baseVariables[names.indexOf('bert.embeddings.word_embeddings.weight')]!
    const { value, grads } = tf.variableGrads(() => taskLoss('classification', model.forward(pairs), labels), [words])
    expect(tf.tidy(() => tf.abs(grads[words.name]!).sum().dataSync()[0]!)).toBeGreaterThan(0)
    tf.dispose([value, labels, ...Object.values(grads)])
    model.dispose()
  })
})

describe('BERT family: errors and memory', () => {
  it('a missing tensor is named', async () => {
    const dir = await rewriteCheckpoint(clsDir, 'bert-missing', (name) => (name === 'bert.encoder.layer.1.output.dense.weight' ? undefined : name))
    const broken = await openCheckpoint(dir)
    const before = tf.memory().numTensors
    await expect(bertFamily.build(broken, broken.config!, { task: 'classification' })).rejects.toThrow(/no tensor bert\.encoder\.layer\.1\.output\.dense\.weight/)
    expect(tf.memory().numTensors).toBe(before)
    await broken.close()
  })

  it('tasks it cannot do, and inputs that do not fit, are refused clearly', async () => {
    await expect(bertFamily.build(source, source.config!, { task: 'causal-lm' })).rejects.toThrow(/task "causal-lm" is not supported/)
    await expect(bertFamily.build(source, source.config!, { task: 'image-classification' })).rejects.toThrow(/not supported/)
    const model = await bertFamily.build(source, source.config!, { task: 'classification' })
    expect(() => model.forward({ batchSize: 1, length: 2, inputIds: Int32Array.from([2, 217]) })).toThrow(/token id 217 is outside the vocabulary/)
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
