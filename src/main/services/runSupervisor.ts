import { existsSync } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Params, RunSummary, TrainConfigInput } from '../../shared/api'
import { runNameProblem, runNotesLimit } from '../../shared/runMeta'
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
import { mergeRunMeta, readRunMeta, writeRunMeta, type RunMeta } from './runMeta'
import { defaultRunName } from './runName'

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
  /** Each run's name and notes as last read or written (a live run's summary is made without reading its folder). */
  private readonly meta = new Map<string, RunMeta>()
  /** Runs named or annotated before their folder existed (queued): written once the trainer has made it. */
  private readonly pendingMeta = new Set<string>()
  /** One name-and-notes write at a time per run, so two quick edits never interleave their read and write. */
  private readonly metaWrites = new Map<string, Promise<unknown>>()

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
    return run && this.summarise(run)
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
    const given = name?.trim() ? name.trim() : undefined
    if (given !== undefined && runNameProblem(given)) throw new RequestError(`startRun: name: ${runNameProblem(given)}`)
    const id = await this.newRunId(given ?? (await defaultRunName(config)))
    const run: LiveRun = { id, created: new Date().toISOString(), config, resume: false, timeline: createRunTimeline(), queued: true, listeners: new Set() }
    this.runs.set(id, run)
    // A name given at the start is the run's display name too, written once its folder exists.
    if (given !== undefined) {
      this.meta.set(id, { name: given })
      this.pendingMeta.add(id)
    }
    this.queue.push(id)
    this.next()
    return this.summarise(run)
  }

  /**
   * Queue an interrupted or cancelled run to train on from its latest checkpoint (the engine's resume,
   * as `siva train --resume` does). Its events continue the same log; a view following it sees them live.
   */
  async continue(runId: string): Promise<RunSummary> {
    this.refuseWhileClosing()
    const known = this.runs.get(runId)
    if (known && (known.session || known.queued)) throw new RequestError(`${runId}: is ${this.summarise(known).status}; only an interrupted or cancelled run can be continued`)
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
    return this.summarise(run)
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
      return this.summarise(run)
    }
    if (!run.session) throw new RequestError(`${runId}: is ${this.summarise(run).status}, not training`)
    run.session[action]()
    if (action === 'pause') run.requested = 'paused'
    if (action === 'resume') run.requested = 'running'
    return this.summarise(run)
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
      // The folder's word on name and notes, unless an edit waits for the folder to exist.
      if (!this.pendingMeta.has(id)) this.meta.set(id, await readRunMeta(join(this.options.runsDir, id)))
      const live = this.summary(id)
      if (live) list.push(live)
      else {
        const summary = await summaryFromDisk(this.options.runsDir, id).catch(() => undefined)
        if (summary) list.push(withMeta(summary, this.meta.get(id)))
      }
    }
    return list.sort((a, b) => (a.created < b.created ? 1 : -1))
  }

  async delete(runId: string): Promise<{ deleted: string }> {
    const run = this.runs.get(runId)
    if (run && (run.session || run.queued)) throw new RequestError(`${runId}: is ${this.summarise(run).status}; cancel it before deleting it`)
    const dir = join(this.options.runsDir, runId)
    if (!existsSync(join(dir, 'run.json'))) throw new RequestError(`${runId}: no such run in ${this.options.runsDir}`)
    await rm(dir, { recursive: true, force: true })
    this.runs.delete(runId)
    this.meta.delete(runId)
    this.pendingMeta.delete(runId)
    return { deleted: runId }
  }

  /**
   * Name or annotate a run: a field given replaces the stored one, an empty one removes it, one left out
   * stays. Kept in the run folder's own file (runMeta.ts); run.json and the event log stay as they are.
   * A queued run whose folder is not made yet keeps them here until its trainer has made it.
   */
  async update(runId: string, change: Omit<Params<'updateRun'>, 'runId'>): Promise<RunSummary> {
    if (change.name !== undefined && runNameProblem(change.name)) throw new RequestError(`updateRun: name: ${runNameProblem(change.name)}`)
    if (change.notes !== undefined && change.notes.length > runNotesLimit) throw new RequestError(`updateRun: notes: at most ${runNotesLimit} characters`)
    const update: RunMeta = { ...(change.name !== undefined && { name: change.name }), ...(change.notes !== undefined && { notes: change.notes }) }
    return this.serialised(runId, async () => {
      const dir = join(this.options.runsDir, runId)
      const run = this.runs.get(runId)
      if (existsSync(join(dir, 'run.json'))) {
        const stored = this.pendingMeta.has(runId) ? (this.meta.get(runId) ?? {}) : await readRunMeta(dir)
        const next = mergeRunMeta(stored, update)
        await writeRunMeta(dir, next).catch((error: Error) => {
          throw new RequestError(`updateRun: ${error.message}`)
        })
        this.meta.set(runId, next)
        this.pendingMeta.delete(runId)
      } else if (run) {
        this.meta.set(runId, mergeRunMeta(this.meta.get(runId) ?? {}, update))
        this.pendingMeta.add(runId)
      } else throw new RequestError(`${runId}: no such run in ${this.options.runsDir}`)
      const summary = run ? this.summarise(run) : await summaryFromDisk(this.options.runsDir, runId)
      for (const listener of run?.listeners ?? []) listener.status()
      return withMeta(summary, this.meta.get(runId))
    })
  }

  /** Run `task` after every earlier name-and-notes write of the same run has settled. */
  private serialised<T>(runId: string, task: () => Promise<T>): Promise<T> {
    const result = (this.metaWrites.get(runId) ?? Promise.resolve()).then(task, task)
    const settled = result.catch(() => undefined)
    this.metaWrites.set(runId, settled)
    void settled.then(() => {
      if (this.metaWrites.get(runId) === settled) this.metaWrites.delete(runId)
    })
    return result
  }

  /** Write the name and notes a run was given before its trainer made its folder, now that it has. */
  private flushPendingMeta(runId: string): void {
    if (!this.pendingMeta.has(runId) || !existsSync(join(this.options.runsDir, runId, 'run.json'))) return
    void this.serialised(runId, async () => {
      if (!this.pendingMeta.has(runId)) return
      const dir = join(this.options.runsDir, runId)
      const meta = this.meta.get(runId) ?? {}
      // An edit another process made meanwhile (the folder is new, so hardly) is kept where this one says nothing.
      const next = { ...(await readRunMeta(dir)), ...meta }
      await writeRunMeta(dir, next)
      this.meta.set(runId, next)
      this.pendingMeta.delete(runId)
    }).catch(() => undefined)
  }

  /** A live run's summary, with its name and notes. */
  private summarise(run: LiveRun): RunSummary {
    return withMeta(summaryOf(this.options.runsDir, run), this.meta.get(run.id))
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
        // The first event comes once the trainer has made the folder: a name given meanwhile goes in now.
        if (event.type === 'started') this.flushPendingMeta(id)
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

/** A summary with the run's name and notes, where it has them. */
function withMeta(summary: RunSummary, meta: RunMeta | undefined): RunSummary {
  const { name: _name, notes: _notes, ...rest } = summary
  return { ...rest, ...(meta?.name !== undefined && { name: meta.name }), ...(meta?.notes !== undefined && { notes: meta.notes }) }
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
