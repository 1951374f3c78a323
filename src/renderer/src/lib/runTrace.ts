import { createRunTimeline, foldRunEvent, isActiveRunStatus, settledStatus, type RunStatus, type RunTimeline } from '@shared/runTimeline'
import type { BackendSummary, MemoryEstimate, ParameterCounts, TargetSummary, TrainConfig, TrainEvent, TrainStage } from '@shared/training'
import { MovingAverage } from './ema'

/** [optimiser step, value]: the shape ECharts takes for a line on a value axis. */
export type Point = [number, number]

export type { RunStatus }

/** One adapted matrix during a run. */
export interface LayerTrace {
  name: string
  /** Descending singular values before training, and now. */
  before: number[]
  now: number[]
  /** The trained band [start, end) of the descending values. */
  band: [number, number]
  erankBefore: number
  /** Effective rank over time, from step 0. */
  erank: Point[]
}

/** Everything the Train step draws, folded from a run's events. Plain data: the store decides when Vue sees it. */
export interface RunTrace {
  /** Index of the last event folded in; a replayed event at or below it is ignored. */
  lastIndex: number
  status: RunStatus
  config?: TrainConfig
  /** The backend the run started on, as its 'started' event gives it (adapter included). */
  backend?: BackendSummary
  resumedFrom?: number
  parameters?: ParameterCounts
  targets: TargetSummary[]
  data?: { train: number; validation: number; labels?: string[] }
  /** What the run was estimated to hold (engine/training/memoryEstimate.ts). */
  memory?: MemoryEstimate
  totalSteps?: number
  step: number
  epoch: number
  /** What the run is busy with, from its latest 'stage' event; cleared when the work ends (a step, eval or checkpoint follows). */
  stage?: { stage: TrainStage; done: number; total: number; detail?: string; etaSeconds?: number }
  /** Cancel was asked for and the run has not stopped yet: it stops after the current step. */
  cancelling?: boolean
  stepsPerSecond?: number
  samplesPerSecond?: number
  etaSeconds?: number
  loss: Point[]
  lossSmoothed: Point[]
  lr: Point[]
  gradNorm: Point[]
  /** [step, wall-clock ms] of each optimiser step (from the events' `time`), for charts against time. */
  stepTimes: Point[]
  /** Metric name → its value at each evaluation. */
  metrics: Record<string, Point[]>
  best?: { step: number; metrics: Record<string, number> }
  /** Layers in the order the run prepared them. */
  layers: Map<string, LayerTrace>
  spectraStep?: number
  checkpoints: { step: number; name: string }[]
  error?: string
  seconds?: number
}

/** Roy & Vetterli's effective rank of descending singular values: exp of the entropy of σᵢ / Σσ. */
export function effectiveRank(values: readonly number[]): number {
  let sum = 0
  for (const v of values) sum += Math.abs(v)
  if (!(sum > 0)) return 0
  let entropy = 0
  for (const v of values) {
    const p = Math.abs(v) / sum
    if (p > 0) entropy -= p * Math.log(p)
  }
  return Math.exp(entropy)
}

export function createRunTrace(): RunTrace {
  return { lastIndex: -1, status: 'queued', targets: [], step: 0, epoch: 0, loss: [], lossSmoothed: [], lr: [], gradNorm: [], stepTimes: [], metrics: {}, layers: new Map(), checkpoints: [] }
}

/**
 * Append a point at `step`. A resumed run continues from its last checkpoint and repeats the steps
 * after it: points at or after `step` are dropped first, so the curve shows the run as it continued.
 * Returns whether anything was dropped.
 */
export function appendPoint(series: Point[], step: number, value: number): boolean {
  let keep = series.length
  while (keep > 0 && series[keep - 1]![0] >= step) keep--
  const dropped = keep < series.length
  if (dropped) series.length = keep
  series.push([step, value])
  return dropped
}

/**
 * Folds events into a trace; one per run view. The run's lifecycle (status, step, counts, best, error) is
 * the shared timeline's (src/shared/runTimeline.ts), as the back end and the report read it; the series
 * and spectra are this view's own.
 */
export class RunFolder {
  readonly trace: RunTrace = createRunTrace()
  readonly timeline: RunTimeline = createRunTimeline()
  private readonly smoothing: MovingAverage
  private told = false

  constructor(smoothingWeight = 0.9) {
    this.smoothing = new MovingAverage(smoothingWeight)
  }

  /** Fold one event in; returns false for an event already seen. */
  fold(event: TrainEvent): boolean {
    const t = this.trace
    const statusBefore = this.timeline.status
    if (!foldRunEvent(this.timeline, event)) return false
    t.lastIndex = event.index
    this.copyLifecycle(statusBefore)
    switch (event.type) {
      case 'started':
        t.config = event.config
        t.backend = event.backend
        delete t.stage
        delete t.cancelling
        break
      case 'prepared':
        t.parameters = event.parameters
        t.targets = event.targets
        t.data = event.data
        if (event.memory) t.memory = event.memory
        delete t.stage
        // Step 0 (the spectra before training) happens when the run is prepared; a resumed run keeps its first.
        if (t.stepTimes.length === 0) t.stepTimes.push([0, Date.parse(event.time)])
        for (const s of event.spectraBefore) {
          const known = t.layers.get(s.name)
          if (known) continue // a resumed run prepares again: keep the history
          const erankBefore = effectiveRank(s.before)
          t.layers.set(s.name, { name: s.name, before: s.before, now: s.before, band: s.band, erankBefore, erank: [[0, erankBefore]] })
        }
        break
      case 'stage':
        t.stage = { stage: event.stage, done: event.done, total: event.total, ...(event.detail !== undefined && { detail: event.detail }), ...(event.etaSeconds !== undefined && { etaSeconds: event.etaSeconds }) }
        break
      case 'step':
        this.foldStep(event)
        break
      case 'eval':
        if (t.stage?.stage === 'evaluating') delete t.stage
        for (const [name, value] of Object.entries(event.metrics)) appendPoint((t.metrics[name] ??= []), event.step, value)
        break
      case 'spectra':
        t.spectraStep = event.step
        for (const layer of event.layers) {
          const known = t.layers.get(layer.name)
          const trace: LayerTrace = known ?? { name: layer.name, before: layer.now, now: layer.now, band: layer.band, erankBefore: layer.erankBefore, erank: [[0, layer.erankBefore]] }
          trace.now = layer.now
          trace.band = layer.band
          trace.erankBefore = layer.erankBefore
          appendPoint(trace.erank, event.step, layer.erank)
          if (!known) t.layers.set(layer.name, trace)
        }
        break
      case 'checkpoint':
        if (t.stage?.stage === 'saving') delete t.stage
        t.checkpoints = t.checkpoints.filter((c) => c.step < event.step)
        t.checkpoints.push({ step: event.step, name: event.name })
        break
      case 'cancelled':
        delete t.etaSeconds
        delete t.stage
        delete t.cancelling
        break
      case 'finished':
        t.etaSeconds = 0
        delete t.stage
        delete t.cancelling
        break
      case 'error':
        delete t.stage
        delete t.cancelling
        break
    }
    return true
  }

  /** The back end's word on the run's status: it knows whether a trainer is alive (here or in another process). */
  tell(status: RunStatus): void {
    this.trace.status = status
    this.told = true
    if (!isActiveRunStatus(status)) delete this.trace.cancelling
  }

  /** Cancel was asked for (or, with false, the request failed): until the run stops it shows as cancelling. */
  markCancelling(on = true): void {
    if (on && isActiveRunStatus(this.trace.status)) this.trace.cancelling = true
    else delete this.trace.cancelling
  }

  /**
   * The stream ended on its own. Without the back end's word on the status (a back end that never sends
   * one), a run its log still calls queued, running or paused has no trainer left: it was cut short, and
   * shows as interrupted rather than forever running.
   */
  settle(): void {
    if (!this.told && isActiveRunStatus(this.trace.status)) this.trace.status = settledStatus(this.timeline, false)
  }

  /** The trace's lifecycle fields from the timeline; its status only when an event changed it (a control's answer may be ahead of the log). */
  private copyLifecycle(statusBefore: RunStatus): void {
    const t = this.trace
    const run = this.timeline
    if (run.status !== statusBefore) t.status = run.status
    t.step = run.step
    t.epoch = run.epoch
    const resumedFrom = run.resumedFrom.at(-1)
    if (resumedFrom !== undefined) t.resumedFrom = resumedFrom
    if (run.totalSteps !== undefined) t.totalSteps = run.totalSteps
    if (run.best) t.best = run.best
    else delete t.best
    if (run.error !== undefined) t.error = run.error
    else delete t.error
    if (run.seconds !== undefined) t.seconds = run.seconds
    else delete t.seconds
  }

  private foldStep(event: Extract<TrainEvent, { type: 'step' }>): void {
    const t = this.trace
    // A step ends whatever came before it (preparing, an evaluation, a checkpoint): the run trains.
    delete t.stage
    t.stepsPerSecond = event.stepsPerSecond
    t.samplesPerSecond = event.samplesPerSecond
    t.etaSeconds = event.etaSeconds
    appendPoint(t.lr, event.step, event.lr)
    appendPoint(t.gradNorm, event.step, event.gradNorm)
    appendPoint(t.stepTimes, event.step, Date.parse(event.time))
    if (appendPoint(t.loss, event.step, event.loss)) {
      // Steps were repeated after a resume: the average restarts over what is left.
      this.smoothing.reset()
      t.lossSmoothed = t.loss.map(([step, loss]) => [step, this.smoothing.push(loss)])
    } else {
      t.lossSmoothed.push([event.step, this.smoothing.push(event.loss)])
    }
  }
}
