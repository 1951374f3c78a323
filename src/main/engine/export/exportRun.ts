import { existsSync } from 'node:fs'
import { stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { readTargetWeights } from '../models/ops'
import { weightHash, type Decompose, type LowRank } from '../peft'
import type { AdaptableLinear } from '../models/types'
import { writeAdapter } from './adapter'
import { taskConfigFields, taskTokenizerFields } from './configFields'
import { classTensorsOf, mergedSize, writeMergedCheckpoint, type WeightUpdates } from './merged'
import { peftModules, writePeftLora } from './peftLora'
import { buildReport } from './report'
import { renderReportHtml } from './reportHtml'
import { checkFreeSpace, writeInPlace } from './outputFolder'
import { checkDestination, isInside, type Destination, type KeptFolder } from './outputGuard'
import { restoreRun, type CheckpointChoice, type RestoredRun } from './restoreRun'
import { runExportFacts } from './exportFacts'
import { runModelCards, type ModelCardOutput } from './modelCard'
import { ExportRefusal, refuseUnavailable } from '../../../shared/exportOptions'
import { readRunInfo } from '../training/runFolder'

export type ExportKind = 'merged' | 'adapter' | 'peft-lora' | 'report'

export interface ExportRequest {
  runDir: string
  /** Which checkpoint: 'best', 'last', or a step number; by default the best, or the last when the run was never evaluated. */
  checkpoint?: CheckpointChoice
  /** Output folders, any number of them at once. */
  outputs: Partial<Record<ExportKind, string>>
  /** The SiVA adapter without the singular vectors (recomputed from the base on load). */
  compact?: boolean
  /** Replace output folders that already exist. */
  force?: boolean
  /**
   * The PEFT LoRA adapter with one rank for every module (each zero-padded to the largest: the same update),
   * lora_alpha = r and no rank_pattern: what vLLM and llama.cpp's converter read correctly.
   */
  uniformRank?: boolean
}

export interface ExportProgress {
  kind: ExportKind | 'restore'
  done: number
  total: number
  detail?: string
}

export interface ExportResult {
  checkpoint: { name: string; step: number }
  /** `omitted`: for a merged checkpoint, the base's tensors its class has no place for (another head, an unused pooler), left out. */
  outputs: { kind: ExportKind; dir: string; bytes: number; files: string[]; omitted?: string[] }[]
}

/**
 * Export a trained run: a merged checkpoint in the input's own layout, SiVA Studio's adapter, the same
 * update as a PEFT LoRA adapter, and the run report, several at once. Each output is written into a hidden
 * sibling folder and renamed into place only when complete: a crash or a full disk midway leaves no
 * half-written model where the user expects a whole one. Existing folders are replaced only with `force`
 * and only when an earlier export wrote them; the run and its base model never (outputGuard.ts). Free
 * space is checked before anything is written.
 */
export async function exportRun(request: ExportRequest, host: { decompose: Decompose; onProgress?: (progress: ExportProgress) => void; signal?: AbortSignal }): Promise<ExportResult> {
  const given = Object.entries(request.outputs).filter(([, dir]) => dir !== undefined).map(([kind, dir]) => ({ kind: kind as ExportKind, dir: dir! }))
  if (given.length === 0) throw new ExportRefusal('outputs', (w) => `nothing to export: ${w.chooseOutput}`)
  // What the run's model and method rule out, said before anything is read or written (the same reasons the Export step shows).
  if (given.some((o) => o.kind !== 'report')) refuseUnavailable(await runExportFacts(request.runDir), given.map((o) => o.kind))
  const keep = await keptFolders(request.runDir)
  const outputs: { kind: ExportKind; destination: Destination }[] = []
  for (const { kind, dir } of given) outputs.push({ kind, destination: await checkDestination(dir, { force: request.force ?? false, keep }) })
  for (const [i, a] of outputs.entries()) {
    for (const b of outputs.slice(i + 1)) {
      if (a.destination.real === b.destination.real) throw new Error(`${b.destination.dir}: given for both ${a.kind} and ${b.kind}; each export needs its own folder`)
      for (const [outer, inner] of [[a, b], [b, a]] as const) {
        if (isInside(outer.destination.real, inner.destination.real)) throw new Error(`${inner.destination.dir}: lies inside ${outer.destination.dir}, the ${outer.kind} output; each export needs its own folder`)
      }
    }
  }

  const checkpoint = request.checkpoint ?? (existsSync(join(request.runDir, 'checkpoints', 'best.json')) ? 'best' : 'last')
  host.onProgress?.({ kind: 'restore', done: 0, total: 1, detail: `checkpoint ${checkpoint}` })
  const restored = await restoreRun(request.runDir, checkpoint, host.decompose, { ...(host.signal && { signal: host.signal }) })
  host.onProgress?.({ kind: 'restore', done: 1, total: 1, detail: restored.checkpoint.name })
  try {
    const { plan } = restored
    const lowRank = await Promise.all(restored.adapters.map(async (a) => ({ target: a.target, factors: await a.lowRank() })))
    const renamePrefix = bareWithNewHead(restored) ? `${plan.family.transformers.basePrefix}.` : undefined
    const keeps = classTensorsOf(plan.family, plan.task)
    const updates: WeightUpdates = { lowRank, replaced: [...restored.head.tensors, ...restored.base], ...(renamePrefix && { renamePrefix }), ...(keeps && { keeps }) }
    const configFields = taskConfigFields(plan.family, plan.task, restored.labels, restored.source.config?.raw ?? {})
    const modelDir = (await stat(restored.config.model)).isDirectory() ? restored.config.model : dirname(restored.config.model)
    const tokenizerFields = await taskTokenizerFields(plan.family, plan.task, { ...(restored.source.config?.raw ?? {}), ...configFields }, modelDir)
    // README.md model cards, written inside each output's staging folder with the rest (modelCard.ts).
    const cards = outputs.some((o) => o.kind !== 'report') ? await runModelCards(restored, modelDir, request.compact ?? false) : undefined

    // Free space, per file system, before writing anything.
    const needs = new Map<string, number>()
    for (const { kind, destination } of outputs) {
      const bytes = kind === 'merged' ? await mergedSize(restored.source, modelDir, updates) : kind === 'report' ? await reportBytes(request.runDir) : await adapterBytes(restored, lowRank, kind, request.compact ?? false, request.uniformRank ?? false)
      const parent = dirname(destination.real)
      needs.set(parent, (needs.get(parent) ?? 0) + bytes)
    }
    for (const [parent, bytes] of needs) await checkFreeSpace(parent, bytes)

    const result: ExportResult = { checkpoint: { name: restored.checkpoint.name, step: restored.checkpoint.state.step }, outputs: [] }
    for (const { kind, destination } of outputs) {
      host.signal?.throwIfAborted()
      const progress = (done: number, total: number, detail?: string): void => host.onProgress?.({ kind, done, total, ...(detail !== undefined && { detail }) })
      let omitted: string[] = []
      const files = await writeInPlace(destination, { force: request.force ?? false, kind }, async (staging) => {
        switch (kind) {
          case 'merged': {
            const written = await writeMergedCheckpoint(restored.source, modelDir, updates, configFields, staging, { onProgress: progress, ...(host.signal && { signal: host.signal }), ...(tokenizerFields && { tokenizerFields }), ...(cards && { modelCard: cards.merged }) })
            omitted = written.dropped
            return written.files
          }
          case 'adapter':
            return writeSivaAdapter(restored, staging, request.compact ?? false, configFields, renamePrefix, progress, tokenizerFields, cards)
          case 'peft-lora':
            return writePeft(restored, lowRank, staging, cards?.['peft-lora'], request.uniformRank ?? false)
          case 'report': {
            const report = await buildReport(restored.runDir, { checkpoint: restored.checkpoint.name })
            // Compact: a long run's curves would take tens of megabytes indented.
            await writeFile(join(staging, 'report.json'), `${JSON.stringify(report)}\n`)
            await writeFile(join(staging, 'report.html'), renderReportHtml(report))
            return ['report.json', 'report.html']
          }
        }
      })
      let bytes = 0
      for (const file of files) bytes += (await stat(join(destination.real, file))).size
      progress(1, 1)
      result.outputs.push({ kind, dir: destination.dir, bytes, files, ...(omitted.length > 0 && { omitted }) })
    }
    return result
  } finally {
    await restored.close()
  }
}

/** What no output of this run may replace: the run and the checkpoint it was trained from (a folder, or a file and its folder). */
async function keptFolders(runDir: string): Promise<KeptFolder[]> {
  const model = resolve((await readRunInfo(runDir)).config.model)
  const keep = [
    { path: resolve(runDir), what: 'the run folder' },
    { path: model, what: "the run's base model" }
  ]
  const isFolder = await stat(model).then((s) => s.isDirectory(), () => true)
  if (!isFolder) keep.push({ path: dirname(model), what: "the run's base model" })
  return keep
}

/** The report holds about what events.jsonl does, twice over at most (JSON and the page), plus the page's frame. */
async function reportBytes(runDir: string): Promise<number> {
  const events = await stat(join(runDir, 'events.jsonl')).then((s) => s.size, () => 0)
  return 2 * events + 1024 * 1024
}

/** A bare checkpoint (BertModel's names, no `bert.` prefix) that now has a head: transformers only loads it with the prefix. */
function bareWithNewHead(restored: RestoredRun): boolean {
  if (restored.head.tensors.length === 0 || restored.plan.family.transformers.basePrefix === '') return false
  const prefix = `${restored.plan.family.transformers.basePrefix}.`
  return !restored.source.tensors.some((t) => t.name.startsWith(prefix))
}

async function adapterBytes(restored: RestoredRun, lowRank: { target: AdaptableLinear; factors: LowRank }[], kind: ExportKind, compact: boolean, uniformRank: boolean): Promise<number> {
  const head = restored.head.tensors.reduce((sum, t) => sum + 4 * t.values.length, 0)
  // A fused module's rank is the sum of its blocks': the largest target rank × 3 bounds a padded one.
  const padded = uniformRank ? 3 * Math.max(0, ...lowRank.map((u) => u.factors.rank)) : 0
  if (kind === 'peft-lora') return head + lowRank.reduce((sum, { target, factors }) => sum + 4 * Math.max(factors.rank, padded) * (target.outFeatures * 3 + target.inFeatures), 0) + 65536
  const stored = await Promise.all(restored.adapters.map((a) => a.stored()))
  return head + stored.reduce((sum, parameters) => sum + parameters.tensors.filter((t) => !(compact && t.derived)).reduce((s, t) => s + t.values.byteLength, 0), 0) + 65536
}

async function writeSivaAdapter(restored: RestoredRun, dir: string, compact: boolean, configFields: Record<string, unknown>, renamePrefix: string | undefined, progress: (done: number, total: number, detail?: string) => void, tokenizerFields: Record<string, unknown> | undefined, cards: Record<ModelCardOutput, string> | undefined): Promise<string[]> {
  const adapters = []
  for (const [i, adapter] of restored.adapters.entries()) {
    const weights = { target: adapter.target, ...(await readTargetWeights(restored.source, adapter.target)) }
    adapters.push({ target: adapter.target, stored: await adapter.stored(), weightSha256: weightHash(weights) })
    progress(i + 1, restored.adapters.length + 1, adapter.target.name)
  }
  const config = restored.source.config
  return writeAdapter(
    dir,
    { method: restored.plan.method.name, adapters, head: restored.head.tensors, ...(renamePrefix && { renamePrefix }) },
    {
      base: { model: resolve(restored.config.model), ...(config?.modelType && { modelType: config.modelType }), ...(config?.architectures && { architectures: config.architectures }) },
      task: restored.config.task,
      ...(restored.labels && { labels: restored.labels }),
      config: configFields,
      ...(tokenizerFields && { tokenizerConfig: tokenizerFields }),
      run: { dir: resolve(restored.runDir), checkpoint: restored.checkpoint.name, step: restored.checkpoint.state.step },
      ...(cards && { mergedModelCard: cards.merged })
    },
    compact,
    cards?.adapter
  )
}

async function writePeft(restored: RestoredRun, lowRank: { target: AdaptableLinear; factors: LowRank }[], dir: string, modelCard: string | undefined, uniformRank: boolean): Promise<string[]> {
  const shapes = new Map(restored.source.tensors.map((t) => [t.name, t.shape]))
  const modules = peftModules(lowRank, (tensor) => shapes.get(tensor)!)
  const written = await writePeftLora(dir, modules, {
    task: restored.plan.task,
    baseModel: resolve(restored.config.model),
    fanInFanOut: lowRank.some((u) => u.target.conv1d),
    basePrefix: restored.plan.family.transformers.basePrefix,
    head: restored.head.tensors,
    ...(restored.plan.family.transformers.architectures[restored.plan.task] !== undefined && { architecture: restored.plan.family.transformers.architectures[restored.plan.task] }),
    ...(restored.source.config?.modelType !== undefined && { modelType: restored.source.config.modelType }),
    ...(modelCard !== undefined && { modelCard }),
    uniformRank
  })
  return written.files
}
