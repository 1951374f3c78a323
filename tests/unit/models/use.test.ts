import * as tf from '@tensorflow/tfjs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { TextTokenizer } from '../../../src/main/engine/data'
import { openCheckpoint, useTensors, type TensorSource } from '../../../src/main/engine/io'
import { readTargetWeights } from '../../../src/main/engine/models/ops'
import { familyFor } from '../../../src/main/engine/models/registry'
import { planMatrices } from '../../../src/main/engine/spectra/targets'
import { useFamily, type UseModel } from '../../../src/main/engine/models/use'
import type { ModelInputs } from '../../../src/main/engine/models/types'
import { adaptTargets, methodNamed, selectTargets } from '../../../src/main/engine/peft'
import { inProcessDecompose } from '../../helpers/decompose'
import { repoRoot } from '../../helpers/paths'
import { loadGraphModelFromDisk, runUseGraph, useModelDir } from '../../helpers/useGraph'

/**
 * The Universal Sentence Encoder lite as re-implemented in engine/models/use, against the package's own
 * graph model run by TensorFlow.js's converter (tf.loadGraphModel) on the cpu backend: same token ids in,
 * same 512-d embeddings out, to 1e-4.
 */
let source: TensorSource
let graph: tf.GraphModel
let tokenizer: TextTokenizer
let sequences: number[][]
/** The graph model's embeddings of `sequences`, computed once (the cpu backend is slow). */
let reference: Float32Array

/** Three real e-mails from the spam sample, an empty text, and one past the model's 128 positions. */
async function sampleTexts(): Promise<string[]> {
  const csv = await readFile(join(repoRoot, 'tests/fixtures/samples/spam-validation.csv'), 'utf8')
  const rows = csv.split('\n').slice(1, 4).map((line) => line.slice(line.startsWith('"') ? 1 : 0, line.lastIndexOf(',')).replace(/"$/, '').replaceAll('""', '"'))
  return [...rows.map((row) => row.slice(0, 200)), '', 'Short one.', 'word and another '.repeat(60)]
}

function batchOf(ids: readonly number[][], maxLength = 128): ModelInputs {
  const clipped = ids.map((row) => row.slice(0, maxLength))
  const length = Math.max(1, ...clipped.map((row) => row.length))
  const inputIds = new Int32Array(clipped.length * length)
  const attentionMask = new Int32Array(clipped.length * length)
  clipped.forEach((row, r) =>
    row.forEach((id, j) => {
      inputIds[r * length + j] = id
      attentionMask[r * length + j] = 1
    })
  )
  return { batchSize: clipped.length, length, inputIds, attentionMask }
}

async function graphEmbeddings(ids: readonly number[][]): Promise<Float32Array> {
  await tf.setBackend('cpu')
  try {
    return await runUseGraph(graph, ids)
  } finally {
    await tf.setBackend('wasm')
  }
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
  return worst
}

beforeAll(async () => {
  await selectBackend('wasm')
  source = await openCheckpoint(useModelDir)
  graph = await loadGraphModelFromDisk(join(useModelDir, 'model.json'))
  tokenizer = await TextTokenizer.load(useModelDir)
  sequences = (await sampleTexts()).map((text) => tokenizer.encode(text).ids)
  reference = await graphEmbeddings(sequences)
})

afterAll(async () => {
  graph?.dispose()
  await source?.close()
})

describe('use-lite family', () => {
  it('is recognised from the graph alone (no config.json) and lists its 12 projections', () => {
    expect(source.config?.modelType).toBe('use-lite')
    expect(familyFor(source.config)).toBe(useFamily)
    const targets = useFamily.targets(source.config!, source.tensors)
    expect(targets.map((t) => t.name).slice(0, 6)).toEqual([
      'encoder.layer.0.attention.qkv.q',
      'encoder.layer.0.attention.qkv.k',
      'encoder.layer.0.attention.qkv.v',
      'encoder.layer.0.attention.output',
      'encoder.layer.0.ffn.conv1',
      'encoder.layer.0.ffn.conv2'
    ])
    expect(targets).toHaveLength(12)
    expect(targets.map((t) => [t.outFeatures, t.inFeatures])).toEqual([
      [256, 256], [256, 256], [256, 256], [512, 256], [1536, 512], [512, 1536],
      [512, 512], [512, 512], [512, 512], [512, 512], [1536, 512], [512, 1536]
    ])
    expect(selectTargets(targets, useFamily.defaultTargets).map((t) => t.name)).toEqual([
      'encoder.layer.0.attention.qkv.q', 'encoder.layer.0.attention.qkv.v', 'encoder.layer.1.attention.qkv.q', 'encoder.layer.1.attention.qkv.v'
    ])
  })

  it('is analysed matrix by matrix: 1×1 kernels as matrices, the fused kernel split into q, k and v', () => {
    const { matrices } = planMatrices(source.tensors, { modelType: 'use-lite' })
    const names = new Set(matrices.map((m) => m.name))
    for (const target of useFamily.targets(source.config!, source.tensors)) {
      const part = target.slice ? `.${target.name.split('.').at(-1)}` : ''
      expect(names, target.name).toContain(`${target.weightTensor}${part}`)
    }
    const q0 = matrices.find((m) => m.name.endsWith('Layer_0/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0.q'))!
    expect([q0.shape, q0.columns]).toEqual([[256, 256], [0, 256]])
  })

  it('reads a block of the fused 1×1 attention kernel as an nn.Linear weight', async () => {
    const value = useFamily.targets(source.config!, source.tensors)[8]! // layer 1, v: columns 1024..1535 of [1, 1, 512, 1536]
    const { weight, bias } = await readTargetWeights(source, value)
    const kernel = await source.readFloat64(useTensors.qkvKernel(1))
    const storedBias = await source.readFloat64(useTensors.qkvBias(1))
    for (const [o, i] of [[0, 0], [511, 511], [17, 300]] as const) expect(weight[o * 512 + i]).toBe(kernel[i * 1536 + 1024 + o])
    expect(Array.from(bias!.slice(0, 3))).toEqual(Array.from(storedBias.slice(1024, 1027)))
  })

  it('gives the graph model\'s embeddings to 1e-4 (padding, an empty text, a text clipped at 128 positions)', async () => {
    expect(Math.max(...sequences.map((s) => s.length))).toBeGreaterThan(128)
    const model = (await useFamily.build(source, source.config!, { task: 'classification', numLabels: 2 })) as UseModel
    try {
      const ours = tf.tidy(() => model.embed(batchOf(sequences)).dataSync())
      expect(maxAbs(ours, reference)).toBeLessThan(1e-4)
      // The same batch one text at a time: padding changes nothing.
      const alone = tf.tidy(() => model.embed(batchOf([sequences[1]!])).dataSync())
      expect(maxAbs(alone, reference.slice(512, 1024))).toBeLessThan(1e-4)
      const logits = tf.tidy(() => model.forward(batchOf(sequences)))
      expect(logits.shape).toEqual([sequences.length, 2])
      logits.dispose()
      expect(model.head).toEqual({ created: true, tensors: ['classifier.weight', 'classifier.bias'] })
    } finally {
      model.dispose()
    }
  })

  it('with SiVA on q and v at δ = 0, and with every weight a variable, the embeddings are the graph\'s', async () => {
    const targets = selectTargets(useFamily.targets(source.config!, source.tensors), useFamily.defaultTargets)
    const { adapters, linears } = await adaptTargets(source, targets, methodNamed('siva'), { perc: 0.1, seed: 1, decompose: inProcessDecompose })
    const before = tf.memory().numTensors
    const adapted = await useFamily.build(source, source.config!, { task: 'classification', numLabels: 2, linears })
    const full = await useFamily.build(source, source.config!, { task: 'classification', numLabels: 2, trainAll: true })
    try {
      expect(adapters.map((a) => a.variables[0]!.size)).toEqual([26, 26, 51, 51]) // k = round(0.1 · min(m, n))
      expect(maxAbs(tf.tidy(() => (adapted as UseModel).embed(batchOf(sequences)).dataSync()), reference)).toBeLessThan(1e-4)
      expect(maxAbs(tf.tidy(() => (full as UseModel).embed(batchOf(sequences)).dataSync()), reference)).toBeLessThan(1e-4)
      expect(full.baseVariables.length).toBe(full.baseTensors!.length)
      // One variable per stored tensor: q, k and v slice the same fused kernel, so it trains (and is exported) once.
      expect(new Set(full.baseTensors).size).toBe(full.baseTensors!.length)
      expect(new Set(full.baseTensors)).toContain(useTensors.qkvKernel(0))
    } finally {
      adapted.dispose()
      full.dispose()
      for (const adapter of adapters) adapter.dispose()
    }
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before)
  })
})
