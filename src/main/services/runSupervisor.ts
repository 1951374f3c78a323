import { existsSync } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type { RunSummary, TrainConfigInput } from '../../shared/api'
import type { TrainConfig, TrainEvent } from '../../shared/training'
import { resolveTrainConfig } from '../engine/training/loop'
import { runStamp } from '../engine/training/runFolder'
import { TrainingSession } from '../workers/trainingSession'
import { RequestError } from './requestError'
import { foldEvent, summaryFromDisk } from './runEvents'

/** Who follows a live run: each event as it comes, and a word whenever the supervisor changed its status. */
export interface RunListener {
  event(event: TrainEvent): void
  status(): void
}

/** A run this back end started: queued, training, or ended since it started. */
export interface LiveRun {
  summary: RunSummary
  config: TrainConfig
  session?: TrainingSession
  listeners: Set<RunListener>
}

export interface RunSupervisorOptions {
  runsDir: string
  svdCacheDir: string
}

/**
 * The runs this back end trains: one at a time, each in its own training worker, later ones waiting in a
 * queue; their controls (pause, resume, cancel); and the runs folder's list and deletions.
 */
export class RunSupervisor {
  private readonly runs = new Map<string, LiveRun>()
  private readonly queue: string[] = []
  private active: string | undefined

  constructor(private readonly options: RunSupervisorOptions) {}

  /** The run this back end started under `runId`, if it did. */
  live(runId: string): LiveRun | undefined {
    return this.runs.get(runId)
  }

  /** Whether a trainer of this back end owns the run now. */
  isTraining(runId: string): boolean {
    return this.runs.get(runId)?.session !== undefined
  }

  async start(input: TrainConfigInput, name?: string): Promise<RunSummary> {
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

  async control(runId: string, action: 'pause' | 'resume' | 'cancel'): Promise<RunSummary> {
    const run = this.runs.get(runId)
    if (!run) throw new RequestError(`${runId}: no such run is training or queued`)
    if (run.summary.status === 'queued' && action === 'cancel') {
      this.queue.splice(this.queue.indexOf(runId), 1)
      run.summary.status = 'cancelled'
      for (const listener of run.listeners) listener.status()
      return { ...run.summary }
    }
    if (!run.session) throw new RequestError(`${runId}: is ${run.summary.status}, not training`)
    run.session[action]()
    if (action === 'pause') run.summary.status = 'paused'
    if (action === 'resume') run.summary.status = 'running'
    return { ...run.summary }
  }

  async list(): Promise<RunSummary[]> {
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
        const summary = await summaryFromDisk(this.options.runsDir, id).catch(() => undefined)
        if (summary) list.push(summary)
      }
    }
    return list.sort((a, b) => (a.created < b.created ? 1 : -1))
  }

  async delete(runId: string): Promise<{ deleted: string }> {
    const run = this.runs.get(runId)
    if (run && (run.session || run.summary.status === 'queued')) throw new RequestError(`${runId}: is ${run.summary.status}; cancel it before deleting it`)
    const dir = join(this.options.runsDir, runId)
    if (!existsSync(join(dir, 'run.json'))) throw new RequestError(`${runId}: no such run in ${this.options.runsDir}`)
    await rm(dir, { recursive: true, force: true })
    this.runs.delete(runId)
    return { deleted: runId }
  }

  /** Empty the queue and stop every trainer at once (the last checkpoint each wrote stays). */
  async close(): Promise<void> {
    this.queue.length = 0
    for (const run of this.runs.values()) await run.session?.kill()
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
        for (const listener of run.listeners) listener.event(event)
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
        for (const listener of run.listeners) listener.status()
        this.next()
      })
  }
}
