import type { RunSummary } from '@shared/api'
import { methodInfo } from '@shared/methods'
import type { TrainConfig, TrainMethod, TrainTask } from '@shared/training'
import type { Point, RunTrace } from './runTrace'

/** Comparing runs side by side: pure functions of their folded traces, so the Runs view stays declarative. */

/** The metric that ranks a run, per task (as the engine's keyMetric picks the best checkpoint). */
export type KeyMetric = 'accuracy' | 'pearson' | 'loss'

export function keyMetricOf(task: TrainTask): KeyMetric {
  if (task === 'causal-lm') return 'loss'
  return task === 'regress' ? 'pearson' : 'accuracy'
}

/** One run in a comparison: its id, what the run list said of it, and its events folded. */
export interface ComparedRun {
  id: string
  summary?: RunSummary
  trace: RunTrace
  /** The name people gave the run, as the run list has it (a replay's status may not carry it). */
  name?: string
}

/** What a run is called on screen: the name people gave it, else its id. */
export function runLabel(run: Pick<ComparedRun, 'id' | 'name' | 'summary'>): string {
  return run.name ?? run.summary?.name ?? run.id
}

/** Each run's label by id, made unique: runs given the same name are told apart by their ids. */
export function runLabels(runs: readonly Pick<ComparedRun, 'id' | 'name' | 'summary'>[]): Map<string, string> {
  const counts = new Map<string, number>()
  for (const run of runs) counts.set(runLabel(run), (counts.get(runLabel(run)) ?? 0) + 1)
  return new Map(runs.map((run) => {
    const label = runLabel(run)
    return [run.id, counts.get(label)! > 1 && label !== run.id ? `${label} (${run.id})` : label]
  }))
}

export function taskOf(run: ComparedRun): TrainTask | undefined {
  return run.trace.config?.task ?? run.summary?.task
}

export function methodOf(run: ComparedRun): TrainMethod | undefined {
  return run.trace.config?.method ?? run.summary?.method
}

/** The last evaluation's value of `metric`. */
export function finalMetric(trace: Pick<RunTrace, 'metrics'>, metric: string): number | undefined {
  return trace.metrics[metric]?.at(-1)?.[1]
}

/**
 * Mean over the layers of the last 'spectra' event of erank − erankBefore; undefined when the run has
 * none (LoRA, full and head fine-tuning report no spectra).
 */
export function meanErankGain(trace: Pick<RunTrace, 'layers' | 'spectraStep'>): number | undefined {
  if (trace.spectraStep === undefined) return undefined
  let sum = 0
  let count = 0
  for (const layer of trace.layers.values()) {
    const last = layer.erank.at(-1)
    if (!last || last[0] !== trace.spectraStep) continue
    sum += last[1] - layer.erankBefore
    count++
  }
  return count > 0 ? sum / count : undefined
}

// ---------------------------------------------------------------- config diff

/** Config fields in the order a reader compares them: the method and its knobs first, plumbing last. */
const fieldOrder: readonly (keyof TrainConfig)[] = [
  'method',
  'perc',
  'k',
  'rank',
  'alpha',
  'targets',
  'overrides',
  'epochs',
  'maxSteps',
  'batchSize',
  'gradientAccumulation',
  'lr',
  'headLr',
  'weightDecay',
  'schedule',
  'warmupRatio',
  'maxGradNorm',
  'dropout',
  'seed',
  'task',
  'model',
  'data',
  'validation',
  'validationFraction',
  'columns',
  'maxLength',
  'pack',
  'evalEvery',
  'spectraEvery',
  'checkpointEvery',
  'backend'
]

/** A config value as a cell shows it: '–' when unset, objects as JSON with sorted keys (so equal values read equal). */
export function formatConfigValue(value: unknown): string {
  if (value === undefined || value === null) return '–'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(sortKeys(value))
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])])
    )
  }
  return value
}

export interface ConfigDiffRow {
  field: string
  /** One cell per run, in the runs' order; '?' for a run whose config is not known (it never started). */
  values: string[]
  /** Whether the runs whose config is known disagree on it. */
  differs: boolean
}

/** Every field any of the configs has, with whether it differs between them. */
export function configDiff(configs: readonly (TrainConfig | undefined)[]): ConfigDiffRow[] {
  const present = new Set<string>()
  for (const config of configs) if (config) for (const [key, value] of Object.entries(config)) if (value !== undefined) present.add(key)
  const order = fieldOrder as readonly string[]
  const fields = [...order.filter((f) => present.has(f)), ...[...present].filter((f) => !order.includes(f)).sort()]
  return fields.map((field) => {
    const values = configs.map((c) => (c ? formatConfigValue((c as unknown as Record<string, unknown>)[field]) : '?'))
    const known = new Set(values.filter((_, i) => configs[i] !== undefined))
    return { field, values, differs: known.size > 1 }
  })
}

// ---------------------------------------------------------------- summary and curves

export interface SummaryRow {
  id: string
  /** The run's name on screen (runLabels). */
  label: string
  task?: TrainTask
  method?: TrainMethod
  status: RunSummary['status']
  /** The last optimiser step reported, of how many. */
  step: number
  totalSteps?: number
  metric?: KeyMetric
  /** The key metric at the last evaluation. */
  finalMetric?: number
  /** The key metric at the best evaluation (the checkpoint the engine keeps as best). */
  bestMetric?: number
  /** Trainable parameters (adapter + head). */
  trainable?: number
  /** Mean effective-rank gain over the adapted layers; undefined for methods without spectra. */
  erankGain?: number
}

export function summaryRow(run: ComparedRun, label = runLabel(run)): SummaryRow {
  const task = taskOf(run)
  const method = methodOf(run)
  const metric = task ? keyMetricOf(task) : undefined
  const value = metric ? finalMetric(run.trace, metric) : undefined
  const best = metric ? (run.trace.best ?? run.summary?.best)?.metrics[metric] : undefined
  const trainable = run.trace.parameters?.total ?? run.summary?.trainable
  const gain = meanErankGain(run.trace)
  const totalSteps = run.trace.totalSteps ?? run.summary?.totalSteps
  return {
    id: run.id,
    label,
    status: run.trace.status,
    // Before any event is folded in, the run list's word.
    step: run.trace.lastIndex >= 0 ? run.trace.step : (run.summary?.step ?? 0),
    ...(totalSteps !== undefined && { totalSteps }),
    ...(task && { task }),
    ...(method && { method }),
    ...(metric && { metric }),
    ...(value !== undefined && { finalMetric: value }),
    ...(best !== undefined && { bestMetric: best }),
    ...(trainable !== undefined && { trainable }),
    ...(gain !== undefined && { erankGain: gain })
  }
}

export function summaryRows(runs: readonly ComparedRun[]): SummaryRow[] {
  const labels = runLabels(runs)
  return runs.map((run) => summaryRow(run, labels.get(run.id)))
}

/** The smoothed training loss of each run, by its label. */
export function lossCurves(runs: readonly ComparedRun[]): Record<string, Point[]> {
  const labels = runLabels(runs)
  return Object.fromEntries(runs.map((r) => [labels.get(r.id)!, r.trace.lossSmoothed.slice()]))
}

/** Each run's key validation metric over steps, by its label (runs not yet evaluated are left out). */
export function metricCurves(runs: readonly ComparedRun[]): Record<string, Point[]> {
  const labels = runLabels(runs)
  const curves: Record<string, Point[]> = {}
  for (const run of runs) {
    const task = taskOf(run)
    const points = task ? run.trace.metrics[keyMetricOf(task)] : undefined
    if (points && points.length > 0) curves[labels.get(run.id)!] = points.slice()
  }
  return curves
}

/** The metric axis's name: the one key metric, or each of them when the runs' tasks differ. */
export function metricAxisName(runs: readonly ComparedRun[]): string {
  const names = new Set<string>()
  for (const run of runs) {
    const task = taskOf(run)
    if (task) names.add(keyMetricOf(task))
  }
  return names.size > 0 ? [...names].join(' / ') : 'metric'
}

// ---------------------------------------------------------------- metric against cost

/** What the comparison's scatter puts across: trainable parameters (a log axis), or the mean erank gain. */
export type ScatterAxis = 'trainable' | 'erankGain'
/** Which value of the key metric it puts up: the last evaluation's, or the best one's. */
export type ScatterValue = 'final' | 'best'

export interface ScatterPoint {
  id: string
  label: string
  method?: TrainMethod
  x: number
  y: number
  /** Trainable parameters, for the tooltip whichever axis is across. */
  trainable?: number
  erankGain?: number
}

export interface ScatterData {
  /** The one key metric on the y axis (the first compared run's that has one). */
  metric?: KeyMetric
  points: ScatterPoint[]
  /** Runs with no point, and why (not evaluated, another key metric, no spectra). */
  leftOut: { id: string; label: string; why: string }[]
}

/**
 * One point per compared run at (trainable parameters or mean erank gain, key metric). Runs ranked by a
 * different key metric (accuracy against pearson) would share an axis meaninglessly: only those of the
 * first metric are drawn, and the rest named as left out.
 */
export function scatterData(rows: readonly SummaryRow[], axis: ScatterAxis, value: ScatterValue): ScatterData {
  const valueOf = (row: SummaryRow): number | undefined => (value === 'best' ? row.bestMetric : row.finalMetric)
  const metric = rows.find((row) => row.metric !== undefined && valueOf(row) !== undefined)?.metric
  const points: ScatterPoint[] = []
  const leftOut: ScatterData['leftOut'] = []
  for (const row of rows) {
    const y = valueOf(row)
    const x = axis === 'trainable' ? row.trainable : row.erankGain
    const out = (why: string): void => void leftOut.push({ id: row.id, label: row.label, why })
    if (y === undefined || !Number.isFinite(y)) out(value === 'best' ? 'no best evaluation yet' : 'not evaluated yet')
    else if (row.metric !== metric) out(`ranked by ${row.metric ?? 'no metric'}, not ${metric}`)
    else if (axis === 'trainable' && !(x !== undefined && x > 0)) out('trainable parameters not known yet')
    else if (x === undefined || !Number.isFinite(x)) out(row.method && !methodInfo(row.method).spectral ? `${methodInfo(row.method).label} reports no spectra` : 'no spectra yet')
    else {
      points.push({
        id: row.id,
        label: row.label,
        ...(row.method && { method: row.method }),
        x,
        y,
        ...(row.trainable !== undefined && { trainable: row.trainable }),
        ...(row.erankGain !== undefined && { erankGain: row.erankGain })
      })
    }
  }
  return { ...(metric && { metric }), points, leftOut }
}
