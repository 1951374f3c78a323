/** What the BERT and RoBERTa suites share: the tiny checkpoints, the torch reference, a SiVA-style adapter. */
import * as tf from '@tensorflow/tfjs'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { openCheckpoint, writeSafetensors, type TensorSource, type TensorToWrite } from '../../../src/main/engine/io'
import { readLinear, seededNormal } from '../../../src/main/engine/models/ops'
import type { AdaptableLinear, BuiltModel, LinearFn, ModelInputs, ModelTask } from '../../../src/main/engine/models/types'
import { repoRoot, tempDir } from '../../helpers/paths'
import { runTorchReference } from './torchReference'

export const tinyBert = join(repoRoot, 'tests/fixtures/models/tiny-bert')
export const tinyRoberta = join(repoRoot, 'tests/fixtures/models/tiny-roberta')

/** A batch from rows of ids; shorter rows are padded with `pad` and masked. */
export function batchOf(rows: number[][], pad: number, typeRows?: number[][]): ModelInputs & { rows: number[][]; maskRows: number[][]; typeRows?: number[][] } {
  const length = Math.max(...rows.map((r) => r.length))
  const padded = rows.map((r) => [...r, ...Array<number>(length - r.length).fill(pad)])
  const maskRows = rows.map((r) => [...Array<number>(r.length).fill(1), ...Array<number>(length - r.length).fill(0)])
  const typesPadded = typeRows?.map((r) => [...r, ...Array<number>(length - r.length).fill(0)])
  return {
    batchSize: rows.length,
    length,
    inputIds: Int32Array.from(padded.flat()),
    attentionMask: Int32Array.from(maskRows.flat()),
    tokenTypeIds: typesPadded ? Int32Array.from(typesPadded.flat()) : undefined,
    rows: padded,
    maskRows,
    typeRows: typesPadded
  }
}

export interface Reference {
  logits: number[][]
  loss?: number
  grads?: Record<string, number[]>
}

/** The torch reference's answer for `model` on these inputs. */
export function reference(
  model: string,
  inputs: ReturnType<typeof batchOf>,
  request: { task: ModelTask; labels?: number[]; headFile?: string; adapters?: string; noMask?: boolean }
): Reference {
  const args = [model, ...(request.adapters ? ['--adapters', request.adapters] : [])]
  return runTorchReference('torch_encoders.py', args, {
    input_ids: inputs.rows,
    attention_mask: request.noMask ? undefined : inputs.maskRows,
    token_type_ids: inputs.typeRows,
    task: request.task,
    labels: request.labels,
    head_file: request.headFile
  }) as Reference
}

/** Largest absolute difference between two equally shaped arrays. */
export function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length)
  let max = 0
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!))
  return max
}

/** Largest difference relative to the largest reference magnitude. */
export function relativeDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  const scale = Math.max(...Array.from(expected, Math.abs))
  return maxAbsDifference(actual, expected) / scale
}

export async function open(dir: string): Promise<TensorSource> {
  const source = await openCheckpoint(dir)
  expect(source.config).toBeDefined()
  return source
}

/** Logits of one forward pass as plain numbers, with no tensor left behind. */
export function logitsOf(model: BuiltModel, inputs: ModelInputs): Float32Array {
  const logits = tf.tidy(() => model.forward(inputs))
  const values = logits.dataSync() as Float32Array
  logits.dispose()
  return values
}

/** A copy of the checkpoint in a temp folder with tensors left out or renamed, and its config.json. */
export async function rewriteCheckpoint(dir: string, prefix: string, change: (name: string) => string | undefined): Promise<string> {
  const source = await openCheckpoint(dir)
  const out = tempDir(prefix)
  const tensors: TensorToWrite[] = []
  for (const info of source.tensors) {
    const name = change(info.name)
    if (name !== undefined) tensors.push({ name, dtype: info.dtype, shape: info.shape, data: await source.readRaw(info.name) })
  }
  await writeSafetensors(join(out, 'model.safetensors'), tensors, source.metadata)
  await source.close()
  await copyFile(join(dir, 'config.json'), join(out, 'config.json'))
  return out
}

/** Write the head's variables under their export names, for the reference to read. */
export async function writeHead(model: BuiltModel, file: string): Promise<void> {
  const tensors = model.headVariables.map((variable, i) => ({
    name: model.head.tensors[i]!,
    dtype: 'F32' as const,
    shape: variable.shape,
    data: variable.dataSync() as Float32Array
  }))
  await writeSafetensors(file, tensors)
}

/**
 * A SiVA-style adapter on each target: y = x Wᵀ + b + ((x V) ⊙ δ) Uᵀ with U [out, k], V [in, k] seeded
 * random and δ a variable of small nonzero values; also written as `<target>.U/.V/.delta` for the reference.
 */
export async function sivaLikeAdapters(
  source: TensorSource,
  targets: AdaptableLinear[],
  k: number,
  file: string
): Promise<{ linears: Map<string, LinearFn>; deltas: Map<string, tf.Variable>; dispose: () => void }> {
  const linears = new Map<string, LinearFn>()
  const deltas = new Map<string, tf.Variable>()
  const owned: tf.Tensor[] = []
  const toWrite: TensorToWrite[] = []
  for (const [t, target] of targets.entries()) {
    const { weightT, bias, inFeatures, outFeatures } = await readLinear(source, target)
    const u = seededNormal(outFeatures * k, 0.3, 101 + t)
    const v = seededNormal(inFeatures * k, 0.3, 201 + t)
    const delta = Float32Array.from({ length: k }, (_, i) => 0.05 * (i + 1) * (i % 2 === 0 ? 1 : -1))
    const wT = tf.tensor2d(weightT, [inFeatures, outFeatures])
    const b = tf.tensor1d(bias!)
    const uT = tf.tidy(() => tf.transpose(tf.tensor2d(u, [outFeatures, k])))
    const vT = tf.tensor2d(v, [inFeatures, k])
    const d = tf.variable(tf.tensor1d(delta), true)
    owned.push(wT, b, uT, vT, d)
    deltas.set(target.name, d)
    linears.set(target.name, (x) => tf.add(tf.add(tf.matMul(x, wT), b), tf.matMul(tf.mul(tf.matMul(x, vT), d), uT)))
    toWrite.push(
      { name: `${target.name}.U`, dtype: 'F32', shape: [outFeatures, k], data: u },
      { name: `${target.name}.V`, dtype: 'F32', shape: [inFeatures, k], data: v },
      { name: `${target.name}.delta`, dtype: 'F32', shape: [k], data: delta }
    )
  }
  await writeSafetensors(file, toWrite)
  return { linears, deltas, dispose: () => owned.forEach((t) => t.dispose()) }
}
