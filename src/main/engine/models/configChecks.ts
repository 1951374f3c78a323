import { ConfigFields, type ModelDescription, type TensorInfo } from '../io'
import { activations } from './ops'

/**
 * What every family checks in its config.json, written once: the reader (each refusal names the file
 * and the field), sizes the model cannot do without, the activation, and the sizes the file claims set
 * against the tensors that hold them. transformers refuses a checkpoint whose tensors disagree with
 * its config (a size mismatch on load); so does SiVA, before it builds anything from the claim.
 */

/** The reader for a description's config.json ('config.json' for one made up from a graph). */
export function configFields(config: ModelDescription): ConfigFields {
  return new ConfigFields(config.file ?? 'config.json', config.raw)
}

/** A size the model is built from: present (in the file or as the family's default) and at least 1. */
export function requiredSize(fields: ConfigFields, value: number | undefined, field: string, max: number): number {
  if (value === undefined || !Number.isSafeInteger(value) || value < 1 || value > max) fields.invalid(field, `must be a whole number from 1 to ${max.toLocaleString('en-US')}`)
  return value
}

/** The activation a config names, if SiVA runs it. */
export function activationField(fields: ConfigFields, value: string | undefined, field: string, fallback: string): string {
  const name = value ?? fallback
  if (!activations.includes(name)) fields.invalid(field, `is not an activation SiVA runs (${activations.join(', ')})`)
  return name
}

/** A size the config claims, the tensor that holds it, and on which axis. */
export interface SizeClaim {
  field: string
  claimed: number
  tensor: string
  axis: number
  /** How the claim reads when it is not the field's own value (ViT's image_size: its positions). */
  says?: string
}

/**
 * Each claim against its tensor's shape. A tensor that is not there is left to the model's build,
 * which names it; here only a tensor that is there with another size is refused.
 */
export function checkSizeClaims(fields: ConfigFields, tensors: readonly TensorInfo[], claims: readonly SizeClaim[]): void {
  for (const claim of claims) {
    const tensor = tensors.find((t) => t.name === claim.tensor)
    if (tensor === undefined || tensor.shape[claim.axis] === claim.claimed) continue
    fields.fail(claim.field, `says ${claim.says ?? claim.claimed}, but tensor ${claim.tensor} has shape [${tensor.shape.join(', ')}] (${tensor.file})`)
  }
}

/**
 * The number of layers the config claims against the blocks the tensors hold under `blockPrefix`
 * (`bert.encoder.layer.`, `transformer.h.`): the highest block index + 1, so a missing middle block
 * is left to the build, which names the tensor.
 */
export function checkLayerCount(fields: ConfigFields, tensors: readonly TensorInfo[], field: string, claimed: number, blockPrefix: string): void {
  let held = 0
  for (const { name } of tensors) {
    if (!name.startsWith(blockPrefix)) continue
    const index = /^(\d+)\./.exec(name.slice(blockPrefix.length))
    if (index) held = Math.max(held, Number(index[1]) + 1)
  }
  if (held === claimed) return
  const blocks = held === 0 ? `no ${blockPrefix}N tensors` : `${held} (${blockPrefix}0 to ${held - 1})`
  fields.fail(field, `says ${claimed} ${claimed === 1 ? 'layer' : 'layers'}, but the weights hold ${blocks}`)
}
