import type { RunSummary } from '@shared/api'
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
  task?: TrainTask
  method?: TrainMethod
  status: RunSummary['status']
  /** The last optimiser step reported, of how many. */
  step: number
  totalSteps?: number
  metric?: KeyMetric
  /** The key metric at the last evaluation. */
  finalMetric?: number
  /** Trainable parameters (adapter + head). */
  trainable?: number
  /** Mean effective-rank gain over the adapted layers; undefined for methods without spectra. */
  erankGain?: number
}

export function summaryRow(run: ComparedRun): SummaryRow {
  const task = taskOf(run)
  const method = methodOf(run)
  const metric = task ? keyMetricOf(task) : undefined
  const value = metric ? finalMetric(run.trace, metric) : undefined
  const trainable = run.trace.parameters?.total ?? run.summary?.trainable
  const gain = meanErankGain(run.trace)
  const totalSteps = run.trace.totalSteps ?? run.summary?.totalSteps
  return {
    id: run.id,
    status: run.trace.status,
    // Before any event is folded in, the run list's word.
    step: run.trace.lastIndex >= 0 ? run.trace.step : (run.summary?.step ?? 0),
    ...(totalSteps !== undefined && { totalSteps }),
    ...(task && { task }),
    ...(method && { method }),
    ...(metric && { metric }),
    ...(value !== undefined && { finalMetric: value }),
    ...(trainable !== undefined && { trainable }),
    ...(gain !== undefined && { erankGain: gain })
  }
}

export function summaryRows(runs: readonly ComparedRun[]): SummaryRow[] {
  return runs.map(summaryRow)
}

/** The smoothed training loss of each run, by run id. */
export function lossCurves(runs: readonly ComparedRun[]): Record<string, Point[]> {
  return Object.fromEntries(runs.map((r) => [r.id, r.trace.lossSmoothed.slice()]))
}

/** Each run's key validation metric over steps, by run id (runs not yet evaluated are left out). */
export function metricCurves(runs: readonly ComparedRun[]): Record<string, Point[]> {
  const curves: Record<string, Point[]> = {}
  for (const run of runs) {
    const task = taskOf(run)
    const points = task ? run.trace.metrics[keyMetricOf(task)] : undefined
    if (points && points.length > 0) curves[run.id] = points.slice()
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
