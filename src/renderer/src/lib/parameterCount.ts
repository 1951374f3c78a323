import { amountError, comparisonLoraRank, effectiveAmount, methodInfo, spectralMethodNames, trainable, type Amount, type MethodName } from '@shared/methods'
import { isDecoderModelType } from '@shared/modelTypes'

export { bandSize, effectiveAmount, type Amount } from '@shared/methods'

export interface CountTarget {
  name: string
  /** [out, in] in nn.Linear terms. */
  shape: readonly [number, number]
}

export interface ParameterEstimate {
  /** Trainable parameters the method adds on the selected targets (the whole model for `full`, 0 for `head`), valid amounts only. */
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

/** The task head a run creates (or takes from the checkpoint) and trains with every method. */
export interface HeadEstimate {
  parameters: number
  /** How the count is made, in numbers: "2 classes × 512 + 2". */
  formula: string
}

/** What the head estimate reads: the model's family and width, and the task with its classes. */
export interface HeadFacts {
  modelType?: string
  hiddenSize?: number
  task: 'classify' | 'regress' | 'causal-lm' | 'image-classify'
  /** Classes the data check found (classification); absent until the data is checked. */
  classes?: number
}

/**
 * Trainable parameters of the task head, as the engine's families build it: a classifier [labels, hidden]
 * with its bias (BERT, DeBERTa, ViT, the USE demo), RoBERTa's dense + out_proj, the decoders' bias-free `score`
 * (GPT-2, Llama, Mistral, Qwen2);
 * a language model's head is its frozen token embedding (0). Undefined while the width or the number of
 * classes is unknown. A checkpoint without a stored pooler trains a new one as well; that is not counted here.
 */
export function taskHeadEstimate(facts: HeadFacts): HeadEstimate | undefined {
  if (facts.task === 'causal-lm') return { parameters: 0, formula: 'a language model’s head is its frozen token embedding' }
  const h = facts.hiddenSize
  const labels = facts.task === 'regress' ? 1 : facts.classes
  if (h === undefined || !(h > 0) || labels === undefined || !(labels > 0)) return undefined
  const outputs = facts.task === 'regress' ? '1 output' : `${labels} ${labels === 1 ? 'class' : 'classes'}`
  if (isDecoderModelType(facts.modelType)) return { parameters: labels * h, formula: `${outputs} × ${h}` }
  if (facts.modelType === 'roberta') return { parameters: h * h + h + labels * h + labels, formula: `${h} × ${h} + ${h} + ${outputs} × ${h} + ${labels}` }
  return { parameters: labels * h + labels, formula: `${outputs} × ${h} + ${labels}` }
}

/**
 * A ratio as the count panel says it: whole numbers from 10 up (128 → "128", never "130"), three
 * significant digits below (1.02 → "1.02", 2.5 → "2.5").
 */
export function formatTimes(x: number): string {
  if (!Number.isFinite(x)) return '–'
  if (x >= 10) return Math.round(x).toLocaleString('en-US')
  return String(Number(x.toPrecision(3)))
}

/** "2.5× fewer", "128× more", "as many": a count against another (both above 0). */
export function compareCounts(count: number, other: number): string {
  if (count === other) return 'as many'
  return count < other ? `${formatTimes(other / count)}× fewer` : `${formatTimes(count / other)}× more`
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
 * LoRA r = 8 on the same targets and full fine-tuning of the checkpoint. The task head is not in these
 * numbers: taskHeadEstimate counts it, and the count panel adds it to every side alike (the run's
 * `prepared` event reports the head as built).
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
