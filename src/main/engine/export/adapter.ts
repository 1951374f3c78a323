import { readFile, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { openCheckpoint, openSafetensors, type TensorSource, writeJsonAtomically, writeSafetensors, type TensorToWrite } from '../io'
import { readTargetWeights } from '../models/ops'
import type { AdaptableLinear } from '../models/types'
import { methodNamed, weightHash, type Decompose, type LowRank, type MethodName, type StoredParameters } from '../peft'
import { classTensorsOf, mergedSize, writeMergedCheckpoint, type WeightUpdates } from './merged'
import { familyFor } from '../models/registry'
import { modelTask } from '../training/trainData'
import type { TrainTask } from '../../../shared/training'
import { checkFreeSpace, writeInPlace } from './outputFolder'
import { checkDestination } from './outputGuard'
import { withModelCard } from './modelCard'
import type { TrainedTensor } from './restoreRun'

/**
 * SiVA Studio's own adapter: `adapter.json` says what was trained on which base, `adapter.safetensors`
 * holds the numbers. Per target: the method's parameters (δ for SiVA, with its k and band) and the
 * sha256 of the base weight it was trained on; by default also the singular vectors it used (U_b, V_bᵀ in
 * float64), so loading needs no SVD. A compact adapter leaves the vectors out: a few kilobytes, and
 * loading recomputes them from the base, refusing a base whose weight hash differs.
 */
export const adapterFormat = 'siva-studio-adapter'

export interface AdapterTargetEntry {
  name: string
  weightTensor: string
  conv1d: boolean
  slice?: [number, number]
  /** [out, in], nn.Linear orientation. */
  shape: [number, number]
  block: number
  role: AdaptableLinear['role']
  settings: StoredParameters['settings']
  /** sha256 of the base weight as float64 [out, in] (the SVD cache's key). */
  baseSha256: string
  /** The parameters stored for this target, as `<name>.<parameter>` in adapter.safetensors. */
  parameters: { name: string; shape: number[]; dtype: 'F32' | 'F64' }[]
}

export interface AdapterDocument {
  format: typeof adapterFormat
  version: 1
  method: MethodName
  compact: boolean
  base: { model: string; modelType?: string; architectures?: string[] }
  task: string
  labels?: string[]
  /** config.json fields the merged model takes (architectures, labels, problem type). */
  config: Record<string, unknown>
  /** tokenizer_config.json fields the merged model takes (export/configFields.ts: taskTokenizerFields), where there are any. */
  tokenizerConfig?: Record<string, unknown>
  targets: AdapterTargetEntry[]
  /** Trained head tensors, stored as `head.<tensor name>`, and the prefix the base's names take with them. */
  head: { tensors: { name: string; shape: number[] }[]; renamePrefix?: string }
  trainableParameters: number
  run?: { dir: string; checkpoint: string; step: number }
  /** The README.md model card `--merged` writes for this run; `--apply` writes the same (modelCard.ts). Absent in older adapters. */
  mergedModelCard?: string
}

export interface AdapterSource {
  method: MethodName
  adapters: { target: AdaptableLinear; stored: StoredParameters; weightSha256: string }[]
  head: TrainedTensor[]
  renamePrefix?: string
}

/** Write adapter.json + adapter.safetensors into `dir`. */
export async function writeAdapter(dir: string, adapter: AdapterSource, document: Omit<AdapterDocument, 'format' | 'version' | 'targets' | 'head' | 'method' | 'compact' | 'trainableParameters'>, compact: boolean, modelCard?: string): Promise<string[]> {
  const tensors: TensorToWrite[] = []
  const targets: AdapterTargetEntry[] = []
  let trainable = 0
  for (const { target, stored, weightSha256 } of adapter.adapters) {
    const kept = stored.tensors.filter((t) => !(compact && t.derived))
    for (const t of kept) {
      tensors.push({ name: `${target.name}.${t.name}`, dtype: t.values instanceof Float64Array ? 'F64' : 'F32', shape: t.shape, data: t.values })
      if (!t.derived) trainable += t.values.length
    }
    targets.push({
      name: target.name,
      weightTensor: target.weightTensor,
      conv1d: target.conv1d,
      ...(target.slice && { slice: target.slice }),
      shape: [target.outFeatures, target.inFeatures],
      block: target.block,
      role: target.role,
      settings: stored.settings,
      baseSha256: weightSha256,
      parameters: kept.map((t) => ({ name: t.name, shape: t.shape, dtype: t.values instanceof Float64Array ? 'F64' : 'F32' }))
    })
  }
  for (const t of adapter.head) {
    tensors.push({ name: `head.${t.name}`, dtype: 'F32', shape: t.shape, data: t.values })
    trainable += t.values.length
  }
  const full: AdapterDocument = {
    format: adapterFormat,
    version: 1,
    method: adapter.method,
    compact,
    ...document,
    targets,
    head: { tensors: adapter.head.map((t) => ({ name: t.name, shape: t.shape })), ...(adapter.renamePrefix && { renamePrefix: adapter.renamePrefix }) },
    trainableParameters: trainable
  }
  await writeSafetensors(join(dir, 'adapter.safetensors'), tensors, { format: adapterFormat })
  await writeJsonAtomically(join(dir, 'adapter.json'), full)
  return withModelCard(dir, modelCard, ['adapter.json', 'adapter.safetensors'])
}

export async function readAdapterDocument(dir: string): Promise<AdapterDocument> {
  const file = join(dir, 'adapter.json')
  let document: AdapterDocument
  try {
    document = JSON.parse(await readFile(file, 'utf8')) as AdapterDocument
  } catch (error) {
    throw new Error(`${file}: cannot read the adapter description: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  if (document.format !== adapterFormat) throw new Error(`${file}: not a SiVA Studio adapter (format ${JSON.stringify(document.format)})`)
  if (document.version !== 1) throw new Error(`${file}: adapter version ${document.version} is newer than this SiVA Studio reads (1)`)
  return document
}

/**
 * The weight updates an adapter makes to `base`: ΔW factors per target (recomputing the SVD for a compact
 * adapter) and the head. Every target's base weight must hash to what the adapter was trained on.
 */
export async function adapterUpdates(dir: string, base: TensorSource, decompose: Decompose): Promise<{ document: AdapterDocument; updates: WeightUpdates }> {
  const document = await readAdapterDocument(dir)
  const method = methodNamed(document.method)
  const file = await openSafetensors(join(dir, 'adapter.safetensors'))
  try {
    const lowRank: { target: AdaptableLinear; factors: LowRank }[] = []
    for (const entry of document.targets) {
      const target: AdaptableLinear = {
        name: entry.name,
        weightTensor: entry.weightTensor,
        conv1d: entry.conv1d,
        ...(entry.slice && { slice: entry.slice }),
        outFeatures: entry.shape[0],
        inFeatures: entry.shape[1],
        block: entry.block,
        role: entry.role
      }
      const weights = { target, ...(await readTargetWeights(base, target)) }
      const hash = weightHash(weights)
      if (hash !== entry.baseSha256) {
        throw new Error(`${dir}: ${entry.name} was trained on a base weight with sha256 ${entry.baseSha256.slice(0, 12)}…, but ${base.source} holds ${hash.slice(0, 12)}… in ${entry.weightTensor}: this is not the adapter's base model`)
      }
      const stored: StoredParameters = {
        settings: entry.settings,
        tensors: await Promise.all(entry.parameters.map(async (p) => ({ name: p.name, shape: p.shape, values: p.dtype === 'F64' ? await file.readFloat64(`${entry.name}.${p.name}`) : Float32Array.from(await file.readFloat64(`${entry.name}.${p.name}`)) })))
      }
      if (!method.restore) throw new Error(`${dir}: method ${document.method} has no adapter parameters to load`)
      lowRank.push({ target, factors: await method.restore(stored, weights, decompose) })
    }
    const replaced: TrainedTensor[] = []
    for (const t of document.head.tensors) replaced.push({ name: t.name, shape: t.shape, values: Float32Array.from(await file.readFloat64(`head.${t.name}`)) })
    const keeps = keepsForBase(base, document.task)
    return { document, updates: { lowRank, replaced, ...(document.head.renamePrefix && { renamePrefix: document.head.renamePrefix }), ...(keeps && { keeps }) } }
  } finally {
    await file.close()
  }
}

/** What `siva export --merged` keeps of the base for the adapter's task (the same rule, so --apply writes the same files). */
function keepsForBase(base: TensorSource, task: string): ((name: string) => boolean) | undefined {
  if (!['classify', 'regress', 'causal-lm', 'image-classify'].includes(task)) return undefined
  let family
  try {
    family = familyFor(base.config)
  } catch {
    return undefined // a base no family reads: keep every tensor
  }
  return classTensorsOf(family, modelTask(task as TrainTask))
}

/**
 * Put an adapter onto its base and write the merged checkpoint to `outDir` (whole or not at all): the
 * same files `siva export --merged` writes from the run.
 */
export async function applyAdapter(adapterDir: string, baseDir: string, outDir: string, options: { decompose: Decompose; force?: boolean; onProgress?: (done: number, total: number, detail: string) => void; signal?: AbortSignal }): Promise<{ files: string[]; bytes: number }> {
  const destination = await checkDestination(outDir, {
    force: options.force ?? false,
    keep: [
      { path: adapterDir, what: 'the adapter' },
      { path: baseDir, what: 'the base model' }
    ]
  })
  const base = await openCheckpoint(baseDir)
  try {
    const { document, updates } = await adapterUpdates(adapterDir, base, options.decompose)
    const modelDir = (await stat(baseDir)).isDirectory() ? baseDir : dirname(baseDir)
    await checkFreeSpace(dirname(destination.real), await mergedSize(base, modelDir, updates))
    let bytes = 0
    const files = await writeInPlace(destination, { force: options.force ?? false, kind: 'merged' }, async (staging) => {
      const written = await writeMergedCheckpoint(base, modelDir, updates, document.config, staging, { ...(options.onProgress && { onProgress: options.onProgress }), ...(options.signal && { signal: options.signal }), ...(document.tokenizerConfig && { tokenizerFields: document.tokenizerConfig }), ...(document.mergedModelCard !== undefined && { modelCard: document.mergedModelCard }) })
      bytes = written.bytes
      return written.files
    })
    return { files, bytes }
  } finally {
    await base.close()
  }
}
