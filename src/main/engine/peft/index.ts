import type { TensorSource } from '../io'
import { readTargetWeights } from '../models/ops'
import type { AdaptableLinear, LinearFn } from '../models/types'
import { full } from './methods/full'
import { head } from './methods/head'
import { lora } from './methods/lora'
import { siva } from './methods/siva'
import { svdiff } from './methods/svdiff'
import { topk } from './methods/topk'
import type { AdaptOptions, Adapter, MethodName, PeftMethod } from './types'

import { bandSize } from './singularBand'
import type { NamePattern } from '../../../shared/pattern/safePattern'

export { bandSize, singularBandAdapter } from './singularBand'
export { lowRankProduct } from './lowRank'
export { cachedDecompose, weightHash, type DecomposeOptions } from './svdCache'
export type { AdaptOptions, Adapter, Decompose, Decomposition, LiveSpectrum, LowRank, MethodName, PeftMethod, StoredParameters, TargetWeights } from './types'

export const methods: Readonly<Record<MethodName, PeftMethod>> = { siva, svdiff, topk, lora, full, head }

export function methodNamed(name: string): PeftMethod {
  const method = (methods as Record<string, PeftMethod | undefined>)[name]
  if (!method) throw new Error(`unknown method "${name}"; choose one of ${Object.keys(methods).join(', ')}`)
  return method
}

/** Per-layer settings: the last override whose pattern matches a target wins over the global ones. */
export interface TargetOverride {
  pattern: NamePattern
  perc?: number
  k?: number
  rank?: number
  /** Leave matching targets out altogether. */
  skip?: boolean
}

/** The targets a pattern picks (the family's default pattern when none is given), in model order. */
export function selectTargets(all: readonly AdaptableLinear[], pattern: NamePattern, overrides: readonly TargetOverride[] = []): AdaptableLinear[] {
  return all.filter((target) => pattern.test(target.name) && !lastMatch(overrides, target.name)?.skip)
}

function lastMatch(overrides: readonly TargetOverride[], name: string): TargetOverride | undefined {
  let found: TargetOverride | undefined
  for (const override of overrides) if (override.pattern.test(name)) found = override
  return found
}

export interface AdaptTargetsOptions extends AdaptOptions {
  overrides?: readonly TargetOverride[]
  onProgress?: (done: number, total: number, target: string) => void
  signal?: AbortSignal
}

/**
 * Hand each chosen target to the method: its weight is read from the checkpoint (float64, nn.Linear
 * orientation) and replaced by the method's adapter. Returns the adapters and the map the model family
 * builds with. On failure, every adapter made so far is disposed.
 */
export async function adaptTargets(
  source: TensorSource,
  targets: readonly AdaptableLinear[],
  method: PeftMethod,
  options: AdaptTargetsOptions
): Promise<{ adapters: Adapter[]; linears: Map<string, LinearFn> }> {
  const adapters: Adapter[] = []
  if (method.kind !== 'adapter') return { adapters, linears: new Map() }
  // GPT-2's q, k and v blocks come one after another from one fused tensor: read each tensor once.
  const recent = new Map<string, Float64Array>()
  const read = async (name: string): Promise<Float64Array> => {
    let values = recent.get(name)
    if (!values) {
      if (recent.size >= 2) recent.clear()
      values = await source.readFloat64(name)
      recent.set(name, values)
    }
    return values
  }
  try {
    for (const [i, target] of targets.entries()) {
      options.signal?.throwIfAborted()
      const override = lastMatch(options.overrides ?? [], target.name)
      const settings: AdaptOptions = { ...options }
      if (override?.perc !== undefined) {
        settings.perc = override.perc
        delete settings.k
      }
      if (override?.k !== undefined) settings.k = override.k
      if (override?.rank !== undefined) settings.rank = override.rank
      const weights = { target, ...(await readTargetWeights(source, target, read)) }
      adapters.push(await method.adapt(weights, settings))
      options.onProgress?.(i + 1, targets.length, target.name)
    }
  } catch (error) {
    for (const adapter of adapters) adapter.dispose()
    throw error
  }
  return { adapters, linears: new Map(adapters.map((a) => [a.target.name, a.linear])) }
}

/** Trainable parameters a method would add for these targets, without building anything (for the UI's live count). */
export function countTrainable(method: MethodName, targets: readonly AdaptableLinear[], options: { perc?: number; k?: number; rank?: number; overrides?: readonly TargetOverride[] }): number {
  let total = 0
  for (const target of targets) {
    const override = lastMatch(options.overrides ?? [], target.name)
    const r = Math.min(target.outFeatures, target.inFeatures)
    const k = override?.k ?? (override?.perc !== undefined ? undefined : options.k)
    const perc = override?.perc ?? options.perc
    switch (method) {
      case 'siva':
      case 'topk':
        total += bandSize(r, { ...(k !== undefined && { k }), ...(perc !== undefined && { perc }) })
        break
      case 'svdiff':
        total += r
        break
      case 'lora':
        total += (override?.rank ?? options.rank ?? 8) * (target.outFeatures + target.inFeatures)
        break
      default:
        break
    }
  }
  return total
}
