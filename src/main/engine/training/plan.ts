import type { TensorSource } from '../io'
import { familyFor } from '../models/registry'
import type { AdaptableLinear, ModelFamily, ModelTask } from '../models/types'
import { methodNamed, selectTargets, type AdaptTargetsOptions, type Decompose, type PeftMethod, type TargetOverride } from '../peft'
import { namePattern } from '../../../shared/pattern/safePattern'
import type { TrainConfig } from '../../../shared/training'
import { modelTask } from './trainData'

/** What a run's configuration means for its checkpoint: the family, the method and the targets it adapts. */
export interface RunPlan {
  family: ModelFamily
  task: ModelTask
  method: PeftMethod
  /** Every projection the family offers, and the ones the method adapts (none for head-only and full). */
  allTargets: AdaptableLinear[]
  targets: AdaptableLinear[]
  overrides: TargetOverride[]
}

/**
 * Resolve a configuration against its checkpoint, the one way training and export both do it: the same
 * run always adapts the same targets with the same settings.
 */
export function planRun(config: TrainConfig, source: TensorSource): RunPlan {
  const family = familyFor(source.config, config.model)
  const method = methodNamed(config.method)
  // Patterns come from people and from run.json: matched in bounded time, refused naming the field.
  const pattern = config.targets ? namePattern(config.targets, 'targets') : family.defaultTargets
  const overrides = (config.overrides ?? []).map((o, i) => ({ ...o, pattern: namePattern(o.pattern, `overrides[${i}].pattern`) }))
  const allTargets = family.targets(source.config!, source.tensors)
  const targets = method.kind === 'adapter' ? selectTargets(allTargets, pattern, overrides) : []
  if (method.kind === 'adapter' && targets.length === 0) throw new Error(`no target matches /${pattern.source}/; targets look like ${allTargets[0]?.name ?? '(none)'}`)
  return { family, task: modelTask(config.task), method, allTargets, targets, overrides }
}

/** The options adaptTargets needs for this run. */
export function adaptOptions(config: TrainConfig, plan: RunPlan, decompose: Decompose, signal?: AbortSignal): AdaptTargetsOptions {
  return {
    seed: config.seed,
    decompose,
    overrides: plan.overrides,
    ...(config.perc !== undefined && { perc: config.perc }),
    ...(config.k !== undefined && { k: config.k }),
    ...(config.rank !== undefined && { rank: config.rank }),
    ...(config.alpha !== undefined && { alpha: config.alpha }),
    ...(signal && { signal })
  }
}
