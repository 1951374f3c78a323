import type { TrainConfigInput } from '@shared/api'
import { methodInfo } from '@shared/methods'
import { trainingDefaults } from '@shared/trainDefaults'
import type { LearningRateSchedule, TrainBackend, TrainMethod, TrainTask } from '@shared/training'
import type { Amount } from './parameterCount'
import { exactPattern, type TargetsSetting } from './targetSelection'

/** The Train step's form. */
export interface Hyperparameters {
  epochs: number
  /** Empty: as many steps as the epochs take. */
  maxSteps?: number
  batchSize: number
  lr: number
  headLr: number
  seed: number
  /** Evaluate every N steps; 0 = at the end of each epoch. */
  evalEvery: number
  spectraEvery: number
  /** Micro-batches whose gradients are summed into one optimiser step. */
  gradientAccumulation: number
  /** AdamW's decoupled weight decay. */
  weightDecay: number
  /** The learning rate's course after warmup. */
  schedule: LearningRateSchedule
  /** Warmup as a fraction of all optimiser steps. */
  warmupRatio: number
  /** Gradients are clipped to this global norm. */
  maxGradNorm: number
  /** Write a checkpoint every N optimiser steps (and at the end). */
  checkpointEvery: number
}

export type HyperparameterName = keyof Hyperparameters
/** The form's fields that take a number (all but the schedule, which is a choice). */
export type NumericHyperparameterName = { [K in HyperparameterName]-?: NonNullable<Hyperparameters[K]> extends number ? K : never }[HyperparameterName]

/** A number field of the Train step's form that comes with a line of help. */
export interface HyperparameterField {
  name: NumericHyperparameterName
  label: string
  min: number
  max?: number
  step: string
  /** One line, shown beside the field; it ends with the engine's default. */
  help: string
}

const d = trainingDefaults

/** How the optimiser steps and how often the run checkpoints: run.json has them all, the form shows them here. */
export const optimiserFields: readonly HyperparameterField[] = [
  { name: 'warmupRatio', label: 'Warmup', min: 0, max: 1, step: 'any', help: `Fraction of the steps over which the learning rate rises from 0 to its value (default ${d.warmupRatio}).` },
  { name: 'weightDecay', label: 'Weight decay', min: 0, max: 10, step: 'any', help: `AdamW's decoupled decay of the trained weights, scaled by the learning rate; 0: none (default ${d.weightDecay}).` },
  { name: 'maxGradNorm', label: 'Clip gradients at', min: 1e-6, step: 'any', help: `Gradients whose global norm is larger are scaled down to it (default ${d.maxGradNorm}).` },
  { name: 'gradientAccumulation', label: 'Gradient accumulation', min: 1, max: 4096, step: '1', help: `Batches summed into one optimiser step: the effective batch is batch size × this (default ${d.gradientAccumulation}).` },
  { name: 'checkpointEvery', label: 'Checkpoint every (steps)', min: 0, step: '1', help: `One is written at the end and at each new best too; 0: only then (default ${d.checkpointEvery}).` }
]

export const scheduleChoices: readonly { value: LearningRateSchedule; label: string }[] = [
  { value: 'linear', label: 'linear decay to 0' },
  { value: 'cosine', label: 'cosine decay to 0' },
  { value: 'constant', label: 'constant' }
]

export const scheduleHelp = `How the learning rate moves after warmup (default ${d.schedule}).`

/**
 * The engine's defaults for a task and method (training/loop.ts defaultTrainConfig; the learning rate is
 * the method catalogue's), shown before the user edits them; the head's learning rate is the model
 * family's (ModelSummary.headLr) where it has one.
 */
export function defaultHyperparameters(task: TrainTask, method: TrainMethod, headLr = 1e-3): Hyperparameters {
  return {
    epochs: 3,
    batchSize: task === 'causal-lm' ? 8 : 16,
    lr: methodInfo(method).defaultLr,
    headLr,
    seed: 42,
    evalEvery: 0,
    spectraEvery: 10,
    ...trainingDefaults
  }
}

export interface MethodSettings {
  method: TrainMethod
  /** Global amount: perc or k for spectral methods, rank for LoRA. */
  amount: Amount
  /** Selected targets as a pattern, or undefined for the family's default. */
  targets?: TargetsSetting
  /** Per-target amounts, target name → amount. */
  overrides: Readonly<Record<string, Amount>>
}

export interface RunInputs {
  model: string
  data: string
  task: TrainTask
  validation?: string
  columns?: TrainConfigInput['columns']
  maxLength?: number
  /** The Train step's backend choice; the engine's own default ('auto') when absent. */
  backend?: TrainBackend
}

/** The startRun request from the wizard's steps. */
export function buildTrainConfig(inputs: RunInputs, settings: MethodSettings, hyper: Hyperparameters): TrainConfigInput {
  const { method, amount } = settings
  const config: TrainConfigInput = {
    model: inputs.model,
    data: inputs.data,
    task: inputs.task,
    method,
    epochs: hyper.epochs,
    batchSize: hyper.batchSize,
    lr: hyper.lr,
    headLr: hyper.headLr,
    seed: hyper.seed,
    evalEvery: hyper.evalEvery,
    spectraEvery: hyper.spectraEvery,
    gradientAccumulation: hyper.gradientAccumulation,
    weightDecay: hyper.weightDecay,
    schedule: hyper.schedule,
    warmupRatio: hyper.warmupRatio,
    maxGradNorm: hyper.maxGradNorm,
    checkpointEvery: hyper.checkpointEvery
  }
  if (hyper.maxSteps !== undefined) config.maxSteps = hyper.maxSteps
  if (inputs.validation) config.validation = inputs.validation
  if (inputs.maxLength !== undefined) config.maxLength = inputs.maxLength
  if (inputs.backend !== undefined) config.backend = inputs.backend
  const columns = Object.fromEntries(Object.entries(inputs.columns ?? {}).filter(([, v]) => v !== undefined && v !== ''))
  if (Object.keys(columns).length > 0) config.columns = columns
  const info = methodInfo(method)
  const adapts = info.kind === 'adapter'
  if (info.spectral) {
    if (amount.k !== undefined) config.k = amount.k
    else if (amount.perc !== undefined) config.perc = amount.perc
  }
  if (info.amount === 'rank' && amount.rank !== undefined) config.rank = amount.rank
  if (adapts && settings.targets) {
    config.targets = settings.targets.targets
    const overrides: NonNullable<TrainConfigInput['overrides']> = settings.targets.skip.map((name) => ({ pattern: exactPattern(name), skip: true }))
    // Per-layer amounts only for methods that read one (svdiff trains every value whatever k says).
    for (const [name, o] of info.amount !== 'none' ? Object.entries(settings.overrides) : []) {
      const entry = {
        pattern: exactPattern(name),
        ...(info.amount === 'rank' ? o.rank !== undefined && { rank: o.rank } : o.k !== undefined ? { k: o.k } : o.perc !== undefined && { perc: o.perc })
      }
      if (Object.keys(entry).length > 1) overrides.push(entry)
    }
    if (overrides.length > 0) config.overrides = overrides
  }
  return config
}
