import { selectBackend } from '../../../src/main/engine/backend'
import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TensorSource } from '../../../src/main/engine/io'
import { taskLoss } from '../../../src/main/engine/models/loss'
import { robertaFamily, robertaPositionIds } from '../../../src/main/engine/models/roberta'
import type { ModelInputs } from '../../../src/main/engine/models/types'
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
  tinyRoberta,
  writeHead
} from './bertFamilyTesting'

// <s> = 0, </s> = 2, <pad> = 1 (pad_token_id) in the tiny vocabulary.
const sentences = [
  [0, 15, 27, 33, 2],
  [0, 5, 6, 7, 8, 9, 2],
  [0, 44, 2]
]
const padded = batchOf(sentences, 1)
const classes = [2, 0, 1]

/** Rows given in full with their masks: left padding, and a pad token inside a row that is attended to. */
function rowsWithMasks(rows: number[][], maskRows: number[][]): ReturnType<typeof batchOf> {
  return {
    batchSize: rows.length,
    length: rows[0]!.length,
    inputIds: Int32Array.from(rows.flat()),
    attentionMask: Int32Array.from(maskRows.flat()),
    rows,
    maskRows
  }
}

let source: TensorSource

beforeAll(async () => {
  // The wasm backend as training runs it, with the engine's own matmul: fidelity is checked through it.
  await selectBackend('wasm')
  source = await open(tinyRoberta)
})

afterAll(async () => {
  await source.close()
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

describe('RoBERTa family: forward pass against the torch reference', () => {
  it('classification: logits and loss of a right-padded batch', async () => {
    const model = await robertaFamily.build(source, source.config!, { task: 'classification' })
    expect(model.head).toEqual({ created: false, tensors: ['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias'] })
    const expected = reference(tinyRoberta, padded, { task: 'classification', labels: classes })
    const error = maxAbsDifference(logitsOf(model, padded), expected.logits.flat())
    expect(error).toBeLessThan(1e-4)
    const loss = tf.tidy(() => taskLoss('classification', model.forward(padded), tf.tensor1d(classes, 'int32')).dataSync()[0]!)
    expect(Math.abs(loss - expected.loss!)).toBeLessThan(1e-4)
    console.info(`RoBERTa classification: logits max |Δ| ${error.toExponential(2)}, loss |Δ| ${Math.abs(loss - expected.loss!).toExponential(2)}`)
    model.dispose()
  })

  it('position ids come from the ids: left padding and an attended pad token match the reference', async () => {
    const model = await robertaFamily.build(source, source.config!, { task: 'classification' })
    const tricky = rowsWithMasks(
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
    const expected = reference(tinyRoberta, tricky, { task: 'classification' })
    const logits = logitsOf(model, tricky)
    const error = maxAbsDifference(logits, expected.logits.flat())
    console.info(`RoBERTa left padding / inner pad: logits max |Δ| ${error.toExponential(2)}`)
    expect(error).toBeLessThan(1e-4)
    // (Left padding does not move the real tokens' positions, but the head reads position 0 whatever
    // it holds, as transformers does, so a left-padded row classifies from a pad token.)
    // Right padding is invisible: a padded row's logits equal those of the sentence alone.
    const alone = batchOf([sentences[0]!], 1)
    expect(maxAbsDifference(logitsOf(model, padded).subarray(0, 3), logitsOf(model, alone))).toBeLessThan(1e-5)
    model.dispose()
  })

  it('d loss / d δ of a SiVA-style adapter on two targets matches torch autograd', async () => {
    const targets = robertaFamily.targets(source.config!)
    const chosen = [targets.find((t) => t.name === 'roberta.encoder.layer.0.attention.self.value')!, targets.find((t) => t.name === 'roberta.encoder.layer.1.output.dense')!]
    const file = join(tempDir('roberta-adapters'), 'adapters.safetensors')
    const adapters = await sivaLikeAdapters(source, chosen, 3, file)
    const model = await robertaFamily.build(source, source.config!, { task: 'classification', linears: adapters.linears })
    const labels = tf.tensor1d(classes, 'int32')
    const { value, grads } = tf.variableGrads(() => taskLoss('classification', model.forward(padded), labels), [...adapters.deltas.values()])
    const expected = reference(tinyRoberta, padded, { task: 'classification', labels: classes, adapters: file })
    expect(Math.abs(value.dataSync()[0]! - expected.loss!)).toBeLessThan(1e-4)
    for (const [name, delta] of adapters.deltas) {
      const error = relativeDifference(grads[delta.name]!.dataSync(), expected.grads![name]!)
      console.info(`RoBERTa d loss/d δ ${name}: relative error ${error.toExponential(2)}`)
      expect(error).toBeLessThan(1e-4)
    }
    tf.dispose([value, labels, ...Object.values(grads)])
    model.dispose()
    adapters.dispose()
  })

  it('a checkpoint without the classification head gets a new one; regression logits and loss match the reference given it', async () => {
    const dir = await rewriteCheckpoint(tinyRoberta, 'roberta-headless', (name) => (name.startsWith('classifier.') ? undefined : name))
    const headless = await open(dir)
    const model = await robertaFamily.build(headless, headless.config!, { task: 'regression', seed: 11 })
    expect(model.head).toEqual({ created: true, tensors: ['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias'] })
    expect(model.headVariables.map((v) => v.shape)).toEqual([[32, 32], [32], [1, 32], [1]])
    expect(Array.from(model.headVariables[1]!.dataSync()).every((b) => b === 0)).toBe(true)
    const file = join(dir, 'head.safetensors')
    await writeHead(model, file)
    const targets = [0.25, -0.5, 1]
    const expected = reference(dir, padded, { task: 'regression', labels: targets, headFile: file })
    expect(maxAbsDifference(logitsOf(model, padded), expected.logits.flat())).toBeLessThan(1e-4)
    const loss = tf.tidy(() => taskLoss('regression', model.forward(padded), tf.tensor1d(targets)).dataSync()[0]!)
    expect(Math.abs(loss - expected.loss!)).toBeLessThan(1e-4)
    model.dispose()
    await headless.close()
  })
})

describe('RoBERTa family: errors and memory', () => {
  it('a missing tensor is named; a sequence past the position table is refused', async () => {
    const dir = await rewriteCheckpoint(tinyRoberta, 'roberta-missing', (name) => (name === 'roberta.encoder.layer.0.attention.output.LayerNorm.bias' ? undefined : name))
    const broken = await open(dir)
    await expect(robertaFamily.build(broken, broken.config!, { task: 'classification' })).rejects.toThrow(/no tensor roberta\.encoder\.layer\.0\.attention\.output\.LayerNorm\.bias/)
    await broken.close()
    const model = await robertaFamily.build(source, source.config!, { task: 'classification' })
    // 64 position embeddings, numbered from 2: at most 62 real tokens.
    const tooLong: ModelInputs = { batchSize: 1, length: 63, inputIds: new Int32Array(63).fill(5) }
    expect(() => model.forward(tooLong)).toThrow(/position 64/)
    expect(() => model.forward({ batchSize: 1, length: 62, inputIds: new Int32Array(62).fill(5) }).dispose()).not.toThrow()
    model.dispose()
  })

  it('leaves no tensor behind across forward calls and after dispose', async () => {
    const start = tf.memory().numTensors
    const model = await robertaFamily.build(source, source.config!, { task: 'classification' })
    logitsOf(model, padded)
    const afterFirst = tf.memory().numTensors
    for (let i = 0; i < 3; i++) logitsOf(model, padded)
    expect(tf.memory().numTensors).toBe(afterFirst)
    model.dispose()
    expect(tf.memory().numTensors).toBe(start)
  })
})
