import type { TrainMethod } from '@shared/training'

/** How much of a matrix a method trains: a fraction or a count of singular values, or a LoRA rank. */
export interface Amount {
  perc?: number
  k?: number
  rank?: number
}

export interface CountTarget {
  name: string
  /** [out, in] in nn.Linear terms. */
  shape: readonly [number, number]
}

export interface ParameterEstimate {
  /** Trainable parameters the method adds on the selected targets (the whole model for `full`). */
  adapter: number
  /** LoRA r = 8 on the same targets, for comparison. */
  lora8: number
  /** Full fine-tuning: every parameter of the checkpoint. */
  full: number
  /** Trainable parameters per selected target. */
  perTarget: Map<string, number>
}

export const spectralMethods: readonly TrainMethod[] = ['siva', 'svdiff', 'topk']

/** The engine's band size: k itself (at most r), else max(1, round(perc · r)); perc defaults to 0.1. */
export function bandSize(r: number, amount: Pick<Amount, 'perc' | 'k'>): number {
  if (amount.k !== undefined) return Math.min(Math.max(1, Math.floor(amount.k)), r)
  const perc = amount.perc ?? 0.1
  return Math.min(r, Math.max(1, Math.round(perc * r)))
}

/**
 * A per-layer override replaces the global setting the way the engine resolves it: an override's k wins,
 * an override's perc makes a global k irrelevant.
 */
export function effectiveAmount(global: Amount, override?: Amount): Amount {
  const k = override?.k ?? (override?.perc !== undefined ? undefined : global.k)
  const perc = override?.perc ?? global.perc
  const rank = override?.rank ?? global.rank
  return { ...(k !== undefined && { k }), ...(perc !== undefined && { perc }), ...(rank !== undefined && { rank }) }
}

/** Trainable parameters one target adds under a method. */
export function trainableFor(method: TrainMethod, shape: readonly [number, number], amount: Amount): number {
  const [out, inp] = shape
  const r = Math.min(out, inp)
  switch (method) {
    case 'siva':
    case 'topk':
      return bandSize(r, amount)
    case 'svdiff':
      return r
    case 'lora':
      return (amount.rank ?? 8) * (out + inp)
    case 'full':
      return out * inp
    case 'head':
      return 0
  }
}

/**
 * The live count the Layers step shows, before any training: the method on the selected targets, against
 * LoRA r = 8 on the same targets and full fine-tuning of the checkpoint. The task head, created at
 * training time, is not included (the `prepared` event reports it).
 */
export function estimateParameters(
  method: TrainMethod,
  selected: readonly CountTarget[],
  global: Amount,
  overrides: Readonly<Record<string, Amount>>,
  modelParameters: number
): ParameterEstimate {
  const perTarget = new Map<string, number>()
  let adapter = 0
  let lora8 = 0
  for (const target of selected) {
    const count = trainableFor(method, target.shape, effectiveAmount(global, overrides[target.name]))
    perTarget.set(target.name, count)
    adapter += count
    lora8 += trainableFor('lora', target.shape, { rank: 8 })
  }
  if (method === 'full') adapter = modelParameters
  if (method === 'head') adapter = 0
  return { adapter, lora8, full: modelParameters, perTarget }
}
