import * as tf from '@tensorflow/tfjs'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { describeModel, openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { debertaFamily, debertaSettings, logBucketPosition } from '../../../src/main/engine/models/deberta'
import { taskLoss } from '../../../src/main/engine/models/loss'
import { familyFor } from '../../../src/main/engine/models/registry'
import type { BuiltModel, ModelInputs, ModelTask } from '../../../src/main/engine/models/types'
import { adaptTargets, methods, type Adapter } from '../../../src/main/engine/peft'
import { inProcessDecompose } from '../../helpers/decompose'
import { hfFixture, hfReference } from '../../helpers/hfref'
import { tempDir } from '../../helpers/paths'
import { logitsOf, relativeDifference, rewriteCheckpoint, writeHead } from './hfModels'

/**
 * The DeBERTa-v2 family against the real transformers 4.44 (tests/reference/hf_deberta.py runs
 * DebertaV2ForSequenceClassification from ../shared/hfref): logits, losses and SiVA δ-gradients on
 * hfref's deberta-v2-cls fixture (DeBERTa-v3's layout) and on checkpoints the real save_pretrained
 * writes here (a bare DebertaV2Model; DeBERTa-v2 settings v3 does not use).
 */

interface Forward {
  logits: number[][]
  loss?: number
  grads?: Record<string, number[]>
  param_grads?: Record<string, number[]>
}

type Job = Record<string, unknown> & { kind: 'save' | 'fixture' | 'positions' | 'forward' }

function reference<T>(jobs: Job[]): T[] {
  return hfReference<{ results: T[] }>('hf_deberta.py', [], { jobs }).results
}

/** A padded batch from rows of ids (pad 0), with its mask, and the same as lists for the reference. */
function batch(rows: number[][], typeRows?: number[][]): ModelInputs & { lists: Record<string, number[][]> } {
  const length = Math.max(...rows.map((r) => r.length))
  const ids = rows.map((r) => [...r, ...Array<number>(length - r.length).fill(0)])
  const mask = rows.map((r) => [...Array<number>(r.length).fill(1), ...Array<number>(length - r.length).fill(0)])
  const types = typeRows?.map((r) => [...r, ...Array<number>(length - r.length).fill(0)])
  return {
    batchSize: rows.length,
    length,
    inputIds: Int32Array.from(ids.flat()),
    attentionMask: Int32Array.from(mask.flat()),
    ...(types && { tokenTypeIds: Int32Array.from(types.flat()) }),
    lists: { input_ids: ids, attention_mask: mask, ...(types && { token_type_ids: types }) }
  }
}

/** Seeded token ids in [4, vocab). */
function tokens(count: number, seed: number, vocab: number): number[] {
  let state = seed
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return 4 + (state % (vocab - 4))
  })
}

/** SiVA's band: k = round(0.25 · 32) = 8 singular values of every 32×32 and 37×32 target. */
const bandK = 8

/** δ for each named target, small nonzero values (what the reference applies by name). */
function deltasFor(names: string[]): Record<string, number[]> {
  return Object.fromEntries(names.map((name, t) => [name, Array.from(Float32Array.from({ length: bandK }, (_, i) => 0.3 * Math.sin(1 + i + 7 * t)))]))
}

/** The engine's SiVA on `names`, δ set to deltasFor(names). */
async function sivaOn(source: TensorSource, names: string[]): Promise<{ adapters: Adapter[]; linears: Map<string, (x: tf.Tensor2D) => tf.Tensor2D> }> {
  const targets = debertaFamily.targets(source.config!, source.tensors).filter((t) => names.includes(t.name))
  expect(targets.map((t) => t.name)).toEqual(names)
  const { adapters, linears } = await adaptTargets(source, targets, methods.siva, { perc: 0.25, seed: 1, decompose: inProcessDecompose })
  const deltas = deltasFor(names)
  for (const adapter of adapters) {
    expect(adapter.variables[0]!.size).toBe(bandK)
    adapter.variables[0]!.assign(tf.tensor1d(deltas[adapter.target.name]!))
  }
  return { adapters, linears }
}

/** d loss / d δ for each adapter, by tfjs. */
function deltaGrads(model: BuiltModel, adapters: Adapter[], inputs: ModelInputs, task: ModelTask, labels: number[]): { loss: number; grads: Map<string, Float32Array> } {
  const variables = adapters.map((a) => a.variables[0]!)
  const target = task === 'regression' ? tf.tensor1d(labels) : tf.tensor1d(labels, 'int32')
  const { value, grads } = tf.variableGrads(() => taskLoss(task, model.forward(inputs), target), variables)
  const result = new Map(adapters.map((a, i) => [a.target.name, grads[variables[i]!.name]!.dataSync() as Float32Array]))
  const loss = value.dataSync()[0]!
  tf.dispose([value, target, ...Object.values(grads)])
  return { loss, grads: result }
}

const relative = (actual: number, expected: number): number => Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-30)
const qkv = (layers: number[]): string[] => layers.flatMap((i) => ['query_proj', 'key_proj', 'value_proj'].map((p) => `deberta.encoder.layer.${i}.attention.self.${p}`))

let fixtureDir: string
let fixture: TensorSource
let bareDir: string
let v2Dir: string
let plainDir: string
let positionsReference: { first: number[]; last: number[] }[]
const bucketCases = [
  { length: 1100, bucket: 256, max: 512 }, // DeBERTa-v3-base
  { length: 300, bucket: 16, max: 64 }, // the fixture
  { length: 700, bucket: 32, max: 128 },
  { length: 40, bucket: -1, max: 64 }
]

/** DeBERTa-v2 settings DeBERTa-v3 does not use, so that each has its own check. */
const v2Config = {
  vocab_size: 208, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 37, max_position_embeddings: 64,
  type_vocab_size: 2, relative_attention: true, position_buckets: -1, max_relative_positions: 12, pos_att_type: ['p2c', 'c2p'],
  share_att_key: false, norm_rel_ebd: 'none', position_biased_input: true, hidden_act: 'gelu_new', pooler_hidden_act: 'tanh',
  layer_norm_eps: 1e-7, pad_token_id: 0, num_labels: 2
}
const plainConfig = { ...v2Config, type_vocab_size: 0, relative_attention: false, pos_att_type: ['c2p'], share_att_key: true, hidden_act: 'gelu', pooler_hidden_act: 'gelu' }

beforeAll(async () => {
  await selectBackend('wasm')
  fixtureDir = hfFixture('deberta-v2-cls')
  fixture = await openCheckpoint(fixtureDir)
  bareDir = tempDir('deberta-bare')
  v2Dir = tempDir('deberta-v2-settings')
  plainDir = tempDir('deberta-no-relative')
  const results = reference<{ loading_info?: Record<string, string[]> } & { first: number[]; last: number[] }>([
    { kind: 'save', base: fixtureDir, class: 'model', out: bareDir },
    { kind: 'save', config: v2Config, seed: 11, out: v2Dir },
    { kind: 'save', config: plainConfig, seed: 12, out: plainDir },
    ...bucketCases.map((c) => ({ kind: 'positions' as const, ...c }))
  ])
  expect(results[0]!.loading_info).toEqual({ missing_keys: [], unexpected_keys: [], mismatched_keys: [], error_msgs: [] })
  positionsReference = results.slice(3)
  // pos_att_type as DeBERTa's own configs write it, "p2c|c2p" (transformers splits it).
  const configFile = join(v2Dir, 'config.json')
  writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), pos_att_type: 'p2c|c2p' }, null, 2))
})

afterAll(async () => {
  await fixture.close()
})

describe('DeBERTa-v2: relative positions', () => {
  it("log buckets equal transformers' build_relative_position, distance for distance, up to ±1099", () => {
    for (const [c, { length, bucket, max }] of bucketCases.entries()) {
      const ours = (distance: number): number => (bucket > 0 ? logBucketPosition(distance, bucket, max) : distance)
      // Row 0 holds distances 0, −1, …, −(L − 1); the last row L − 1, …, 0.
      expect(Array.from({ length }, (_, j) => ours(0 - j))).toEqual(positionsReference[c]!.first)
      expect(Array.from({ length }, (_, j) => ours(length - 1 - j))).toEqual(positionsReference[c]!.last)
    }
  })
})

describe('DeBERTa-v2: config and targets', () => {
  it('reads DeBERTa-v3 settings from config.json', () => {
    const settings = debertaSettings(fixture.config!)
    expect(settings).toMatchObject({
      hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 37, layerNormEps: 1e-7, relativeAttention: true, positionBuckets: 16,
      maxRelativePositions: 64, attentionSpan: 16, contentToPosition: true, positionToContent: true, shareAttentionKey: true,
      normalizeRelativeEmbeddings: true, positionBiasedInput: false, typeVocabSize: 0, poolerActivation: 'gelu'
    })
    expect(settings.dropout).toEqual({ hidden: 0.1, attention: 0.1, pooler: 0, classifier: 0.1 })
  })

  it('lists six nn.Linear projections per layer; defaults to query_proj and value_proj (PEFT); found by model_type or architecture', () => {
    expect(familyFor(fixture.config)).toBe(debertaFamily)
    const { model_type: _, ...withoutType } = fixture.config!.raw
    expect(familyFor(describeModel('config.json', withoutType))).toBe(debertaFamily)
    const targets = debertaFamily.targets(fixture.config!, fixture.tensors)
    expect(targets).toHaveLength(12)
    expect(targets.slice(0, 6).map((t) => [t.name, t.role, t.outFeatures, t.inFeatures])).toEqual([
      ['deberta.encoder.layer.0.attention.self.query_proj', 'query', 32, 32],
      ['deberta.encoder.layer.0.attention.self.key_proj', 'key', 32, 32],
      ['deberta.encoder.layer.0.attention.self.value_proj', 'value', 32, 32],
      ['deberta.encoder.layer.0.attention.output.dense', 'attention.output', 32, 32],
      ['deberta.encoder.layer.0.intermediate.dense', 'mlp.in', 37, 32],
      ['deberta.encoder.layer.0.output.dense', 'mlp.out', 32, 37]
    ])
    for (const target of targets) {
      expect(target.weightTensor).toBe(`${target.name}.weight`)
      expect(fixture.tensors.find((t) => t.name === target.weightTensor)?.shape).toEqual([target.outFeatures, target.inFeatures])
    }
    expect(targets.filter((t) => debertaFamily.defaultTargets.test(t.name)).map((t) => t.name)).toEqual(qkv([0, 1]).filter((name) => !name.endsWith('key_proj')))
  })

  it('a bare DebertaV2Model (saved by transformers): the same target names, weights without the prefix', async () => {
    const bare = await openCheckpoint(bareDir)
    expect(bare.config!.architectures).toEqual(['DebertaV2Model'])
    const fromConfig = debertaFamily.targets(bare.config!)
    const fromTensors = debertaFamily.targets(bare.config!, bare.tensors)
    expect(fromTensors.map((t) => t.name)).toEqual(debertaFamily.targets(fixture.config!).map((t) => t.name))
    expect(fromConfig.map((t) => t.weightTensor)).toEqual(fromTensors.map((t) => t.weightTensor))
    expect(fromTensors[0]!.weightTensor).toBe('encoder.layer.0.attention.self.query_proj.weight')
    await bare.close()
  })

  it('settings SiVA does not run are refused, naming the field', () => {
    const config = (extra: Record<string, unknown>) => describeModel('/m/config.json', { ...fixture.config!.raw, ...extra })
    expect(() => debertaSettings(config({ conv_kernel_size: 3 }))).toThrow(/config\.json.*"conv_kernel_size".*convolution/)
    expect(() => debertaSettings(config({ embedding_size: 16 }))).toThrow(/"embedding_size".*embed_proj/)
    expect(() => debertaSettings(config({ pos_att_type: 'c2p|p2p' }))).toThrow(/"pos_att_type" names "p2p"/)
    expect(() => debertaSettings(config({ norm_rel_ebd: 'batch_norm' }))).toThrow(/"norm_rel_ebd" names "batch_norm"/)
    expect(() => debertaSettings(config({ pooler_hidden_size: 16 }))).toThrow(/"pooler_hidden_size"/)
    expect(() => debertaSettings(config({ attention_head_size: 4 }))).toThrow(/"attention_head_size"/)
    expect(() => debertaSettings(config({ position_buckets: 200 }))).toThrow(/"position_buckets"/)
    expect(() => debertaSettings(config({ hidden_act: 'mish' }))).toThrow(/"hidden_act"/)
    // Sizes set against the tensors: the relative table holds 2 · position_buckets rows.
    expect(() => debertaFamily.targets(config({ position_buckets: 8 }), fixture.tensors)).toThrow(/"position_buckets" says 8 \(a table of 16 relative embeddings\), but tensor deberta\.encoder\.rel_embeddings\.weight has shape \[32, 32\]/)
    expect(() => debertaFamily.targets(config({ num_hidden_layers: 3 }), fixture.tensors)).toThrow(/"num_hidden_layers" says 3 layers/)
    expect(debertaSettings(config({ pos_att_type: 'C2P | p2c', norm_rel_ebd: 'layer_norm|none' }))).toMatchObject({ contentToPosition: true, positionToContent: true, normalizeRelativeEmbeddings: true })
    expect(debertaSettings(config({ pos_att_type: null, max_relative_positions: 20 }))).toMatchObject({ contentToPosition: false, positionToContent: false, maxRelativePositions: 20 })
  })
})

describe('DeBERTa-v2 against transformers (DebertaV2ForSequenceClassification)', () => {
  // Every case's inputs, δ and head, and one run of the reference for them all (each run of transformers costs seconds).
  const cases = {
    // A short padded row, one past the fixture's 64 positions (relative positions clamp), one in between.
    classification: { inputs: batch([[1, ...tokens(10, 3, 208), 2], [1, ...tokens(78, 5, 208), 2], [1, ...tokens(40, 9, 208), 2]]), labels: [2, 0, 1], names: [...qkv([0, 1]), 'deberta.encoder.layer.1.intermediate.dense'] },
    regression: { inputs: batch([[1, ...tokens(20, 13, 208), 2], [1, ...tokens(6, 17, 208), 2]]), labels: [0.75, -1.5], names: qkv([0]) },
    bare: { inputs: batch([[1, ...tokens(15, 21, 208), 2], [1, 9, 2]]) },
    v2: {
      inputs: batch(
        [[1, ...tokens(12, 31, 208), 2, ...tokens(14, 37, 208), 2], [1, ...tokens(18, 41, 208), 2]],
        [[...Array<number>(14).fill(0), ...Array<number>(15).fill(1)], Array<number>(20).fill(0)]
      ),
      labels: [1, 0],
      names: qkv([0])
    },
    plain: { inputs: batch([[1, ...tokens(25, 43, 208), 2], [1, 2]]) },
    trainAll: {
      inputs: batch([[1, ...tokens(30, 51, 208), 2], [1, ...tokens(9, 53, 208), 2]]),
      labels: [0, 2],
      wanted: ['deberta.encoder.rel_embeddings.weight', 'deberta.encoder.LayerNorm.weight', 'deberta.embeddings.word_embeddings.weight', 'pooler.dense.weight']
    }
  }
  let stored: { input_ids: number[][]; attention_mask: number[][]; logits: number[][] }
  const expected: Record<string, Forward> = {}
  let regressionModel: BuiltModel
  let bareSource: TensorSource
  let bareModel: BuiltModel

  beforeAll(async () => {
    // The new heads come from the engine (seeded); the reference is given them.
    regressionModel = await debertaFamily.build(fixture, fixture.config!, { task: 'regression', seed: 7 })
    const regressionHead = join(tempDir('deberta-head'), 'head.safetensors')
    await writeHead(regressionModel, regressionHead)
    bareSource = await openCheckpoint(bareDir)
    bareModel = await debertaFamily.build(bareSource, bareSource.config!, { task: 'classification', numLabels: 4, seed: 3 })
    const bareHead = join(tempDir('deberta-bare-head'), 'head.safetensors')
    await writeHead(bareModel, bareHead)
    const { classification, regression, bare, v2, plain, trainAll } = cases
    const forwards: [string, Job][] = [
      ['classification', { kind: 'forward', model: fixtureDir, ...classification.inputs.lists, labels: classification.labels, deltas: deltasFor(classification.names) }],
      ['classificationWithoutDelta', { kind: 'forward', model: fixtureDir, ...classification.inputs.lists }],
      ['regression', { kind: 'forward', model: fixtureDir, num_labels: 1, head_file: regressionHead, ...regression.inputs.lists, labels: regression.labels, deltas: deltasFor(regression.names) }],
      ['bare', { kind: 'forward', model: bareDir, num_labels: 4, head_file: bareHead, ...bare.inputs.lists }],
      ['v2', { kind: 'forward', model: v2Dir, ...v2.inputs.lists, labels: v2.labels, deltas: deltasFor(v2.names) }],
      ['plain', { kind: 'forward', model: plainDir, ...plain.inputs.lists }],
      ['trainAll', { kind: 'forward', model: fixtureDir, ...trainAll.inputs.lists, labels: trainAll.labels, param_grads: trainAll.wanted }]
    ]
    const [fromNpz, ...results] = reference<Forward & typeof stored>([{ kind: 'fixture', model: fixtureDir }, ...forwards.map(([, job]) => job)])
    stored = fromNpz!
    for (const [i, [name]] of forwards.entries()) expected[name] = results[i]!
  })

  afterAll(async () => {
    regressionModel.dispose()
    bareModel.dispose()
    await bareSource.close()
  })

  it('logits of the fixture: the inputs transformers tokenised, and its logits in reference.npz', async () => {
    const inputs: ModelInputs = { batchSize: stored.input_ids.length, length: stored.input_ids[0]!.length, inputIds: Int32Array.from(stored.input_ids.flat()), attentionMask: Int32Array.from(stored.attention_mask.flat()) }
    expect(inputs.attentionMask!.some((m) => m === 0)).toBe(true)
    expect(inputs.length).toBeGreaterThan(8) // distances past position_buckets / 2: log buckets in use
    const model = await debertaFamily.build(fixture, fixture.config!, { task: 'classification' })
    expect(model.head).toEqual({ created: false, tensors: ['classifier.weight', 'classifier.bias'] })
    expect(model.baseVariables).toEqual([])
    const error = relativeDifference(logitsOf(model, inputs), stored.logits.flat())
    console.info(`DeBERTa-v2 fixture logits: relative error ${error.toExponential(2)}`)
    expect(error).toBeLessThan(1e-5)
    model.dispose()
  })

  it('classification with SiVA on q/k/v of both layers and an MLP: logits, loss and every d loss / d δ', async () => {
    const { inputs, labels, names } = cases.classification
    const { adapters, linears } = await sivaOn(fixture, names)
    const model = await debertaFamily.build(fixture, fixture.config!, { task: 'classification', linears })
    const logits = logitsOf(model, inputs)
    const logitsError = relativeDifference(logits, expected.classification!.logits.flat())
    expect(logitsError).toBeLessThan(1e-5)
    // δ moves the logits: the comparison above sees the adapters.
    expect(relativeDifference(logits, expected.classificationWithoutDelta!.logits.flat())).toBeGreaterThan(1e-3)
    const { loss, grads } = deltaGrads(model, adapters, inputs, 'classification', labels)
    expect(relative(loss, expected.classification!.loss!)).toBeLessThan(1e-5)
    for (const name of names) {
      const error = relativeDifference(grads.get(name)!, expected.classification!.grads![name]!)
      console.info(`DeBERTa-v2 d loss/d δ ${name}: relative error ${error.toExponential(2)}`)
      expect(error).toBeLessThan(1e-4)
    }
    console.info(`DeBERTa-v2 classification with δ: logits ${logitsError.toExponential(2)}, loss ${relative(loss, expected.classification!.loss!).toExponential(2)}`)
    model.dispose()
    adapters.forEach((a) => a.dispose())
  })

  it('regression (numLabels 1): a new classifier from the seed on the stored pooler; logits, MSE loss and d loss / d δ', async () => {
    const { inputs, labels, names } = cases.regression
    expect(regressionModel.head).toEqual({ created: true, tensors: ['classifier.weight', 'classifier.bias'] })
    const { adapters, linears } = await sivaOn(fixture, names)
    const model = await debertaFamily.build(fixture, fixture.config!, { task: 'regression', seed: 7, linears })
    // The same seed gives the same head: the one the reference was given.
    expect(Array.from(model.headVariables[0]!.dataSync())).toEqual(Array.from(regressionModel.headVariables[0]!.dataSync()))
    expect(relativeDifference(logitsOf(model, inputs), expected.regression!.logits.flat())).toBeLessThan(1e-5)
    const { loss, grads } = deltaGrads(model, adapters, inputs, 'regression', labels)
    expect(relative(loss, expected.regression!.loss!)).toBeLessThan(1e-5)
    for (const name of names) expect(relativeDifference(grads.get(name)!, expected.regression!.grads![name]!)).toBeLessThan(1e-4)
    model.dispose()
    adapters.forEach((a) => a.dispose())
  })

  it('a bare DebertaV2Model: new pooler and classifier (they train), the same encoder as the fixture', () => {
    expect(bareModel.head).toEqual({ created: true, tensors: ['pooler.dense.weight', 'pooler.dense.bias', 'classifier.weight', 'classifier.bias'] })
    expect(bareModel.headVariables.map((v) => v.shape)).toEqual([[32, 32], [32], [4, 32], [4]])
    expect(relativeDifference(logitsOf(bareModel, cases.bare.inputs), expected.bare!.logits.flat())).toBeLessThan(1e-5)
  })

  it('DeBERTa-v2 settings: own pos_key_proj / pos_query_proj, no buckets (clamped at 12), absolute positions, token types, "p2c|c2p"', async () => {
    const { inputs, labels, names } = cases.v2
    const source = await openCheckpoint(v2Dir)
    expect(debertaSettings(source.config!)).toMatchObject({ shareAttentionKey: false, positionBuckets: -1, attentionSpan: 12, positionBiasedInput: true, typeVocabSize: 2, contentToPosition: true, positionToContent: true })
    const { adapters, linears } = await sivaOn(source, names)
    const model = await debertaFamily.build(source, source.config!, { task: 'classification', linears })
    expect(relativeDifference(logitsOf(model, inputs), expected.v2!.logits.flat())).toBeLessThan(1e-5)
    const { loss, grads } = deltaGrads(model, adapters, inputs, 'classification', labels)
    expect(relative(loss, expected.v2!.loss!)).toBeLessThan(1e-5)
    for (const name of names) expect(relativeDifference(grads.get(name)!, expected.v2!.grads![name]!)).toBeLessThan(1e-4)
    expect(() => model.forward({ batchSize: 1, length: 65, inputIds: new Int32Array(65).fill(5) })).toThrow(/position 64/)
    model.dispose()
    adapters.forEach((a) => a.dispose())
    await source.close()
  })

  it('no relative attention (scale still counts pos_att_type): logits', async () => {
    const source = await openCheckpoint(plainDir)
    const model = await debertaFamily.build(source, source.config!, { task: 'classification' })
    expect(relativeDifference(logitsOf(model, cases.plain.inputs), expected.plain!.logits.flat())).toBeLessThan(1e-5)
    model.dispose()
    await source.close()
  })

  it('trainAll: every base weight a variable; gradients of the relative embeddings, their LayerNorm, words and the pooler match torch', async () => {
    const { inputs, labels, wanted } = cases.trainAll
    const model = await debertaFamily.build(fixture, fixture.config!, { task: 'classification', trainAll: true })
    const names = model.baseTensors!
    expect(new Set(names)).toEqual(new Set(fixture.tensors.map((t) => t.name).filter((n) => !n.startsWith('classifier.'))))
    const variables = wanted.map((name) => model.baseVariables[names.indexOf(name)]!)
    const target = tf.tensor1d(labels, 'int32')
    const { value, grads } = tf.variableGrads(() => taskLoss('classification', model.forward(inputs), target), variables)
    expect(relative(value.dataSync()[0]!, expected.trainAll!.loss!)).toBeLessThan(1e-5)
    for (const [i, name] of wanted.entries()) {
      const error = relativeDifference(grads[variables[i]!.name]!.dataSync(), expected.trainAll!.param_grads![name]!)
      console.info(`DeBERTa-v2 trainAll d loss/d ${name}: relative error ${error.toExponential(2)}`)
      expect(error).toBeLessThan(1e-4)
    }
    tf.dispose([value, target, ...Object.values(grads)])
    model.dispose()
  })
})

describe('DeBERTa-v2: training mode, errors and memory', () => {
  it('dropout only with a seed: same seed same logits, another seed others', async () => {
    const model = await debertaFamily.build(fixture, fixture.config!, { task: 'classification' })
    const inputs = batch([[1, ...tokens(12, 61, 208), 2], [1, 5, 2]])
    const plain = logitsOf(model, inputs)
    const seeded = logitsOf(model, { ...inputs, dropoutSeed: 5 })
    expect(logitsOf(model, { ...inputs, dropoutSeed: 5 })).toEqual(seeded)
    expect(seeded).not.toEqual(plain)
    expect(logitsOf(model, { ...inputs, dropoutSeed: 6 })).not.toEqual(seeded)
    model.dispose()
  })

  it('refuses tasks it cannot do, names a missing tensor, checks inputs, and ignores token types without a table', async () => {
    await expect(debertaFamily.build(fixture, fixture.config!, { task: 'causal-lm' })).rejects.toThrow(/task "causal-lm" is not supported/)
    const dir = await rewriteCheckpoint(fixtureDir, 'deberta-missing', (name) => (name === 'deberta.encoder.rel_embeddings.weight' ? undefined : name))
    const broken = await openCheckpoint(dir)
    const before = tf.memory().numTensors
    await expect(debertaFamily.build(broken, broken.config!, { task: 'classification' })).rejects.toThrow(/no tensor deberta\.encoder\.rel_embeddings\.weight/)
    expect(tf.memory().numTensors).toBe(before)
    await broken.close()
    const model = await debertaFamily.build(fixture, fixture.config!, { task: 'classification' })
    expect(() => model.forward({ batchSize: 1, length: 2, inputIds: Int32Array.from([1, 208]) })).toThrow(/token id 208 is outside the vocabulary/)
    const ids = Int32Array.from([1, 7, 9, 2])
    expect(logitsOf(model, { batchSize: 1, length: 4, inputIds: ids, tokenTypeIds: Int32Array.from([0, 0, 1, 1]) })).toEqual(logitsOf(model, { batchSize: 1, length: 4, inputIds: ids }))
    model.dispose()
  })

  it('leaves no tensor behind: forward calls inside tidy, one token and many, and build + dispose', async () => {
    const start = tf.memory().numTensors
    const model = await debertaFamily.build(fixture, fixture.config!, { task: 'classification' })
    const inputs = batch([[1, ...tokens(12, 71, 208), 2], [1, 2]])
    logitsOf(model, inputs)
    const afterFirst = tf.memory().numTensors
    for (let i = 0; i < 3; i++) logitsOf(model, { ...inputs, dropoutSeed: i })
    logitsOf(model, { batchSize: 1, length: 1, inputIds: Int32Array.from([1]) })
    expect(tf.memory().numTensors).toBe(afterFirst)
    model.dispose()
    expect(tf.memory().numTensors).toBe(start)
  })
})
