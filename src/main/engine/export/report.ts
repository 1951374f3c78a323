import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { effectiveRank } from '../spectra/metrics'
import { keyMetric } from '../training/metrics'
import type { DataFingerprint } from '../training/fingerprint'
import { EventLog, readRunInfo, type CheckpointState } from '../training/runFolder'
import { runLockHolder } from '../training/runLock'
import { createRunTimeline, foldRunEvent, settledStatus, type RunStatus, type RunTimeline } from '../../../shared/runTimeline'
import type { ParameterCounts, TargetSummary, TrainConfig, TrainEvent } from '../../../shared/training'

/** What `report.json` says it is; a reader checks both before trusting the rest. */
export const runReportFormat = 'siva-run-report'
/** 2: status in the shared timeline's words ('failed', 'interrupted', 'paused'; 1 said 'error', and 'running' for a run cut short). */
export const runReportVersion = 2

/** How the run stands, as src/shared/runTimeline.ts reads its events: 'interrupted' when they stop short and no trainer is alive. */
export type { RunStatus }

/** One optimiser step. null where training produced a non-finite number (JSON has no NaN). */
export interface TrainPoint {
  step: number
  epoch: number
  loss: number | null
  lr: number
  gradNorm: number | null
}

/** One evaluation on the validation side; a metric is null where it was not finite (Pearson of constant predictions). */
export interface EvalPoint {
  step: number
  epoch: number
  metrics: Record<string, number | null>
}

/** A layer's singular values at one moment, descending, with the summaries read from them. */
export interface SpectrumSummary {
  values: number[]
  /** Roy & Vetterli's effective rank, as src/main/engine/spectra/metrics.ts defines it. */
  erank: number
  sigmaMax: number
  sigmaMin: number
}

export interface LayerSpectrumReport {
  name: string
  /** [out, in] as stored; absent only if the run's targets do not name the layer. */
  shape?: [number, number]
  /** The trained band [start, end) of the descending singular values before training. */
  band: [number, number]
  before: SpectrumSummary
  /** Absent when no spectra were recorded at or before the reported step. */
  after?: SpectrumSummary
  /** after.erank − before.erank. */
  erankChange?: number
}

export interface SpectraReport {
  /** The step of the spectra event `after` comes from: the latest at or before the reported checkpoint; null if none. */
  afterStep: number | null
  layers: LayerSpectrumReport[]
}

/** A run, read back from its folder: everything `report.html` shows, as numbers. */
export interface RunReport {
  format: typeof runReportFormat
  version: typeof runReportVersion
  /** When this report was made (ISO time). */
  created: string
  run: {
    /** When the run started (ISO time). */
    created: string
    backend?: string
    versions: Record<string, string>
    /** The training (and validation) data as it was when the run started. */
    data?: { train: DataFingerprint; validation?: DataFingerprint }
    /** The step each resume continued from, in order. */
    resumedFrom: number[]
  }
  config: TrainConfig
  status: RunStatus
  /** The error's message when status is 'failed'. */
  error?: string
  /** The last optimiser step taken. */
  stepsDone: number
  totalSteps?: number
  /** Training time as the loop counts it (at the end, else at the latest checkpoint). */
  seconds?: number
  /** The checkpoint the report describes (the exported one, else the latest); final metrics and spectra are taken at its step. */
  checkpoint?: { name: string; step: number }
  /** Examples in each split, and the class names of a classification run. Absent if the run stopped before its data was ready. */
  data?: { train: number; validation: number; labels?: string[] }
  parameters?: ParameterCounts & {
    ratios: {
      /** adapter / lora8: the method's adapter against LoRA r = 8 on the same targets (both leave the head out). */
      adapterToLora8: number | null
      /** total / (lora8 + head): trainable parameters against LoRA r = 8 training the same head. */
      trainableToLora8: number | null
      /** total / full: trainable parameters against full fine-tuning of the whole model. */
      trainableToFull: number | null
    }
  }
  /** The adapted layers (none for full fine-tuning or a head only). */
  targets: TargetSummary[]
  /** Every step and evaluation of the run, one point per step: a resumed run's replayed steps replace the first ones. */
  curves: { train: TrainPoint[]; eval: EvalPoint[] }
  /** Spectral methods only (siva, svdiff, topk): absent for lora, full and head. */
  spectra?: SpectraReport
  metrics: {
    /** The metric the run picks its best step by, and which way is better. */
    key: string
    higherIsBetter: boolean
    /** The last evaluation at or before the reported checkpoint's step. */
    final?: EvalPoint
    /** The best evaluation of the run by `key`. */
    best?: EvalPoint
  }
}

type EventOf<T extends TrainEvent['type']> = Extract<TrainEvent, { type: T }>

/**
 * Read a run folder (run.json, events.jsonl, checkpoints/) into a report. With `checkpoint` (a folder name
 * under checkpoints/, e.g. 'step-0000012', the one exported), final metrics and spectra are those at its
 * step; otherwise at the latest checkpoint's, or at the last step when the run has none. `live` says
 * whether a trainer is writing the folder now (by default: whether a live process holds its lock); with
 * none, a log that stops short reports the run as interrupted.
 */
export async function buildReport(runDir: string, options: { checkpoint?: string; live?: boolean } = {}): Promise<RunReport> {
  const info = await readRunInfo(runDir)
  const timeline = replay(await readEvents(runDir))
  const latest = await checkpointAt(runDir, await pointerName(runDir, 'latest'))
  let checkpoint = latest
  if (options.checkpoint !== undefined) {
    // The name comes from a user or a UI: never let it reach outside checkpoints/.
    if (!/^step-\d+$/.test(options.checkpoint)) throw new Error(`${options.checkpoint}: not a checkpoint name (they look like step-0000012)`)
    checkpoint = await checkpointAt(runDir, options.checkpoint)
    if (!checkpoint) throw new Error(`${runDir}: no checkpoint ${options.checkpoint} (checkpoints/${options.checkpoint}/state.json is missing)`)
  }

  const stepsDone = timeline.run.step
  const atStep = checkpoint?.state.step ?? stepsDone
  const prepared = timeline.prepared
  const task = info.config.task
  const { key, higherIsBetter } = keyMetric(task)
  const evals = sortedByStep(timeline.evals).map(evalPoint)
  const seconds = timeline.run.seconds ?? latest?.state.seconds

  return {
    format: runReportFormat,
    version: runReportVersion,
    created: new Date().toISOString(),
    run: {
      created: info.created,
      ...(info.backend !== undefined && { backend: info.backend }),
      versions: info.versions,
      ...(info.data && { data: info.data }),
      resumedFrom: timeline.run.resumedFrom
    },
    config: info.config,
    status: settledStatus(timeline.run, options.live ?? (await runLockHolder(runDir)) !== undefined),
    ...(timeline.run.error !== undefined && { error: timeline.run.error }),
    stepsDone,
    ...(prepared && { totalSteps: prepared.totalSteps }),
    ...(seconds !== undefined && { seconds }),
    ...(checkpoint && { checkpoint: { name: checkpoint.name, step: checkpoint.state.step } }),
    ...(prepared && { data: prepared.data }),
    ...(prepared && { parameters: { ...prepared.parameters, ratios: parameterRatios(prepared.parameters) } }),
    targets: prepared?.targets ?? [],
    curves: { train: sortedByStep(timeline.steps).map(trainPoint), eval: evals },
    ...(prepared && prepared.spectraBefore.length > 0 && { spectra: spectraReport(prepared, sortedByStep(timeline.spectra), atStep) }),
    metrics: {
      key,
      higherIsBetter,
      ...optional('final', evals.filter((e) => e.step <= atStep).at(-1)),
      ...optional('best', bestEval(evals, key, higherIsBetter))
    }
  }
}

/**
 * The run as it stands. Its lifecycle, step, counts and best are the shared timeline's (the back end and
 * the app read the same events the same way); the curves are the report's: later events for a step
 * replace earlier ones, and a resume drops what was logged after its checkpoint.
 */
interface Timeline {
  run: RunTimeline
  steps: Map<number, EventOf<'step'>>
  evals: Map<number, EventOf<'eval'>>
  spectra: Map<number, EventOf<'spectra'>>
  prepared?: EventOf<'prepared'>
}

function replay(events: TrainEvent[]): Timeline {
  const timeline: Timeline = { run: createRunTimeline(), steps: new Map(), evals: new Map(), spectra: new Map() }
  for (const event of events) {
    if (!foldRunEvent(timeline.run, event)) continue
    switch (event.type) {
      case 'started': {
        // A run killed after its last checkpoint logged steps that the resume takes again (perhaps not as far).
        const from = event.resumedFrom ?? 0
        for (const byStep of [timeline.steps, timeline.evals, timeline.spectra]) for (const step of [...byStep.keys()]) if (step > from) byStep.delete(step)
        break
      }
      case 'prepared':
        timeline.prepared = event
        break
      case 'step':
        timeline.steps.set(event.step, event)
        break
      case 'eval':
        timeline.evals.set(event.step, event)
        break
      case 'spectra':
        timeline.spectra.set(event.step, event)
        break
    }
  }
  return timeline
}

async function readEvents(runDir: string): Promise<TrainEvent[]> {
  try {
    return await EventLog.read(runDir)
  } catch (error) {
    // A run that failed before its first event has run.json and nothing else.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

async function pointerName(runDir: string, which: 'latest' | 'best'): Promise<string | undefined> {
  try {
    const name = (JSON.parse(await readFile(join(runDir, 'checkpoints', `${which}.json`), 'utf8')) as { name?: unknown }).name
    return typeof name === 'string' && /^step-\d+$/.test(name) ? name : undefined
  } catch {
    return undefined
  }
}

async function checkpointAt(runDir: string, name: string | undefined): Promise<{ name: string; state: CheckpointState } | undefined> {
  if (name === undefined) return undefined
  try {
    return { name, state: JSON.parse(await readFile(join(runDir, 'checkpoints', name, 'state.json'), 'utf8')) as CheckpointState }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function sortedByStep<T>(byStep: Map<number, T>): T[] {
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([, value]) => value)
}

const finiteOrNull = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null)

function trainPoint(event: EventOf<'step'>): TrainPoint {
  return { step: event.step, epoch: event.epoch, loss: finiteOrNull(event.loss), lr: event.lr, gradNorm: finiteOrNull(event.gradNorm) }
}

function evalPoint(event: EventOf<'eval'>): EvalPoint {
  return { step: event.step, epoch: event.epoch, metrics: Object.fromEntries(Object.entries(event.metrics).map(([name, value]) => [name, finiteOrNull(value)])) }
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null)

function parameterRatios(p: ParameterCounts): NonNullable<RunReport['parameters']>['ratios'] {
  return { adapterToLora8: ratio(p.adapter, p.lora8), trainableToLora8: ratio(p.total, p.lora8 + p.head), trainableToFull: ratio(p.total, p.full) }
}

/** The evaluation the loop would call best: the first to reach the best finite value of `key`. */
function bestEval(evals: EvalPoint[], key: string, higherIsBetter: boolean): EvalPoint | undefined {
  let best: EvalPoint | undefined
  let held = 0
  for (const point of evals) {
    const value = point.metrics[key]
    if (value === null || value === undefined) continue
    if (best === undefined || (higherIsBetter ? value > held : value < held)) {
      best = point
      held = value
    }
  }
  return best
}

function spectraReport(prepared: EventOf<'prepared'>, spectra: EventOf<'spectra'>[], atStep: number): SpectraReport {
  const after = spectra.filter((event) => event.step <= atStep).at(-1)
  const shapes = new Map(prepared.targets.map((t) => [t.name, t.shape]))
  return {
    afterStep: after?.step ?? null,
    layers: prepared.spectraBefore.map((layer) => {
      const before = summary(layer.before)
      const now = after?.layers.find((l) => l.name === layer.name)
      const afterSummary = now && summary(now.now)
      const shape = shapes.get(layer.name)
      return {
        name: layer.name,
        ...(shape && { shape }),
        band: layer.band,
        before,
        ...(afterSummary && { after: afterSummary, erankChange: afterSummary.erank - before.erank })
      }
    })
  }
}

function summary(values: number[]): SpectrumSummary {
  // |σ + δ| can leave the band out of order, so the extremes are searched, not read off the ends.
  let sigmaMax = -Infinity
  let sigmaMin = Infinity
  for (const s of values) {
    sigmaMax = Math.max(sigmaMax, s)
    sigmaMin = Math.min(sigmaMin, s)
  }
  return { values, erank: effectiveRank(values), sigmaMax, sigmaMin }
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>)
}
