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

import { effectiveAmount, methodInfo, trainable, type Amount } from '../../../shared/methods'
import type { NamePattern } from '../../../shared/pattern/safePattern'

export { bandSize, singularBandAdapter } from './singularBand'
export { lowRankProduct } from './lowRank'
export { cachedDecompose, weightHash, type DecomposeOptions } from './svdCache'
export { bandVectorsOf } from './decomposition'
export type { AdaptOptions, Adapter, AdapterMethod, Decompose, Decomposition, LiveSpectrum, LowRank, MethodName, PeftMethod, StoredParameters, TargetWeights, WholeModelMethod } from './types'

export const methods: Readonly<Record<MethodName, PeftMethod>> = { siva, svdiff, topk, lora, full, head }

/** The engine's implementation of a catalogue method; an unknown name is refused with the known ones. */
export function methodNamed(name: string): PeftMethod {
  return methods[methodInfo(name).name]
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
      const { perc, k, rank, ...rest } = options
      const settings: AdaptOptions = { ...rest, ...effectiveAmount(amountOf({ perc, k, rank }), lastMatch(options.overrides ?? [], target.name)) }
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

/**
 * Trainable parameters a method would add on these targets, without building anything: the catalogue's
 * count per matrix, with each target's override resolved as adaptTargets resolves it. Full fine-tuning and
 * the linear probe adapt no target (0); a full run counts the model's own variables once it is built.
 */
export function countTrainable(method: MethodName, targets: readonly AdaptableLinear[], options: Amount & { overrides?: readonly TargetOverride[] }): number {
  if (methodInfo(method).kind !== 'adapter') return 0
  const global = amountOf(options)
  let total = 0
  for (const target of targets) total += trainable(method, [target.outFeatures, target.inFeatures], effectiveAmount(global, lastMatch(options.overrides ?? [], target.name)))
  return total
}

/** Just the amount fields that are set. */
function amountOf(options: Amount): Amount {
  return { ...(options.perc !== undefined && { perc: options.perc }), ...(options.k !== undefined && { k: options.k }), ...(options.rank !== undefined && { rank: options.rank }) }
}
