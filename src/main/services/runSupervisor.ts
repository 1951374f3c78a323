import { existsSync } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type { RunSummary, TrainConfigInput } from '../../shared/api'
import { continuableRunStatuses, createRunTimeline, foldRunEvent, settledStatus, type RunStatus, type RunTimeline } from '../../shared/runTimeline'
import type { TrainConfig, TrainEvent } from '../../shared/training'
import { resolveTrainConfig } from '../engine/training/loop'
import { runStamp } from '../engine/training/runFolder'
import { RunLockedError } from '../engine/training/runLock'
import type { TrainingSessionLike } from '../workers/gpuTrainingSession'
import { TrainingSession, type TrainingSessionOptions } from '../workers/trainingSession'
import { refuseUnusableRunData } from './dataCheck'
import { RequestError } from './requestError'
import { otherTrainer, readRunFolder, runFields, summaryFromDisk, timelineFields } from './runEvents'

/** Who follows a live run: each event as it comes, and a word whenever its status may have changed. */
export interface RunListener {
  event(event: TrainEvent): void
  status(): void
}

/** A run this back end started or continued: queued, training, or ended since. */
export interface LiveRun {
  id: string
  created: string
  config: TrainConfig
  /** Continue from the folder's latest checkpoint (continueRun), rather than start the folder. */
  resume: boolean
  timeline: RunTimeline
  queued: boolean
  session?: TrainingSessionLike
  /**
   * A status the log does not hold yet, shown until the trainer's next change of status: what a control
   * asked for (the answer to Pause says 'paused' although the step in flight ends first), 'cancelled' for
   * a queued run that never started, 'failed' for a new run whose trainer failed before its first event.
   */
  requested?: RunStatus
  /** Why the trainer stopped when its log does not say (the worker crashed, or it failed before its first event). */
  failure?: string
  listeners: Set<RunListener>
}

export interface RunSupervisorOptions {
  runsDir: string
  svdCacheDir: string
  /** Where a run trains: a worker thread (default), or the desktop app's GPU window for its WebGPU runs. */
  sessionFactory?: (options: TrainingSessionOptions, config: TrainConfig) => TrainingSessionLike
}

/** How quitting stopped the runs in training. */
export interface StopReport {
  /** Cancelled at a step boundary, with a checkpoint, within the time allowed. */
  stopped: string[]
  /** Still busy when the time was up (preparing, or a long step): terminated; their last checkpoint stays. */
  killed: string[]
}

/**
 * The runs this back end trains: one at a time, each in its own training worker, later ones waiting in a
 * queue; their controls (pause, resume, cancel, continue); the runs folder's list and deletions; and
 * stopping them all with a checkpoint when the host quits. A run's status is always its events' timeline
 * (src/shared/runTimeline.ts) settled by whether its trainer is alive.
 */
export class RunSupervisor {
  private readonly runs = new Map<string, LiveRun>()
  private readonly queue: string[] = []
  private active: string | undefined
  private closing = false

  constructor(private readonly options: RunSupervisorOptions) {}

  /** The run this back end started or continued under `runId`, if it did. */
  live(runId: string): LiveRun | undefined {
    return this.runs.get(runId)
  }

  /** Whether a trainer of this back end owns the run now. */
  isTraining(runId: string): boolean {
    return this.runs.get(runId)?.session !== undefined
  }

  /** Training or queued here: its status may still change. */
  isActive(runId: string): boolean {
    const run = this.runs.get(runId)
    return run !== undefined && (run.session !== undefined || run.queued)
  }

  /** A live run's summary as it stands now. */
  summary(runId: string): RunSummary | undefined {
    const run = this.runs.get(runId)
    return run && summaryOf(this.options.runsDir, run)
  }

  async start(input: TrainConfigInput, name?: string): Promise<RunSummary> {
    this.refuseWhileClosing()
    for (const [field, path] of [['model', input.model], ['data', input.data], ['validation', input.validation]] as const) {
      if (path !== undefined && !existsSync(path)) throw new RequestError(`startRun: config.${field}: ${path} does not exist`)
    }
    const config = await resolveTrainConfig(input as Partial<TrainConfig> & Pick<TrainConfig, 'model' | 'data' | 'task'>)
    // Refused before anything is written: data the check rejects would only make a failed run with empty charts.
    await refuseUnusableRunData(config)
    this.refuseWhileClosing()
    const id = await this.newRunId(name ?? `${basename(resolve(config.model))}-${config.method}`)
    const run: LiveRun = { id, created: new Date().toISOString(), config, resume: false, timeline: createRunTimeline(), queued: true, listeners: new Set() }
    this.runs.set(id, run)
    this.queue.push(id)
    this.next()
    return summaryOf(this.options.runsDir, run)
  }

  /**
   * Queue an interrupted or cancelled run to train on from its latest checkpoint (the engine's resume,
   * as `siva train --resume` does). Its events continue the same log; a view following it sees them live.
   */
  async continue(runId: string): Promise<RunSummary> {
    this.refuseWhileClosing()
    const known = this.runs.get(runId)
    if (known && (known.session || known.queued)) throw new RequestError(`${runId}: is ${summaryOf(this.options.runsDir, known).status}; only an interrupted or cancelled run can be continued`)
    if (!existsSync(join(this.options.runsDir, runId, 'run.json'))) throw new RequestError(`${runId}: no such run in ${this.options.runsDir}`)
    // The folder is the truth: another process may have written it since this back end last saw it, or train it now.
    const dir = join(this.options.runsDir, runId)
    const holder = await otherTrainer(dir)
    if (holder) throw new RequestError(new RunLockedError(dir, holder).message)
    const folder = await readRunFolder(this.options.runsDir, runId)
    const status = settledStatus(folder.timeline, false)
    if (!continuableRunStatuses.includes(status)) throw new RequestError(`${runId}: is ${status}; only an interrupted or cancelled run can be continued`)
    const run: LiveRun = { id: runId, created: folder.created, config: folder.config, resume: true, timeline: folder.timeline, queued: true, listeners: known?.listeners ?? new Set() }
    this.runs.set(runId, run)
    this.queue.push(runId)
    this.next()
    for (const listener of run.listeners) listener.status()
    return summaryOf(this.options.runsDir, run)
  }

  async control(runId: string, action: 'pause' | 'resume' | 'cancel'): Promise<RunSummary> {
    const run = this.runs.get(runId)
    if (!run) throw new RequestError(`${runId}: no such run is training or queued`)
    if (run.queued && action === 'cancel') {
      this.queue.splice(this.queue.indexOf(runId), 1)
      run.queued = false
      // Never started: nothing in its folder says so, the back end does.
      if (!run.resume) run.requested = 'cancelled'
      for (const listener of run.listeners) listener.status()
      return summaryOf(this.options.runsDir, run)
    }
    if (!run.session) throw new RequestError(`${runId}: is ${summaryOf(this.options.runsDir, run).status}, not training`)
    run.session[action]()
    if (action === 'pause') run.requested = 'paused'
    if (action === 'resume') run.requested = 'running'
    return summaryOf(this.options.runsDir, run)
  }

  async list(): Promise<RunSummary[]> {
    const ids = new Set(this.runs.keys())
    try {
      // Hidden entries are run folders still being built (createRunFolder renames them into place), not runs.
      for (const entry of await readdir(this.options.runsDir)) if (!entry.startsWith('.') && existsSync(join(this.options.runsDir, entry, 'run.json'))) ids.add(entry)
    } catch {
      // no runs folder yet
    }
    const list: RunSummary[] = []
    for (const id of ids) {
      const live = this.summary(id)
      if (live) list.push(live)
      else {
        const summary = await summaryFromDisk(this.options.runsDir, id).catch(() => undefined)
        if (summary) list.push(summary)
      }
    }
    return list.sort((a, b) => (a.created < b.created ? 1 : -1))
  }

  async delete(runId: string): Promise<{ deleted: string }> {
    const run = this.runs.get(runId)
    if (run && (run.session || run.queued)) throw new RequestError(`${runId}: is ${summaryOf(this.options.runsDir, run).status}; cancel it before deleting it`)
    const dir = join(this.options.runsDir, runId)
    if (!existsSync(join(dir, 'run.json'))) throw new RequestError(`${runId}: no such run in ${this.options.runsDir}`)
    await rm(dir, { recursive: true, force: true })
    this.runs.delete(runId)
    return { deleted: runId }
  }

  /**
   * The host is quitting: empty the queue, ask every trainer to stop after its current step with a
   * checkpoint (the engine's cancel), wait up to `timeoutMs` for them, then terminate what is left (its
   * last checkpoint stays). No run starts after this.
   */
  async stopAll(timeoutMs: number): Promise<StopReport> {
    this.closing = true
    this.queue.length = 0
    for (const run of this.runs.values()) run.queued = false
    const training = [...this.runs.values()].filter((run) => run.session)
    for (const run of training) run.session!.cancel()
    const stopped: string[] = []
    let timer: NodeJS.Timeout | undefined
    const timeUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
    await Promise.race([Promise.allSettled(training.map((run) => run.session!.done.then(() => void stopped.push(run.id)))), timeUp])
    clearTimeout(timer)
    const killed: string[] = []
    for (const run of training) {
      if (stopped.includes(run.id)) continue
      killed.push(run.id)
      await terminate(run.session)
    }
    return { stopped, killed }
  }

  /** Empty the queue and stop every trainer at once (the last checkpoint each wrote stays). */
  async close(): Promise<void> {
    this.closing = true
    this.queue.length = 0
    for (const run of this.runs.values()) await terminate(run.session)
  }

  private refuseWhileClosing(): void {
    if (this.closing) throw new RequestError('the app is quitting: no run starts now')
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
    if (this.active || this.closing) return
    const id = this.queue.shift()
    if (!id) return
    const run = this.runs.get(id)!
    this.active = id
    run.queued = false
    delete run.failure
    let logged = false
    const makeSession = this.options.sessionFactory ?? ((options: TrainingSessionOptions) => new TrainingSession(options))
    const session = makeSession({
      runDir: join(this.options.runsDir, id),
      ...(run.resume ? { resume: true } : { config: run.config }),
      svdCacheDir: this.options.svdCacheDir,
      onEvent: (event) => {
        logged = true
        const before = run.timeline.status
        foldRunEvent(run.timeline, event)
        if (run.timeline.status !== before) delete run.requested
        for (const listener of run.listeners) listener.event(event)
      }
    }, run.config)
    run.session = session
    session.done
      .catch((error: Error) => {
        // An error the engine logged is in the timeline already; a crash, or a failure before the first event, is not.
        if (run.timeline.status !== 'failed') run.failure = error.message
        // A new run that never logged failed; a continued one stands as its folder says (with the message why it did not continue).
        if (!logged && !run.resume) run.requested = 'failed'
      })
      .finally(() => {
        run.session = undefined
        if (run.requested !== 'failed') delete run.requested
        this.active = undefined
        for (const listener of run.listeners) listener.status()
        this.next()
      })
  }
}

/** Terminate a trainer and wait until its session has settled (it releases the run's lock then), so the run can be continued at once. */
async function terminate(session: TrainingSessionLike | undefined): Promise<void> {
  if (!session) return
  await session.kill()
  await session.done.catch(() => undefined)
}

/** A live run's summary: its timeline's status, unless a control's request or a failure without a log says more. */
function summaryOf(runsDir: string, run: LiveRun): RunSummary {
  const status: RunStatus = run.queued ? 'queued' : (run.requested ?? settledStatus(run.timeline, run.session !== undefined))
  const fields = timelineFields(run.timeline, status)
  return { ...runFields(runsDir, run.id, run.created, run.config), ...fields, ...(fields.error === undefined && run.failure !== undefined && { error: run.failure }) }
}
