import { selectBackend } from '../../../src/main/engine/backend'
import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { robertaFamily, robertaPositionIds } from '../../../src/main/engine/models/roberta'
import type { BuildOptions, ModelInputs } from '../../../src/main/engine/models/types'
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
  textBatch,
  textJob,
  writeHead,
  type ForwardJob,
  type TestAdapters,
  type TextBatch
} from './hfModels'

// RoBERTa against the real transformers (RobertaForSequenceClassification; hf_models.py) on hfref's
// checkpoints: roberta-cls (its own classifier) and roberta-mlm (RobertaForMaskedLM, roberta-base's layout:
// an lm_head and no classifier), with the inputs transformers' RobertaTokenizer made (<s> = 0, <pad> = 1,
// </s> = 2; pad_token_id 1).

const scratch = tempDir('roberta')
const classes = [2, 0, 1, 1]
const regressionTargets = [0.25, -0.5, 1, 0.5]

let source: TensorSource
let clsDir: string
/** The fixture's four texts, right-padded with <pad>. */
let texts: TextBatch
/** Left padding, and a pad token inside a row that is attended to. */
const tricky = textBatch(
  [
    [1, 1, 0, 15, 27, 33, 2],
    [0, 12, 1, 13, 2, 1, 1],
    [0, 5, 6, 7, 8, 9, 2]
  ],
  [
    [0, 0, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1, 1, 1]
  ]
)
let storedLogits: number[]

const cases = new ReferenceCases('RoBERTa')

/** The engine's model on `dir` and transformers' class on the same folder, on `inputs`; a created head is given to the reference. */
async function addCase(name: string, dir: string, inputs: TextBatch, options: BuildOptions, job: Partial<ForwardJob> = {}, adapters?: TestAdapters): Promise<void> {
  const checkpoint = await openCheckpoint(dir)
  const model = await robertaFamily.build(checkpoint, checkpoint.config!, { ...options, ...(adapters && { linears: adapters.linears }) })
  await checkpoint.close()
  const regression = options.task === 'regression'
  const values = (regression ? regressionTargets : classes).slice(0, inputs.batchSize)
  const headFile = model.head.created ? { head_file: await writeHead(model, join(scratch, `${name}-head.safetensors`)) } : {}
  cases.add(name, {
    model,
    inputs,
    task: options.task,
    labels: () => (regression ? tf.tensor1d(values) : tf.tensor1d(values, 'int32')),
    adapters,
    job: { model: dir, task: options.task, ...textJob(inputs), labels: values, ...headFile, ...job }
  })
}

const headTensors = ['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias']

beforeAll(async () => {
  // The wasm backend as training runs it, with the engine's own matmul: fidelity is checked through it.
  await selectBackend('wasm')
  const cls = hfFixtureData('roberta-cls')
  clsDir = cls.dir
  storedLogits = cls.arrays.logits!.values
  texts = fixtureTextBatch(cls.arrays)
  expect(texts.typeRows).toBeUndefined()
  expect(texts.rows.map((row, r) => row.filter((id, j) => id === 1 && texts.maskRows[r]![j] === 0).length).some((n) => n > 0)).toBe(true)
  source = await openCheckpoint(clsDir)

  await addCase('texts', clsDir, texts, { task: 'classification' }, { param_grads: headTensors })
  await addCase('tricky', clsDir, tricky, { task: 'classification' })
  const targets = robertaFamily.targets(source.config!, source.tensors)
  const pick = (...names: string[]) => names.map((name) => targets.find((t) => t.name === name)!)
  const bandFile = join(scratch, 'band.safetensors')
  const band = await bandAdapters(source, pick('roberta.encoder.layer.0.attention.self.value', 'roberta.encoder.layer.1.output.dense'), 3, bandFile, 0.1)
  await addCase('band', clsDir, texts, { task: 'classification' }, { adapters: bandFile, param_grads: headTensors }, band)
  for (const method of adapterMethods) {
    const adapters = await methodAdapters(source, pick('roberta.encoder.layer.0.attention.output.dense', 'roberta.encoder.layer.1.attention.self.query'), method, join(scratch, `${method}.safetensors`))
    await addCase(method, clsDir, texts, { task: 'classification' }, adapters.job, adapters)
  }
  await addCase('mlm-base', hfFixtureData('roberta-mlm').dir, texts, { task: 'regression', seed: 11 }, { param_grads: headTensors })
  cases.run()
}, 120_000)

afterAll(async () => {
  cases.dispose()
  await source?.close()
})

describe('RoBERTa family: targets and positions', () => {
  it('lists six projections per layer under roberta.*, defaulting to query and value', () => {
    const targets = robertaFamily.targets(source.config!)
    expect(targets).toHaveLength(12)
    expect(targets.map((t) => t.role)).toEqual(['query', 'key', 'value', 'attention.output', 'mlp.in', 'mlp.out', 'query', 'key', 'value', 'attention.output', 'mlp.in', 'mlp.out'])
    for (const target of targets) {
      expect(target.name.startsWith('roberta.encoder.layer.')).toBe(true)
      expect(source.tensors.find((t) => t.name === target.weightTensor)?.shape).toEqual([target.outFeatures, target.inFeatures])
    }
    expect(targets.filter((t) => robertaFamily.defaultTargets.test(t.name))).toHaveLength(4)
    expect(robertaFamily.modelTypes).toEqual(['roberta'])
  })

  it('numbers non-padding tokens from padding_idx + 1; padding keeps padding_idx', () => {
    const ids = Int32Array.from([0, 15, 2, 1, 1, /* left padded */ 1, 1, 0, 44, 2, /* pad inside */ 0, 7, 1, 8, 2])
    expect(Array.from(robertaPositionIds(1)(ids, 3, 5))).toEqual([2, 3, 4, 1, 1, 1, 1, 2, 3, 4, 2, 3, 1, 4, 5])
  })
})

describe('RoBERTa family: forward pass against transformers', () => {
  it("classification: logits and loss of the tokenizer's right-padded texts; the checkpoint's head is used, and its gradient matches", () => {
    const model = cases.model('texts')
    expect(model.head).toEqual({ created: false, tensors: headTensors })
    const expected = cases.compare('texts', { logits: 1e-4 })
    expect(expected.loading_info).toMatchObject({ missing_keys: [], unexpected_keys: [], mismatched_keys: [] })
    expect(maxAbsDifference(logitsOf(model, texts), storedLogits)).toBeLessThan(1e-4)
    cases.compareGradients('texts', { tensors: headTensors })
  })

  it('position ids come from the ids: left padding and an attended pad token match transformers', () => {
    cases.compare('tricky', { logits: 1e-4 })
    // (Left padding does not move the real tokens' positions, but the head reads position 0 whatever
    // it holds, as transformers does, so a left-padded row classifies from a pad token.)
    // Right padding is invisible: a padded row's logits equal those of the text alone.
    const model = cases.model('texts')
    const length = texts.maskRows[0]!.reduce((a, b) => a + b, 0)
    expect(length).toBeLessThan(texts.length)
    const alone = paddedBatch([texts.rows[0]!.slice(0, length)], 1)
    expect(maxAbsDifference(logitsOf(model, texts).subarray(0, 3), logitsOf(model, alone))).toBeLessThan(1e-5)
  })

  it('d loss / d δ of a SiVA-style adapter on two targets matches torch autograd through transformers, and so does the head gradient', () => {
    cases.compare('band', { logits: 1e-4 })
    cases.compareGradients('band', { tensors: headTensors })
  })

  it('every adapter method of engine/peft (siva, svdiff, topk, lora) on an attention output and a query: loss and gradients', () => {
    for (const method of adapterMethods) {
      cases.compare(method, { logits: 1e-4 })
      cases.compareGradients(method)
    }
    expect(Math.abs(cases.result('lora').loss! - cases.result('texts').loss!)).toBeGreaterThan(1e-4)
  })

  it('a RobertaForMaskedLM base (lm_head, no classifier) gets a new head; regression logits, loss and head gradients match, the lm_head left out', () => {
    const model = cases.model('mlm-base')
    expect(model.head).toEqual({ created: true, tensors: headTensors })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[32, 32], [32], [1, 32], [1]])
    expect(Array.from(model.headVariables[1]!.dataSync()).every((b) => b === 0)).toBe(true)
    const expected = cases.compare('mlm-base', { logits: 1e-4 })
    expect([expected.problem_type, expected.loading_info.missing_keys.sort()]).toEqual(['regression', [...headTensors].sort()])
    expect(expected.loading_info.unexpected_keys.length).toBeGreaterThan(0)
    expect(expected.loading_info.unexpected_keys.every((key) => key.startsWith('lm_head.'))).toBe(true)
    cases.compareGradients('mlm-base', { tensors: headTensors })
  })
})

describe('RoBERTa family: errors and memory', () => {
  it('a missing tensor is named; a sequence past the position table is refused', async () => {
    const dir = await rewriteCheckpoint(clsDir, 'roberta-missing', (name) => (name === 'roberta.encoder.layer.0.attention.output.LayerNorm.bias' ? undefined : name))
    const broken = await openCheckpoint(dir)
    await expect(robertaFamily.build(broken, broken.config!, { task: 'classification' })).rejects.toThrow(/no tensor roberta\.encoder\.layer\.0\.attention\.output\.LayerNorm\.bias/)
    await broken.close()
    const model = await robertaFamily.build(source, source.config!, { task: 'classification' })
    // 66 position embeddings, numbered from 2: at most 64 real tokens.
    const tooLong: ModelInputs = { batchSize: 1, length: 65, inputIds: new Int32Array(65).fill(5) }
    expect(() => model.forward(tooLong)).toThrow(/position 66/)
    expect(() => model.forward({ batchSize: 1, length: 64, inputIds: new Int32Array(64).fill(5) }).dispose()).not.toThrow()
    model.dispose()
  })

  it('leaves no tensor behind across forward calls and after dispose', async () => {
    const start = tf.memory().numTensors
    const model = await robertaFamily.build(source, source.config!, { task: 'classification' })
    logitsOf(model, texts)
    const afterFirst = tf.memory().numTensors
    for (let i = 0; i < 3; i++) logitsOf(model, texts)
    expect(tf.memory().numTensors).toBe(afterFirst)
    model.dispose()
    expect(tf.memory().numTensors).toBe(start)
  })
})
