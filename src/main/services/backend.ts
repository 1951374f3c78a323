import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import {
  methods,
  type AppInfo,
  type CallName,
  type CallResults,
  type DataCheckResult,
  type MethodName,
  type ModelSummary,
  type RecentModel,
  type Params,
  type RunSummary,
  type StreamEvents,
  type TrainConfigInput
} from '../../shared/api'
import type { TrainConfig, TrainEvent } from '../../shared/training'
import { previewTextExamples, TextTokenizer, validateImageDataset, validateTextDataset, type ValidationReport } from '../engine/data'
import { probeBackend } from '../engine/backend'
import { exportRun } from '../engine/export'
import { isFloatDtype } from '../engine/io/dtypes'
import { openCheckpoint, writeJsonAtomically } from '../engine/io'
import { familyFor, headLrOf } from '../engine/models/registry'
import { cachedDecompose } from '../engine/peft'
import { inspectSource } from '../engine/spectra'
import { resolveTrainConfig } from '../engine/training/loop'
import { EventLog, readRunInfo, runStamp } from '../engine/training/runFolder'
import { AnalysisPool } from '../workers/analysisPool'
import { TrainingSession } from '../workers/trainingSession'
import { appInfo } from './appInfo'

/**
 * Everything the UI can ask for, whichever transport carries it (Electron IPC, `siva serve`'s WebSocket).
 * Every request is checked against its schema in src/shared/api.ts before anything runs. Owns the SVD
 * pool and the training workers: one run trains at a time, later ones wait in a queue.
 */
export interface BackendOptions {
  runsDir: string
  svdCacheDir: string
  demo?: AppInfo['demo']
  /** The host's native open dialog (the desktop app); without it, pickPath says to type the path. */
  pickPath?: (kind: 'folder' | 'file', title?: string) => Promise<string | undefined>
}

interface LiveRun {
  summary: RunSummary
  config: TrainConfig
  session?: TrainingSession
  listeners: Set<(event: TrainEvent) => void>
}

export class RequestError extends Error {
  override name = 'RequestError'
}

export class SivaBackend {
  private readonly pool = new AnalysisPool()
  private readonly runs = new Map<string, LiveRun>()
  private readonly queue: string[] = []
  private active: string | undefined

  constructor(private readonly options: BackendOptions) {}

  /** Validate and run one call. Unknown methods and bad params are refused with a message naming the field. */
  async call(method: string, params: unknown): Promise<unknown> {
    const parsed = this.parse(method, params, 'call') as Params<CallName>
    const handlers: { [M in CallName]: (p: Params<M>) => Promise<CallResults[M]> } = {
      appInfo: () => this.appInfo(),
      openModel: (p) => this.openModel(p.path),
      recentModels: () => this.recentModels(),
      pickPath: async (p) => {
        if (!this.options.pickPath) throw new RequestError('pickPath: there is no file dialog in a browser; type or paste the path instead')
        const path = await this.options.pickPath(p.kind, p.title)
        return path === undefined ? {} : { path }
      },
      checkData: (p) => this.checkData(p),
      listRuns: () => this.listRuns(),
      startRun: (p) => this.startRun(p.config, p.name),
      pauseRun: (p) => this.control(p.runId, 'pause'),
      resumeRun: (p) => this.control(p.runId, 'resume'),
      cancelRun: (p) => this.control(p.runId, 'cancel'),
      deleteRun: (p) => this.deleteRun(p.runId),
      exportRun: (p) => this.exportRun(p)
    }
    return (handlers[method as CallName] as (p: unknown) => Promise<unknown>)(parsed)
  }

  /** Validate and run one stream until it ends or `signal` aborts (the caller closed it). */
  async stream(method: string, params: unknown, emit: (event: unknown) => void, signal: AbortSignal): Promise<void> {
    const parsed = this.parse(method, params, 'stream')
    if (method === 'analyseLayers') return this.analyseLayers(parsed as Params<'analyseLayers'>, emit, signal)
    return this.runEvents(parsed as Params<'runEvents'>, emit, signal)
  }

  async close(): Promise<void> {
    this.queue.length = 0
    for (const run of this.runs.values()) await run.session?.kill()
    await this.pool.close()
  }

  private parse(method: string, params: unknown, kind: 'call' | 'stream'): unknown {
    const spec = (methods as Record<string, { kind: string; params: z.ZodType }>)[method]
    if (!spec || !Object.hasOwn(methods, method)) throw new RequestError(`unknown method ${JSON.stringify(method)}`)
    if (spec.kind !== kind) throw new RequestError(`${method} is a ${spec.kind}, not a ${kind}`)
    const result = spec.params.safeParse(params ?? {})
    if (!result.success) {
      const issue = result.error.issues[0]!
      throw new RequestError(`${method}: ${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`)
    }
    return result.data
  }

  // ---------------------------------------------------------------- model and data

  private async appInfo(): Promise<AppInfo> {
    return { ...appInfo(), backend: probeBackend(), runsDir: this.options.runsDir, canPickPaths: this.options.pickPath !== undefined, ...(this.options.demo && { demo: this.options.demo }) }
  }

  /** Where the recent-models list is kept: beside the runs folder. */
  private get recentFile(): string {
    return join(dirname(this.options.runsDir), 'recent-models.json')
  }

  private async recentModels(): Promise<RecentModel[]> {
    try {
      const list = JSON.parse(await readFile(this.recentFile, 'utf8')) as unknown
      // Folders that are gone are left out; a damaged file is as good as none.
      return Array.isArray(list) ? (list as RecentModel[]).filter((m) => typeof m?.path === 'string' && existsSync(m.path)) : []
    } catch {
      return []
    }
  }

  /** Put a model at the top of the recent list (at most 10), written atomically. */
  private async remember(summary: ModelSummary): Promise<void> {
    const entry: RecentModel = { path: summary.path, ...(summary.modelType && { modelType: summary.modelType }), architectures: summary.architectures, openedAt: new Date().toISOString() }
    const list = [entry, ...(await this.recentModels()).filter((m) => m.path !== summary.path)].slice(0, 10)
    await mkdir(dirname(this.recentFile), { recursive: true })
    await writeJsonAtomically(this.recentFile, list)
  }

  private async openModel(path: string): Promise<ModelSummary> {
    const summary = await this.describeModel(resolve(path))
    await this.remember(summary).catch(() => undefined)
    return summary
  }

  private async describeModel(path: string): Promise<ModelSummary> {
    const source = await openCheckpoint(path)
    try {
      const dtypes: Record<string, number> = {}
      let parameters = 0
      for (const t of source.tensors) {
        const count = t.shape.reduce((a, b) => a * b, 1)
        parameters += count
        dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + count
      }
      const config = source.config
      const folder = (await stat(path)).isDirectory() ? path : dirname(path)
      const summary: ModelSummary = {
        path: source.source,
        format: source.format,
        ...(config?.modelType && { modelType: config.modelType }),
        architectures: config?.architectures ?? [],
        parameters,
        dtypes,
        layers: config?.numLayers ?? 0,
        ...(config?.hiddenSize !== undefined && { hiddenSize: config.hiddenSize }),
        targets: [],
        // The sentence encoder's SentencePiece vocabulary stands in for tokenizer.json.
        tokenizer: existsSync(join(folder, 'tokenizer.json')) || (config?.modelType === 'use-lite' && existsSync(join(folder, 'vocab.json'))),
        imageProcessor: existsSync(join(folder, 'preprocessor_config.json'))
      }
      try {
        const family = familyFor(config, path)
        summary.targets = family.targets(config!, source.tensors).map((t) => ({
          name: t.name,
          block: t.block,
          role: t.role,
          shape: [t.outFeatures, t.inFeatures],
          // The spectrum's name: a fused block is analysed as its tensor plus the part (q, k or v), as the target name ends.
          matrix: t.slice ? `${t.weightTensor}.${t.name.split('.').at(-1)}` : t.weightTensor
        }))
        summary.defaultTargets = family.defaultTargets.source
        summary.headLr = headLrOf(family)
      } catch (error) {
        summary.notTrainable = error instanceof Error ? error.message : String(error)
      }
      if (!Object.keys(dtypes).some((d) => isFloatDtype(d as never))) summary.notTrainable ??= 'the checkpoint holds no floating-point weights'
      return summary
    } finally {
      await source.close()
    }
  }

  private async checkData(p: Params<'checkData'>): Promise<DataCheckResult> {
    if (p.task === 'image-classify') {
      const columns = { ...(p.columns?.path && { path: p.columns.path }), ...(p.columns?.label && { label: p.columns.label }) }
      const report = await validateImageDataset(p.path, { columns })
      return checkResult(report, p.task, [])
    }
    const task = p.task === 'classify' ? 'classification' : p.task === 'regress' ? 'regression' : 'causal-lm'
    const tokenizer = p.model ? await TextTokenizer.load(p.model) : undefined
    const maxLength = p.maxLength ?? tokenizer?.modelMaxLength ?? 512
    const options = { task, columns: p.columns ?? {}, maxLength, ...(tokenizer && { tokenizer }) } as const
    const report = await validateTextDataset(p.path, options)
    const preview = (await previewTextExamples(p.path, options, 8)).map((example) => ({
      row: example.row,
      text: example.prompt !== undefined ? `${example.prompt} ⟶ ${example.text}` : example.text,
      ...(example.textPair !== undefined && { textPair: example.textPair }),
      ...(example.label !== undefined && { label: String(example.label) }),
      ...(example.tokens !== undefined && { tokens: example.tokens })
    }))
    return checkResult(report, p.task, preview)
  }

  // ---------------------------------------------------------------- spectra

  private async analyseLayers(p: Params<'analyseLayers'>, emit: (event: StreamEvents['analyseLayers']) => void, signal: AbortSignal): Promise<void> {
    const source = await openCheckpoint(p.path)
    try {
      const report = await inspectSource(source, {
        runSvd: this.pool.runSvd,
        concurrency: this.pool.size * 2,
        signal,
        ...(p.layers !== undefined && { layers: new RegExp(p.layers) }),
        ...(p.valuesOnly !== undefined && { valuesOnly: p.valuesOnly }),
        onProgress: (progress) => emit({ type: 'progress', done: progress.done, total: progress.total, ...(progress.layer && { layer: progress.layer }), ...(progress.error && { error: progress.error }) })
      })
      emit({ type: 'report', report })
    } finally {
      await source.close()
    }
  }

  // ---------------------------------------------------------------- runs

  private async startRun(input: TrainConfigInput, name?: string): Promise<RunSummary> {
    for (const [field, path] of [['model', input.model], ['data', input.data]] as const) {
      if (!existsSync(path)) throw new RequestError(`startRun: config.${field}: ${path} does not exist`)
    }
    const config = await resolveTrainConfig(input as Partial<TrainConfig> & Pick<TrainConfig, 'model' | 'data' | 'task'>)
    const id = await this.newRunId(name ?? `${basename(resolve(config.model))}-${config.method}`)
    const summary: RunSummary = { id, dir: join(this.options.runsDir, id), created: new Date().toISOString(), model: config.model, data: config.data, task: config.task, method: config.method, status: 'queued', step: 0 }
    this.runs.set(id, { summary, config, listeners: new Set() })
    this.queue.push(id)
    this.next()
    return { ...summary }
  }

  private async newRunId(base: string): Promise<string> {
    await mkdir(this.options.runsDir, { recursive: true })
    const stamp = runStamp()
    const slug = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '').slice(0, 60) || 'run'
    for (let i = 0; ; i++) {
      const id = `${stamp}-${slug}${i === 0 ? '' : `-${i + 1}`}`
      if (!existsSync(join(this.options.runsDir, id)) && !this.runs.has(id)) return id
    }
  }

  /** Start the next queued run when none is training. */
  private next(): void {
    if (this.active) return
    const id = this.queue.shift()
    if (!id) return
    const run = this.runs.get(id)!
    this.active = id
    run.summary.status = 'running'
    const session = new TrainingSession({
      runDir: run.summary.dir,
      config: run.config,
      svdCacheDir: this.options.svdCacheDir,
      onEvent: (event) => {
        foldEvent(run.summary, event)
        for (const listener of run.listeners) listener(event)
      }
    })
    run.session = session
    session.done
      .then(
        (outcome) => (run.summary.status = outcome),
        (error: Error) => {
          run.summary.status = 'failed'
          run.summary.error = error.message
        }
      )
      .finally(() => {
        run.session = undefined
        this.active = undefined
        for (const listener of run.listeners) listener(statusEvent)
        this.next()
      })
  }

  private async control(runId: string, action: 'pause' | 'resume' | 'cancel'): Promise<RunSummary> {
    const run = this.runs.get(runId)
    if (!run) throw new RequestError(`${runId}: no such run is training or queued`)
    if (run.summary.status === 'queued' && action === 'cancel') {
      this.queue.splice(this.queue.indexOf(runId), 1)
      run.summary.status = 'cancelled'
      for (const listener of run.listeners) listener(statusEvent)
      return { ...run.summary }
    }
    if (!run.session) throw new RequestError(`${runId}: is ${run.summary.status}, not training`)
    run.session[action]()
    if (action === 'pause') run.summary.status = 'paused'
    if (action === 'resume') run.summary.status = 'running'
    return { ...run.summary }
  }

  private async listRuns(): Promise<RunSummary[]> {
    const ids = new Set(this.runs.keys())
    try {
      for (const entry of await readdir(this.options.runsDir)) if (existsSync(join(this.options.runsDir, entry, 'run.json'))) ids.add(entry)
    } catch {
      // no runs folder yet
    }
    const list: RunSummary[] = []
    for (const id of ids) {
      const live = this.runs.get(id)
      if (live) list.push({ ...live.summary })
      else {
        const summary = await this.summaryFromDisk(id).catch(() => undefined)
        if (summary) list.push(summary)
      }
    }
    return list.sort((a, b) => (a.created < b.created ? 1 : -1))
  }

  private async summaryFromDisk(id: string): Promise<RunSummary> {
    const dir = join(this.options.runsDir, id)
    const info = await readRunInfo(dir)
    const summary: RunSummary = { id, dir, created: info.created, model: info.config.model, data: info.config.data, task: info.config.task, method: info.config.method, status: 'interrupted', step: 0 }
    for (const event of await EventLog.read(dir).catch(() => [])) foldEvent(summary, event)
    return summary
  }

  private async deleteRun(runId: string): Promise<{ deleted: string }> {
    const run = this.runs.get(runId)
    if (run && (run.session || run.summary.status === 'queued')) throw new RequestError(`${runId}: is ${run.summary.status}; cancel it before deleting it`)
    const dir = join(this.options.runsDir, runId)
    if (!existsSync(join(dir, 'run.json'))) throw new RequestError(`${runId}: no such run in ${this.options.runsDir}`)
    await rm(dir, { recursive: true, force: true })
    this.runs.delete(runId)
    return { deleted: runId }
  }

  private async runEvents(p: Params<'runEvents'>, emit: (event: StreamEvents['runEvents']) => void, signal: AbortSignal): Promise<void> {
    const run = this.runs.get(p.runId)
    const dir = join(this.options.runsDir, p.runId)
    if (!run && !existsSync(join(dir, 'run.json'))) throw new RequestError(`${p.runId}: no such run`)
    let last = p.after ?? -1
    const send = (event: TrainEvent): void => {
      if (event.index <= last) return
      last = event.index
      emit({ type: 'event', event })
    }
    // Listen first and hold live events until the replay from disk is out: nothing is missed or sent twice.
    const held: TrainEvent[] = []
    let replaying = true
    let finish: (() => void) | undefined
    const listener = (event: TrainEvent): void => {
      if (event === statusEvent) {
        emit({ type: 'status', run: { ...run!.summary } })
        if (!run!.session && run!.summary.status !== 'queued') finish?.()
        return
      }
      if (replaying) held.push(event)
      else send(event)
    }
    run?.listeners.add(listener)
    try {
      if (existsSync(join(dir, 'events.jsonl'))) for (const event of await EventLog.read(dir, last)) send(event)
      replaying = false
      for (const event of held) send(event)
      if (run) emit({ type: 'status', run: { ...run.summary } })
      if (!run || (!run.session && run.summary.status !== 'queued')) return
      await new Promise<void>((resolve) => {
        finish = resolve
        signal.addEventListener('abort', () => resolve(), { once: true })
      })
    } finally {
      run?.listeners.delete(listener)
    }
  }

  private async exportRun(p: Params<'exportRun'>): Promise<CallResults['exportRun']> {
    const run = this.runs.get(p.runId)
    if (run?.session) throw new RequestError(`${p.runId}: is still training; export it when it has finished or been cancelled`)
    const runDir = join(this.options.runsDir, p.runId)
    const decompose = cachedDecompose(this.pool.runSvd, { cacheDir: this.options.svdCacheDir })
    return exportRun({ runDir, outputs: p.outputs, ...(p.checkpoint !== undefined && { checkpoint: p.checkpoint }), ...(p.compact !== undefined && { compact: p.compact }), ...(p.force !== undefined && { force: p.force }) }, { decompose })
  }
}

/** A marker passed to a run's listeners when its status changed (not a TrainEvent). */
const statusEvent = { type: 'status' } as unknown as TrainEvent

/** Keep a run's summary up to date with its events. */
function foldEvent(summary: RunSummary, event: TrainEvent): void {
  switch (event.type) {
    case 'prepared':
      summary.totalSteps = event.totalSteps
      summary.trainable = event.parameters.total
      break
    case 'step':
      summary.step = event.step
      break
    case 'eval':
      summary.metrics = event.metrics
      break
    case 'paused':
      summary.status = 'paused'
      break
    case 'resumed':
      summary.status = 'running'
      break
    case 'cancelled':
      summary.status = 'cancelled'
      break
    case 'finished':
      summary.status = 'finished'
      break
    case 'error':
      summary.status = 'failed'
      summary.error = event.message
      break
  }
}

function checkResult(report: ValidationReport, task: DataCheckResult['task'], preview: DataCheckResult['preview']): DataCheckResult {
  const listed = 200
  const summary = report.summary
  return {
    file: report.file,
    task,
    rows: report.rows,
    usable: report.usable,
    problems: report.problems.slice(0, listed).map((p) => ({ severity: p.severity, code: p.code, message: p.message, ...(p.row !== undefined && { row: p.row }), ...(p.field !== undefined && { column: p.field }) })),
    moreProblems: Math.max(0, report.problems.length - listed),
    columns: { available: (summary.columns as { available?: string[] }).available ?? [], used: Object.fromEntries(Object.entries(summary.columns).filter(([, v]) => typeof v === 'string')) as Record<string, string> },
    ...(summary.classes && { classes: summary.classes.map((c) => ({ label: c.label, count: c.count })) }),
    ...(summary.tokens && { tokens: { maxLength: summary.tokens.maxLength, tooLong: summary.tokens.tooLong, mean: summary.tokens.mean, max: summary.tokens.max } }),
    preview
  }
}

export type { MethodName }
