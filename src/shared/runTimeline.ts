/**
 * The one reading of a run's event stream (events.jsonl, or the live events of a trainer): where the run
 * stands, how far it got, its counts, metrics and error. The back end's run summaries, the run report and
 * the renderer's Train and Runs views all fold events through `foldRunEvent`, so the same events mean the
 * same status everywhere. Curves and spectra are each consumer's own (they draw them differently); the
 * lifecycle is decided here.
 *
 * An event log only says what the trainer wrote. A log that ends while the run was running or paused,
 * with no trainer alive to write more, was cut short (the app quit, the process was killed): the run is
 * 'interrupted', and resumable from its last checkpoint. `settledStatus` says so; only the host knows
 * whether a trainer is alive.
 */
import type { ParameterCounts, TrainEvent } from './training'

export type RunStatus = 'queued' | 'running' | 'paused' | 'finished' | 'cancelled' | 'failed' | 'interrupted'

/** A run in one of these may still change: a trainer owns it, or it waits for one. */
export const activeRunStatuses: readonly RunStatus[] = ['queued', 'running', 'paused']

export const isActiveRunStatus = (status: RunStatus): boolean => activeRunStatuses.includes(status)

/**
 * The statuses the app can continue training from its latest checkpoint: a run cut short, and one
 * cancelled (the app's quit cancels with a checkpoint, and the CLI's --resume takes both).
 */
export const continuableRunStatuses: readonly RunStatus[] = ['interrupted', 'cancelled']

export interface Evaluation {
  step: number
  metrics: Record<string, number>
}

export interface RunTimeline {
  /** Index of the last event folded in; an event at or below it (a replay after a reconnect) changes nothing. */
  lastIndex: number
  /** As the events tell it: 'queued' before the first, 'running' or 'paused' while the log is open. */
  status: RunStatus
  /** The last optimiser step taken (after a resume: the checkpoint's, until the next step). */
  step: number
  epoch: number
  totalSteps?: number
  parameters?: ParameterCounts
  /** Every evaluation still part of the run (a resume drops those after its checkpoint), in order. */
  evaluations: Evaluation[]
  /** The best evaluation so far, as the loop marks it (and as `finished` confirms). */
  best?: Evaluation
  /** The steps of the evaluations the loop marked best, in order: a resume falls back to the last one it keeps. */
  bestSteps: number[]
  /** The engine's message, when the run stopped on an error. */
  error?: string
  /** The checkpoint step each resume continued from, in order. */
  resumedFrom: number[]
  /** When the first start was logged (ISO time). */
  started?: string
  /** Seconds spent paused, over pauses that ended. */
  pausedSeconds: number
  /** When the pause now open began (ISO time). */
  pausedSince?: string
  /** Training time the loop counted, once finished. */
  seconds?: number
}

export function createRunTimeline(): RunTimeline {
  return { lastIndex: -1, status: 'queued', step: 0, epoch: 0, evaluations: [], bestSteps: [], resumedFrom: [], pausedSeconds: 0 }
}

/** The last evaluation's metrics. */
export const lastMetrics = (t: RunTimeline): Record<string, number> | undefined => t.evaluations.at(-1)?.metrics

/** Fold one event in. Returns false for an event already folded (its index is not past the last one). */
export function foldRunEvent(t: RunTimeline, event: TrainEvent): boolean {
  if (event.index <= t.lastIndex) return false
  t.lastIndex = event.index
  switch (event.type) {
    case 'started': {
      t.status = 'running'
      t.started ??= event.time
      delete t.error
      delete t.seconds
      // A pause open when the last trainer died ended then, at a time the log does not hold: it is not counted.
      delete t.pausedSince
      // A resume continues from a checkpoint: what was logged after it is no longer part of the run.
      const from = event.resumedFrom ?? 0
      if (event.resumedFrom !== undefined) t.resumedFrom.push(event.resumedFrom)
      t.step = from
      t.evaluations = t.evaluations.filter((e) => e.step <= from)
      t.bestSteps = t.bestSteps.filter((s) => s <= from)
      if (t.best && t.best.step > from) {
        const kept = t.evaluations.findLast((e) => e.step === t.bestSteps.at(-1))
        if (kept) t.best = kept
        else delete t.best
      }
      break
    }
    case 'prepared':
      t.totalSteps = event.totalSteps
      t.parameters = event.parameters
      break
    case 'step':
      t.step = event.step
      t.epoch = event.epoch
      // A step logged by a trainer whose 'started' was lost still says the run trains.
      if (t.status === 'queued') t.status = 'running'
      break
    case 'eval': {
      const evaluation = { step: event.step, metrics: event.metrics }
      t.evaluations = [...t.evaluations.filter((e) => e.step < event.step), evaluation]
      t.bestSteps = t.bestSteps.filter((s) => s < event.step)
      if (event.best) {
        t.best = evaluation
        t.bestSteps.push(event.step)
      }
      break
    }
    case 'paused':
      t.status = 'paused'
      t.pausedSince = event.time
      break
    case 'resumed':
      t.status = 'running'
      endPause(t, event.time)
      break
    case 'cancelled':
      t.status = 'cancelled'
      endPause(t, event.time)
      break
    case 'finished':
      t.status = 'finished'
      t.step = event.step
      t.seconds = event.seconds
      if (event.best) t.best = { step: event.best.step, metrics: event.best.metrics }
      endPause(t, event.time)
      break
    case 'error':
      t.status = 'failed'
      t.error = event.message
      endPause(t, event.time)
      break
  }
  return true
}

function endPause(t: RunTimeline, time: string): void {
  if (t.pausedSince === undefined) return
  const seconds = (Date.parse(time) - Date.parse(t.pausedSince)) / 1000
  if (Number.isFinite(seconds) && seconds > 0) t.pausedSeconds += seconds
  delete t.pausedSince
}

/** Fold a whole log (events.jsonl as read) into a fresh timeline. */
export function replayRunTimeline(events: Iterable<TrainEvent>): RunTimeline {
  const t = createRunTimeline()
  for (const event of events) foldRunEvent(t, event)
  return t
}

/**
 * The status to show: the log's, except that a run still queued, running or paused by its log, with no
 * trainer alive to go on writing it (`live` false), was interrupted.
 */
export function settledStatus(t: RunTimeline, live: boolean): RunStatus {
  return !live && isActiveRunStatus(t.status) ? 'interrupted' : t.status
}
