import { randomBytes } from 'node:crypto'
import type { Worker } from 'node:worker_threads'
import { releaseRunLock } from '../engine/training/runLock'
import type { TrainConfig, TrainEvent } from '../../shared/training'
import { spawnWorker, workerEntry } from './spawn'
import type { TrainingCommand, TrainingReport } from './trainingProtocol'

export interface TrainingSessionOptions {
  runDir: string
  /** A new run's configuration; leave out with `resume`. */
  config?: TrainConfig
  resume?: boolean
  svdCacheDir?: string
  svdWorkers?: number
  versions?: Record<string, string>
  onEvent: (event: TrainEvent) => void
}

export type TrainingOutcome = 'finished' | 'cancelled'

/** The 'start' command a session sends its trainer (a worker thread or the GPU window), with the lock token it holds. */
export function startCommand(options: TrainingSessionOptions, lockToken: string): Extract<TrainingCommand, { type: 'start' }> {
  return {
    type: 'start',
    runDir: options.runDir,
    ...(options.config && { config: options.config }),
    ...(options.resume && { resume: true }),
    ...(options.svdCacheDir !== undefined && { svdCacheDir: options.svdCacheDir }),
    ...(options.svdWorkers !== undefined && { svdWorkers: options.svdWorkers }),
    ...(options.versions && { versions: options.versions }),
    lockToken
  }
}

/**
 * What a trainer's report does to its session, in a worker thread or the GPU window alike: an event goes
 * to `onEvent`, the end settles `done` with the outcome or the engine's error (its name kept).
 */
export function applyReport(report: TrainingReport, onEvent: (event: TrainEvent) => void, settle: (fn: () => void) => void, resolve: (outcome: TrainingOutcome) => void, reject: (error: Error) => void): void {
  if (report.type === 'event') onEvent(report.event)
  else if (report.type === 'done') settle(() => resolve(report.outcome))
  else settle(() => reject(Object.assign(new Error(report.message), { name: report.name })))
}

/**
 * One run in its own worker thread. Events arrive through `onEvent` as the worker sends them; `done`
 * settles when the run ends: with its outcome, or rejected with the engine's message, or — if the worker
 * dies (out of memory, a native crash) — with a message saying so; the run folder keeps its last
 * checkpoint either way, so it can be resumed.
 */
export class TrainingSession {
  readonly done: Promise<TrainingOutcome>
  private readonly worker: Worker
  private settled = false

  constructor(options: TrainingSessionOptions) {
    this.worker = spawnWorker(workerEntry('trainingWorker', import.meta.url))
    const lockToken = randomBytes(8).toString('hex')
    this.done = new Promise<TrainingOutcome>((resolve, reject) => {
      const settle = (fn: () => void): void => {
        if (this.settled) return
        this.settled = true
        fn()
      }
      this.worker.on('message', (report: TrainingReport) => applyReport(report, options.onEvent, settle, resolve, reject))
      this.worker.on('error', (error) => settle(() => reject(new Error(`the training worker crashed: ${error.message}`, { cause: error }))))
      // A worker terminated or crashed never ran its own cleanup: the run's lock (ours, by its token) goes with it.
      this.worker.on('exit', (code) => {
        void releaseRunLock(options.runDir, lockToken)
          .catch(() => undefined)
          .then(() => settle(() => reject(new Error(`the training worker stopped unexpectedly (exit code ${code}); resume the run from its last checkpoint`))))
      })
    })
    // Stop the worker once the run has ended either way.
    this.done.then(
      () => void this.worker.terminate(),
      () => void this.worker.terminate()
    )
    this.worker.postMessage(startCommand(options, lockToken))
  }

  pause(): void {
    this.send({ type: 'pause' })
  }

  resume(): void {
    this.send({ type: 'resume' })
  }

  /** Stop after the current step, writing a checkpoint first. */
  cancel(): void {
    this.send({ type: 'cancel' })
  }

  /** Stop at once, without a checkpoint (the last one written stays). */
  async kill(): Promise<void> {
    await this.worker.terminate()
  }

  private send(command: TrainingCommand): void {
    if (!this.settled) this.worker.postMessage(command)
  }
}
