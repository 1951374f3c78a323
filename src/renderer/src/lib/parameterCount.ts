import { amountError, comparisonLoraRank, effectiveAmount, methodInfo, spectralMethodNames, trainable, type Amount, type MethodName } from '@shared/methods'

export { bandSize, effectiveAmount, type Amount } from '@shared/methods'

export interface CountTarget {
  name: string
  /** [out, in] in nn.Linear terms. */
  shape: readonly [number, number]
}

export interface ParameterEstimate {
  /** Trainable parameters the method adds on the selected targets (the whole model for `full`), valid amounts only. */
  adapter: number
  /** LoRA r = 8 on the same targets, for comparison. */
  lora8: number
  /** Full fine-tuning: every parameter of the checkpoint. */
  full: number
  /** Trainable parameters per selected target (absent where its amount is refused). */
  perTarget: Map<string, number>
  /** Selected targets whose amount the engine would refuse, name → why. */
  invalid: Map<string, string>
}

export const spectralMethods: readonly MethodName[] = spectralMethodNames

/**
 * Trainable parameters one target adds under a method: the catalogue's count, or undefined where the
 * engine would refuse the amount (a fractional k is refused, never rounded: amountError says why).
 */
export function trainableFor(method: MethodName, shape: readonly [number, number], amount: Amount): number | undefined {
  return amountError(method, amount) === undefined ? trainable(method, shape, amount) : undefined
}

/**
 * The live count the Layers step shows, before any training: the method on the selected targets, against
 * LoRA r = 8 on the same targets and full fine-tuning of the checkpoint. The task head, created at
 * training time, is not included (the `prepared` event reports it).
 */
export function estimateParameters(
  method: MethodName,
  selected: readonly CountTarget[],
  global: Amount,
  overrides: Readonly<Record<string, Amount>>,
  modelParameters: number
): ParameterEstimate {
  const perTarget = new Map<string, number>()
  const invalid = new Map<string, string>()
  let adapter = 0
  let lora8 = 0
  for (const target of selected) {
    const amount = effectiveAmount(global, overrides[target.name])
    const problem = amountError(method, amount)
    if (problem) invalid.set(target.name, problem)
    else {
      const count = trainable(method, target.shape, amount)
      perTarget.set(target.name, count)
      adapter += count
    }
    lora8 += trainable('lora', target.shape, { rank: comparisonLoraRank })
  }
  // Full fine-tuning trains the whole checkpoint, not just the selected matrices; a probe, none of them.
  const kind = methodInfo(method).kind
  if (kind === 'full') adapter = modelParameters
  if (kind === 'head') adapter = 0
  return { adapter, lora8, full: modelParameters, perTarget, invalid }
}
