import { stageWords, type StageWords } from '@shared/runStage'
import type { RunTrace } from './runTrace'
import { formatDuration, formatValue } from './format'

/** What the progress line reads from a run's trace. */
export type ProgressInput = Pick<RunTrace, 'status' | 'step' | 'epoch' | 'totalSteps' | 'stage' | 'stepsPerSecond' | 'etaSeconds' | 'error' | 'seconds' | 'cancelling'>

/** What the run is doing now, for the line's wording and a `data-phase` that tests and styles can read. */
export type RunPhase = 'queued' | 'preparing' | 'data' | 'svd' | 'model' | 'training' | 'evaluating' | 'saving' | 'finishing' | 'paused' | 'cancelling' | 'finished' | 'cancelled' | 'failed' | 'interrupted'

export interface RunProgressText {
  phase: RunPhase
  /** The status line: "Evaluating 3/12 batches · step 114 of 114 · epoch 3". */
  headline: string
  /** The stage's own progress, when it is counted (SVDs, evaluation batches, data). */
  stage?: StageWords
  /** "2 / 4" once the run knows its steps. */
  steps?: string
  /** "10 it/s" once a step was taken. */
  speed?: string
  /** "ETA 1 min 05 s", "ETA paused"; none once the run has stopped or has only finishing left. */
  eta?: string
}

const stopped: Partial<Record<RunTrace['status'], string>> = { finished: 'Finished', cancelled: 'Cancelled', failed: 'Failed', interrupted: 'Interrupted' }

export const cancellingText = 'Cancelling… (stops after the current step)'

/** The Train step's progress line, from the trace alone. */
export function runProgressText(t: ProgressInput): RunProgressText {
  const trained = t.totalSteps !== undefined && t.step >= t.totalSteps
  let phase: RunPhase
  let title: string
  let stage: StageWords | undefined
  const stoppedWord = stopped[t.status]
  if (stoppedWord) {
    phase = t.status as RunPhase
    title = stoppedWord
  } else if (t.cancelling) {
    phase = 'cancelling'
    title = cancellingText
  } else if (t.status === 'paused') {
    phase = 'paused'
    title = 'Paused'
  } else if (t.stage) {
    phase = t.stage.stage
    stage = stageWords(t.stage)
    title = stage.count ? `${stage.title} ${stage.count}` : stage.title
  } else if (t.status === 'queued') {
    phase = 'queued'
    title = 'Queued'
  } else if (t.totalSteps === undefined) {
    // Running, before the engine says which stage: choosing the backend, reading the data's fingerprint.
    phase = 'preparing'
    title = 'Preparing the run'
  } else if (trained) {
    phase = 'finishing'
    title = 'Finishing'
  } else {
    phase = 'training'
    title = 'Training'
  }

  const parts = [title]
  if (t.totalSteps !== undefined) parts.push(`step ${t.step} of ${t.totalSteps}`)
  if (t.step > 0) parts.push(`epoch ${t.epoch + 1}`)
  if (t.status === 'finished' && t.seconds !== undefined) parts.push(`in ${formatDuration(t.seconds)}`)
  if (t.error) parts.push(t.error)

  const out: RunProgressText = { phase, headline: parts.join(' · ') }
  if (stage) out.stage = stage
  if (t.totalSteps !== undefined) out.steps = `${t.step} / ${t.totalSteps}`
  if (t.stepsPerSecond !== undefined) out.speed = `${formatValue(t.stepsPerSecond)} it/s`
  const eta = etaText(t, phase, trained)
  if (eta) out.eta = eta
  return out
}

/**
 * The estimate of training time left. The engine's counts only training time (a pause, an evaluation or a
 * checkpoint adds nothing); while paused there is no estimate to freeze, and once every step is taken what
 * is left is evaluating and saving, which the phase names instead of "ETA 0 s".
 */
function etaText(t: ProgressInput, phase: RunPhase, trained: boolean): string | undefined {
  if (phase === 'paused') return 'ETA paused'
  if (phase === 'cancelling') return 'ETA stopping'
  // Before training, the SVDs' own estimate (the engine's, by the flops of the matrices done so far).
  const stageEta = t.stage && stageWords(t.stage).etaSeconds
  if (stageEta !== undefined && !stopped[t.status]) return `ETA ${formatDuration(stageEta)} for the SVDs`
  if (stopped[t.status] || t.status === 'queued' || trained || t.totalSteps === undefined) return undefined
  if (t.etaSeconds === undefined) return t.step === 0 ? 'ETA after the first step' : undefined
  return `ETA ${formatDuration(t.etaSeconds)}`
}
