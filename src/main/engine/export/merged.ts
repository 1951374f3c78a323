import { copyFile, readdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { decodeToFloat64, dtypeByteSize, encodeFloat64, elementCount, isFloatDtype, type Dtype, type FloatEncoding } from '../io/dtypes'
import { openSafetensors, SafetensorsFile, ShardedSafetensors, TorchCheckpoint, writeSafetensors, type TensorInfo, type TensorSource, type TensorToWrite } from '../io'
import { readJsonObject, writeJsonAtomically } from '../io/jsonFile'
import type { AdaptableLinear, ModelFamily, ModelTask } from '../models/types'
import type { LowRank } from '../peft'
import { addLowRank } from './lowRankMerge'
import { exportMarker } from './outputGuard'
import { mergedGraphSize, writeMergedGraphModel } from './mergedGraph'
import { withModelCard } from './modelCard'
import type { TrainedTensor } from './restoreRun'

/** What training changed, in terms of the checkpoint: low-rank updates of targets and tensors replaced whole. */
export interface WeightUpdates {
  /** ΔW = B·A per target, nn.Linear orientation; several targets may share a tensor (GPT-2's fused c_attn). */
  lowRank: { target: AdaptableLinear; factors: LowRank }[]
  /** New values in the checkpoint's layout: a task head, or every weight after full fine-tuning. A name the checkpoint lacks is added. */
  replaced: TrainedTensor[]
  /** Prefix every checkpoint tensor name with this (a bare BertModel checkpoint given a head: transformers expects `bert.` then). */
  renamePrefix?: string
  /**
   * Which of the checkpoint's tensors the merged model keeps, by the name it is written under (after
   * renamePrefix); the others (another task's head, a pooler the target class does not build) are left
   * out. Replaced tensors are always kept. Without it every tensor is kept.
   */
  keeps?: (name: string) => boolean
}

export interface MergeProgress {
  (doneBytes: number, totalBytes: number, detail: string): void
}

/** One output file of the checkpoint, in the input's order. */
interface OutputFile {
  name: string
  input?: string
  tensors: TensorInfo[]
  metadata: Record<string, string>
  added: TrainedTensor[]
}

/**
 * `WeightUpdates.keeps` for a run's family and task: the tensors transformers' class for the task holds
 * (`classTensors`); undefined (keep all) where the family names none, as for a tfjs graph model.
 */
export function classTensorsOf(family: ModelFamily, task: ModelTask): ((name: string) => boolean) | undefined {
  const pattern = family.transformers.classTensors[task]
  return pattern ? (name) => pattern.test(name) : undefined
}

/** Weight files of other formats: copying them would ship the old, unmerged weights beside the new ones. */
const staleWeights = /\.(bin|pt|pth|ckpt|h5|msgpack|onnx|gguf|safetensors)$|\.(safetensors|bin)\.index\.json$/i

/**
 * Plan a merged checkpoint: the input's files in its order, each with the tensors it keeps in data order,
 * and new tensors added to the last file. Returns the files, the bytes the tensors will take and the
 * names of the tensors left out.
 */
async function planFiles(source: TensorSource, updates: WeightUpdates): Promise<{ files: OutputFile[]; index?: string; indexName?: string; tensorBytes: number; dropped: string[] }> {
  if (source instanceof TorchCheckpoint) return planTorchFiles(source, updates)
  let inputs: string[]
  let index: string | undefined
  if (source instanceof ShardedSafetensors) {
    index = source.indexPath
    inputs = [...new Set(source.tensors.map((t) => t.file))]
  } else if (source instanceof SafetensorsFile) inputs = [source.path]
  else throw new Error(`${source.source}: a merged checkpoint is written in the input's own format, and only safetensors checkpoints are supported (this is ${source.format})`)
  const replacedNames = new Set(updates.replaced.map((t) => t.name))
  const prefix = updates.renamePrefix ?? ''
  const kept = (name: string): boolean => replacedNames.has(name) || (updates.keeps?.(prefix + name) ?? true)
  const files: OutputFile[] = []
  const dropped: string[] = []
  for (const input of inputs) {
    const file = await openSafetensors(input)
    try {
      const tensors: TensorInfo[] = []
      for (const t of [...file.tensors].sort((a, b) => a.byteOffset - b.byteOffset)) {
        if (kept(t.name)) tensors.push(t)
        else dropped.push(t.name)
      }
      files.push({ name: basename(input), input, tensors, metadata: file.metadata, added: [] })
    } finally {
      await file.close()
    }
  }
  return finishPlan(source, updates, files, dropped, index, index === undefined ? undefined : basename(index))
}

/**
 * A PyTorch checkpoint's merged model is written as safetensors, laid out as transformers'
 * save_pretrained writes it: model.safetensors, or model-0000i-of-0000n.safetensors shards with
 * model.safetensors.index.json, each shard holding what the .bin shard held, in its order.
 */
async function planTorchFiles(source: TorchCheckpoint, updates: WeightUpdates): ReturnType<typeof planFiles> {
  const replacedNames = new Set(updates.replaced.map((t) => t.name))
  const prefix = updates.renamePrefix ?? ''
  const files: OutputFile[] = []
  const dropped: string[] = []
  for (const shard of source.shards) {
    const name = source.indexPath === undefined ? 'model.safetensors' : basename(shard.path).replace(/^pytorch_model/, 'model').replace(/\.(bin|pt|pth)$/i, '.safetensors')
    const tensors: TensorInfo[] = []
    for (const t of shard.tensors) {
      if (replacedNames.has(t.name) || (updates.keeps?.(prefix + t.name) ?? true)) tensors.push(t)
      else dropped.push(t.name)
    }
    files.push({ name, tensors, metadata: { format: 'pt' }, added: [] })
  }
  return finishPlan(source, updates, files, dropped, source.indexPath, source.indexPath === undefined ? undefined : 'model.safetensors.index.json')
}

function finishPlan(
  source: TensorSource,
  updates: WeightUpdates,
  files: OutputFile[],
  dropped: string[],
  index: string | undefined,
  indexName: string | undefined
): { files: OutputFile[]; index?: string; indexName?: string; tensorBytes: number; dropped: string[] } {
  const present = new Set(source.tensors.map((t) => t.name))
  for (const tensor of updates.replaced) if (!present.has(tensor.name)) files.at(-1)!.added.push(tensor)
  // A shard left with nothing in it is not written (the index would not name it).
  const written = files.filter((f, i) => f.tensors.length > 0 || f.added.length > 0 || i === files.length - 1)
  const replacedShape = new Map(updates.replaced.map((t) => [t.name, t.shape]))
  let tensorBytes = 0
  for (const file of files) {
    for (const t of file.tensors) tensorBytes += elementCount(replacedShape.get(t.name) ?? t.shape) * dtypeByteSize[t.dtype]
    for (const t of file.added) tensorBytes += elementCount(t.shape) * dtypeByteSize[headDtype(source)]
  }
  return { files: written, ...(index !== undefined && { index, indexName: indexName ?? basename(index) }), tensorBytes, dropped }
}

/** The dtype new tensors are stored in: the checkpoint's most common floating-point dtype. */
function headDtype(source: TensorSource): FloatEncoding {
  const counts = new Map<Dtype, number>()
  for (const t of source.tensors) if (isFloatDtype(t.dtype)) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + elementCount(t.shape))
  const [best] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['F32']
  return best as FloatEncoding
}

/** Bytes a merged checkpoint of `source` will take on disk (tensors plus the folder's other files), for the free-space check. */
export async function mergedSize(source: TensorSource, modelDir: string, updates: WeightUpdates): Promise<number> {
  if (source.format === 'tfjs') return mergedGraphSize(source, updates)
  const { tensorBytes, files } = await planFiles(source, updates)
  let others = 0
  for (const name of await copiedFiles(modelDir)) others += (await stat(join(modelDir, name))).size
  // Headers: a few hundred bytes per tensor at most.
  return tensorBytes + others + files.reduce((sum, f) => sum + 256 * (f.tensors.length + f.added.length), 0)
}

/** The folder's files a merged checkpoint copies as they are: config, tokenizer and preprocessor files, and anything else but weights. */
async function copiedFiles(modelDir: string): Promise<string[]> {
  const names: string[] = []
  for (const entry of await readdir(modelDir, { withFileTypes: true })) {
    // A base that an earlier export wrote carries its marker: the new folder gets its own.
    if (entry.isFile() && !staleWeights.test(entry.name) && entry.name !== 'config.json' && entry.name !== exportMarker) names.push(entry.name)
  }
  return names.sort()
}

/**
 * Write the merged checkpoint into `outDir` (an empty folder the caller renames into place when all is
 * written): the input's file names, sharding, tensor order, names, shapes, dtypes and `__metadata__`,
 * less the tensors `updates.keeps` leaves out (another task's head: the merged model loads in its class
 * with no unused weight).
 * A target's tensor becomes W + ΔW, summed in float64 from the stored values and rounded once to the
 * stored dtype (ties to even); every tensor nothing touched is copied byte for byte. config.json gets
 * `configFields`; the folder's other files (tokenizer, preprocessor) are copied, other weight formats are not.
 */
export async function writeMergedCheckpoint(
  source: TensorSource,
  modelDir: string,
  updates: WeightUpdates,
  configFields: Record<string, unknown>,
  outDir: string,
  options: { onProgress?: MergeProgress; signal?: AbortSignal; tokenizerFields?: Record<string, unknown>; modelCard?: string } = {}
): Promise<{ files: string[]; bytes: number; changed: string[]; added: string[]; dropped: string[] }> {
  if (source.format === 'tfjs') {
    const written = await writeMergedGraphModel(source, updates, configFields, outDir, options)
    return { ...written, files: await withModelCard(outDir, options.modelCard, written.files), dropped: [] }
  }
  const { files, index, indexName, tensorBytes, dropped } = await planFiles(source, updates)
  const byTensor = new Map<string, { target: AdaptableLinear; factors: LowRank }[]>()
  for (const update of updates.lowRank) {
    const list = byTensor.get(update.target.weightTensor) ?? []
    list.push(update)
    byTensor.set(update.target.weightTensor, list)
  }
  const replaced = new Map(updates.replaced.map((t) => [t.name, t]))
  const newDtype = headDtype(source)
  const prefix = updates.renamePrefix ?? ''
  const changed: string[] = []
  let done = 0
  const weightMap: Record<string, string> = {}

  for (const file of files) {
    // A PyTorch checkpoint is read through the source itself (it stays open: the caller closes it).
    const reader = source instanceof TorchCheckpoint ? { readRaw: (name: string) => source.readRaw(name), close: async () => {} } : await openSafetensors(file.input!)
    try {
      const tensors: TensorToWrite[] = file.tensors.map((info) => {
        const replacement = replaced.get(info.name)
        const lowRank = byTensor.get(info.name)
        const shape = replacement?.shape ?? info.shape
        if (replacement || lowRank) changed.push(info.name)
        return {
          name: prefix + info.name,
          dtype: info.dtype,
          shape,
          data: async () => {
            options.signal?.throwIfAborted()
            let bytes: Uint8Array
            if (replacement) bytes = encodeChecked(replacement.values, info.dtype, info.name, source.source)
            else if (lowRank) bytes = encodeChecked(mergeLowRank(info, await reader.readRaw(info.name), lowRank), info.dtype, info.name, source.source)
            else bytes = await reader.readRaw(info.name)
            done += bytes.byteLength
            options.onProgress?.(done, tensorBytes, info.name)
            return bytes
          }
        }
      })
      for (const tensor of file.added) {
        tensors.push({
          name: tensor.name,
          dtype: newDtype,
          shape: tensor.shape,
          data: () => {
            const bytes = encodeChecked(tensor.values, newDtype, tensor.name, source.source)
            done += bytes.byteLength
            options.onProgress?.(done, tensorBytes, tensor.name)
            return bytes
          }
        })
      }
      for (const t of tensors) weightMap[t.name] = file.name
      await writeSafetensors(join(outDir, file.name), tensors, file.metadata)
    } finally {
      await reader.close()
    }
  }

  if (index) {
    // Keep the index's own fields; the weight map and total size follow what was written.
    const document = await readJsonObject(index)
    const metadata = typeof document['metadata'] === 'object' && document['metadata'] !== null ? { ...(document['metadata'] as Record<string, unknown>) } : {}
    metadata['total_size'] = tensorBytes
    const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    await writeJsonAtomically(join(outDir, indexName!), { ...document, metadata, weight_map: sortedMap })
  }
  const config = (await readJsonObject(join(modelDir, 'config.json'), { optional: true })) ?? {}
  await writeJsonAtomically(join(outDir, 'config.json'), { ...config, ...configFields })
  const copied = await copiedFiles(modelDir)
  for (const name of copied) await copyFile(join(modelDir, name), join(outDir, name))
  const tokenizerFiles = options.tokenizerFields ? await writeTokenizerFields(modelDir, outDir, options.tokenizerFields, copied) : []
  // The card replaces a README.md copied from the base (modelCard.ts).
  const written = await withModelCard(outDir, options.modelCard, [...files.map((f) => f.name), ...(indexName ? [indexName] : []), 'config.json', ...copied, ...tokenizerFiles])
  return {
    files: written,
    bytes: tensorBytes,
    changed,
    added: files.flatMap((f) => f.added.map((t) => t.name)),
    dropped
  }
}

/**
 * Sets `fields` in the copied tokenizer_config.json (written when the base has none), and the pad token,
 * if one is among them, in special_tokens_map.json too (the slow tokenizers read it after the config).
 * Returns the files added to the folder.
 */
async function writeTokenizerFields(modelDir: string, outDir: string, fields: Record<string, unknown>, copied: string[]): Promise<string[]> {
  const config = (await readJsonObject(join(modelDir, 'tokenizer_config.json'), { optional: true })) ?? {}
  await writeJsonAtomically(join(outDir, 'tokenizer_config.json'), { ...config, ...fields })
  if (fields['pad_token'] !== undefined && copied.includes('special_tokens_map.json')) {
    const map = await readJsonObject(join(modelDir, 'special_tokens_map.json'))
    await writeJsonAtomically(join(outDir, 'special_tokens_map.json'), { ...map, pad_token: fields['pad_token'] })
  }
  return copied.includes('tokenizer_config.json') ? [] : ['tokenizer_config.json']
}

/** W + Σ ΔW of the targets stored in this tensor, in float64, in the tensor's stored layout. */
function mergeLowRank(info: TensorInfo, raw: Uint8Array, updates: { target: AdaptableLinear; factors: LowRank }[]): Float64Array {
  if (!isFloatDtype(info.dtype)) throw new Error(`${info.name}: stored as ${info.dtype}, which cannot take a weight update`)
  const merged = decodeToFloat64(raw, info.dtype)
  addLowRank(merged, info.shape, updates)
  return merged
}

/** Encode to the stored dtype, refusing values that are not finite there (a diverged run, or an F16 overflow). */
function encodeChecked(values: ArrayLike<number>, dtype: Dtype, name: string, source: string): Uint8Array {
  if (!isFloatDtype(dtype)) throw new Error(`${name}: stored as ${dtype}, which cannot take trained values`)
  const bytes = encodeFloat64(values, dtype as FloatEncoding)
  const decoded = decodeToFloat64(bytes, dtype)
  for (let i = 0; i < decoded.length; i++) {
    if (!Number.isFinite(decoded[i]!)) {
      const why = Number.isFinite(values[i]!) ? `${values[i]} does not fit ${dtype}` : `the trained value is ${values[i]}`
      throw new Error(`${source}: merged tensor ${name} has a non-finite value at element ${i} (${why}); export an earlier checkpoint of the run`)
    }
  }
  return bytes
}

