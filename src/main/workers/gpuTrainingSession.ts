import { randomBytes } from 'node:crypto'
import { releaseRunLock } from '../engine/training/runLock'
import type { FromGpuHost, ToGpuHost, Transport } from '../gpuHost/protocol'
import { GpuHostBridge } from './gpuHostBridge'
import { applyReport, startCommand, type TrainingOutcome, type TrainingSessionOptions } from './trainingSession'

/** What the run supervisor holds of a run's trainer, whichever host it runs in. */
export interface TrainingSessionLike {
  readonly done: Promise<TrainingOutcome>
  pause(): void
  resume(): void
  cancel(): void
  kill(): Promise<void>
}

/** A fresh GPU host page, with its line; `close` destroys the page (and whatever it was running). */
export interface GpuHostConnection {
  transport: Transport<FromGpuHost, ToGpuHost>
  /** Settles when the page goes away on its own (crashed, closed). */
  gone: Promise<string>
  close(): Promise<void>
}

/**
 * One run in a GPU host page (the desktop app's hidden GPU window), behind the same surface as
 * TrainingSession: events through `onEvent`, `done` with the outcome or the engine's error, and — if the
 * page dies — an error saying so, after the run's lock (ours, by its token) is released.
 */
export class GpuTrainingSession implements TrainingSessionLike {
  readonly done: Promise<TrainingOutcome>
  private bridge: GpuHostBridge | undefined
  private connection: GpuHostConnection | undefined
  private settled = false
  private killed = false
  /** Controls asked for while the page was still starting: sent once it is up. */
  private readonly early: ('pause' | 'resume' | 'cancel')[] = []

  constructor(options: TrainingSessionOptions & { connect: () => Promise<GpuHostConnection> }) {
    const lockToken = randomBytes(8).toString('hex')
    this.done = new Promise<TrainingOutcome>((resolve, reject) => {
      const settle = (fn: () => void): void => {
        if (this.settled) return
        this.settled = true
        fn()
      }
      const lost = (why: string): void =>
        void releaseRunLock(options.runDir, lockToken)
          .catch(() => undefined)
          .then(() => settle(() => reject(new Error(`the GPU training window stopped unexpectedly (${why}); resume the run from its last checkpoint`))))
      options
        .connect()
        .then((connection) => {
          this.connection = connection
          if (this.killed) return lost('stopped')
          void connection.gone.then(lost)
          this.bridge = new GpuHostBridge({
            transport: connection.transport,
            start: startCommand(options, lockToken),
            onReport: (report) => applyReport(report, options.onEvent, settle, resolve, reject)
          })
          for (const type of this.early.splice(0)) this.bridge.command({ type })
        })
        .catch((error: Error) => settle(() => reject(new Error(`the GPU training window did not start: ${error.message}`, { cause: error }))))
    })
    // Close the page and the bridge once the run has ended either way.
    const cleanUp = (): void => void this.bridge?.close().finally(() => this.connection?.close())
    this.done.then(cleanUp, cleanUp)
  }

  pause(): void {
    this.send('pause')
  }

  resume(): void {
    this.send('resume')
  }

  /** Stop after the current step, writing a checkpoint first. */
  cancel(): void {
    this.send('cancel')
  }

  /** Stop at once, without a checkpoint (the last one written stays): the page is destroyed. */
  async kill(): Promise<void> {
    this.killed = true
    await this.connection?.close()
  }

  private send(type: 'pause' | 'resume' | 'cancel'): void {
    if (this.settled) return
    if (this.bridge) this.bridge.command({ type })
    else this.early.push(type)
  }
}
