import { copyFile, readdir, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { decodeToFloat64, encodeFloat64, type TensorInfo, type TensorSource } from '../io'
import { readJsonObject, writeJsonAtomically } from '../io/jsonFile'
import type { AdaptableLinear } from '../models/types'
import type { LowRank } from '../peft'
import { addLowRank } from './lowRankMerge'
import type { MergeProgress, WeightUpdates } from './merged'
import { exportMarker } from './outputGuard'

/**
 * A merged export of a TensorFlow.js graph model (the Universal Sentence Encoder lite), written in its
 * own format so `tf.loadGraphModel` loads it: model.json keeps the graph; every weight keeps its name,
 * shape and manifest order; adapted weights become W + ΔW (summed in float64, rounded once to float32);
 * the others are copied byte for byte. A trained task head is added to the graph after its output (a
 * MatMul + BiasAdd named `siva/classifier/…`), so the model now outputs logits; the embedding is still
 * there under its own node name. Shards are cut at 4 MiB, as the converter does.
 */

const shardBytes = 4 * 1024 * 1024
const headPrefix = 'siva/classifier'
/** DT_FLOAT in TensorFlow's DataType enum, as model.json writes attribute types. */
const dtFloat = 1

interface ManifestEntry {
  name: string
  shape: number[]
  dtype: string
  quantization?: unknown
}

interface GraphNode {
  name: string
  op: string
  input?: string[]
  attr?: Record<string, unknown>
}

interface ModelJson {
  modelTopology: { node: GraphNode[] } & Record<string, unknown>
  weightsManifest: { paths: string[]; weights: ManifestEntry[] }[]
  [key: string]: unknown
}

export function modelJsonOf(source: TensorSource): string {
  return source.source.endsWith('.json') ? source.source : join(source.source, 'model.json')
}

async function readModelJson(file: string): Promise<ModelJson> {
  const document = (await readJsonObject(file)) as unknown as ModelJson
  if (!Array.isArray(document.modelTopology?.node)) throw new Error(`${file}: not a TensorFlow.js graph model (no modelTopology.node); only graph models are exported merged`)
  return document
}

/** The graph's output: the one node nothing else consumes. */
function outputNode(nodes: GraphNode[], file: string): GraphNode {
  const consumed = new Set(nodes.flatMap((n) => (n.input ?? []).map((input) => input.replace(/^\^/, '').replace(/:\d+$/, ''))))
  const outputs = nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'Placeholder' && n.op !== 'NoOp')
  if (outputs.length !== 1) throw new Error(`${file}: the graph has ${outputs.length} outputs (${outputs.map((n) => n.name).join(', ')}); a head can only follow a single output`)
  return outputs[0]!
}

function constNode(name: string, shape: number[]): GraphNode {
  return { name, op: 'Const', attr: { value: { tensor: { dtype: dtFloat, tensorShape: { dim: shape.map((size) => ({ size: String(size) })) } } }, dtype: { type: dtFloat } } }
}

/** What the merged graph will hold: the weights in order with their new values (or where to copy them from). */
interface PlannedWeight {
  entry: ManifestEntry
  info?: TensorInfo
  values?: ArrayLike<number>
  lowRank?: { target: AdaptableLinear; factors: LowRank }[]
}

async function plan(source: TensorSource, updates: WeightUpdates): Promise<{ document: ModelJson; weights: PlannedWeight[]; head?: { output: string; labels: number } }> {
  const file = modelJsonOf(source)
  const document = await readModelJson(file)
  if (source.unreadable.length > 0) throw new Error(`${file}: holds weights SiVA cannot read (${source.unreadable.map((u) => u.name).join(', ')}), so it cannot rewrite the model`)
  const infos = new Map(source.tensors.map((t) => [t.name, t]))
  const lowRank = new Map<string, { target: AdaptableLinear; factors: LowRank }[]>()
  for (const update of updates.lowRank) lowRank.set(update.target.weightTensor, [...(lowRank.get(update.target.weightTensor) ?? []), update])
  const replaced = new Map(updates.replaced.map((t) => [t.name, t]))
  const weights: PlannedWeight[] = []
  for (const group of document.weightsManifest) {
    for (const entry of group.weights) {
      const info = infos.get(entry.name)!
      const replacement = replaced.get(entry.name)
      const planned: PlannedWeight = { entry: { name: entry.name, shape: entry.shape, dtype: entry.dtype }, info }
      if (replacement) planned.values = replacement.values
      else if (lowRank.has(entry.name)) planned.lowRank = lowRank.get(entry.name)!
      else if (entry.quantization) planned.values = await source.readFloat64(entry.name) // dequantised: written as float32
      weights.push(planned)
      replaced.delete(entry.name)
    }
  }
  // The task head: nn.Linear weight [labels, in] and bias [labels], the only tensors the graph lacks.
  const headWeight = [...replaced.values()].find((t) => t.shape.length === 2)
  const headBias = [...replaced.values()].find((t) => t.shape.length === 1)
  if (replaced.size === 0) return { document, weights }
  if (replaced.size !== 2 || !headWeight || !headBias) throw new Error(`${file}: the run trained tensors the graph does not have (${[...replaced.keys()].join(', ')}) and that are not a task head`)
  const [labels, inFeatures] = headWeight.shape as [number, number]
  const kernel = new Float64Array(inFeatures * labels)
  for (let o = 0; o < labels; o++) for (let i = 0; i < inFeatures; i++) kernel[i * labels + o] = headWeight.values[o * inFeatures + i]!
  weights.push({ entry: { name: `${headPrefix}/kernel`, shape: [inFeatures, labels], dtype: 'float32' }, values: kernel })
  weights.push({ entry: { name: `${headPrefix}/bias`, shape: [labels], dtype: 'float32' }, values: headBias.values })
  return { document, weights, head: { output: outputNode(document.modelTopology.node, file).name, labels } }
}

/** Bytes of a weight as the manifest describes it (quantised weights are written dequantised, float32). */
function byteLength(entry: ManifestEntry): number {
  return entry.shape.reduce((a, b) => a * b, 1) * (entry.dtype === 'bool' || entry.dtype === 'uint8' ? 1 : entry.dtype === 'uint16' || entry.dtype === 'float16' ? 2 : 4)
}

export async function mergedGraphSize(source: TensorSource, updates: WeightUpdates): Promise<number> {
  const { document, weights } = await plan(source, updates)
  const dir = dirname(modelJsonOf(source))
  let others = 0
  for (const name of await copiedFiles(dir, document)) others += (await stat(join(dir, name))).size
  return weights.reduce((sum, w) => sum + byteLength(w.entry), 0) + others + 1024 * 1024
}

/** Files beside model.json other than the graph and its shards (the vocabulary, licences, ...). */
async function copiedFiles(dir: string, document: ModelJson): Promise<string[]> {
  const shards = new Set(document.weightsManifest.flatMap((group) => group.paths.map((path) => basename(path))))
  const entries = await readdir(dir, { withFileTypes: true })
  return entries
    .filter((e) => e.isFile() && e.name !== 'model.json' && e.name !== 'config.json' && e.name !== exportMarker && !shards.has(e.name) && !/\.(js|ts|map)$/.test(e.name))
    .map((e) => e.name)
    .sort()
}

export async function writeMergedGraphModel(
  source: TensorSource,
  updates: WeightUpdates,
  configFields: Record<string, unknown>,
  outDir: string,
  options: { onProgress?: MergeProgress; signal?: AbortSignal } = {}
): Promise<{ files: string[]; bytes: number; changed: string[]; added: string[] }> {
  const { document, weights, head } = await plan(source, updates)
  const total = weights.reduce((sum, w) => sum + byteLength(w.entry), 0)
  const changed: string[] = []
  const paths: string[] = []
  const shardCount = Math.max(1, Math.ceil(total / shardBytes))
  const shard = new Uint8Array(shardBytes)
  let filled = 0
  let done = 0
  const flush = async (): Promise<void> => {
    const name = `group1-shard${paths.length + 1}of${shardCount}`
    await writeFile(join(outDir, name), shard.subarray(0, filled))
    paths.push(name)
    filled = 0
  }
  for (const weight of weights) {
    options.signal?.throwIfAborted()
    let bytes: Uint8Array
    if (weight.lowRank) {
      const merged = decodeToFloat64(await source.readRaw(weight.entry.name), 'F32')
      addLowRank(merged, weight.info!.shape, weight.lowRank)
      bytes = finiteFloat32(merged, weight.entry.name, source.source)
      changed.push(weight.entry.name)
    } else if (weight.values) {
      bytes = finiteFloat32(weight.values, weight.entry.name, source.source)
      if (weight.info) changed.push(weight.entry.name)
    } else bytes = await source.readRaw(weight.entry.name)
    if (bytes.length !== byteLength(weight.entry)) throw new Error(`${source.source}: weight ${weight.entry.name} holds ${bytes.length} bytes, its manifest entry says ${byteLength(weight.entry)}`)
    // A weight may run on into the next shard, as the converter writes them.
    let offset = 0
    while (offset < bytes.length) {
      const take = Math.min(bytes.length - offset, shard.length - filled)
      shard.set(bytes.subarray(offset, offset + take), filled)
      filled += take
      offset += take
      done += take
      if (filled === shard.length) await flush()
    }
    options.onProgress?.(done, total, weight.entry.name)
  }
  if (filled > 0) await flush()

  const nodes = [...document.modelTopology.node]
  if (head) {
    nodes.push(constNode(`${headPrefix}/kernel`, weights.at(-2)!.entry.shape), constNode(`${headPrefix}/bias`, [head.labels]))
    nodes.push({ name: `${headPrefix}/MatMul`, op: 'MatMul', input: [head.output, `${headPrefix}/kernel`], attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: { type: dtFloat } } })
    nodes.push({ name: `${headPrefix}/logits`, op: 'BiasAdd', input: [`${headPrefix}/MatMul`, `${headPrefix}/bias`], attr: { T: { type: dtFloat }, data_format: { s: [...Buffer.from('NHWC')] } } })
  }
  const modelJson = {
    ...document,
    modelTopology: { ...document.modelTopology, node: nodes },
    weightsManifest: [{ paths, weights: weights.map((w) => w.entry) }],
    userDefinedMetadata: { ...((document['userDefinedMetadata'] as object) ?? {}), siva: { ...(head && { logits: `${headPrefix}/logits`, embedding: head.output }) } }
  }
  await writeJsonAtomically(join(outDir, 'model.json'), modelJson)
  const sourceDir = dirname(modelJsonOf(source))
  const config = (await readJsonObject(join(sourceDir, 'config.json'), { optional: true })) ?? {}
  const description = source.config ? { model_type: source.config.modelType, architectures: source.config.architectures } : {}
  await writeJsonAtomically(join(outDir, 'config.json'), { ...description, ...config, ...configFields })
  const copied = await copiedFiles(sourceDir, document)
  for (const name of copied) await copyFile(join(sourceDir, name), join(outDir, name))
  return { files: ['model.json', ...paths, 'config.json', ...copied], bytes: total, changed, added: head ? [`${headPrefix}/kernel`, `${headPrefix}/bias`] : [] }
}

function finiteFloat32(values: ArrayLike<number>, name: string, source: string): Uint8Array {
  const bytes = encodeFloat64(values, 'F32')
  const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
  const bad = decoded.findIndex((v) => !Number.isFinite(v))
  if (bad >= 0) throw new Error(`${source}: merged tensor ${name} has a non-finite value at element ${bad} (the trained value is ${values[bad]}); export an earlier checkpoint of the run`)
  return bytes
}
