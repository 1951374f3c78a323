import { configLimits, type ModelDescription, type TensorInfo } from '../../io'
import { activationField, checkLayerCount, checkSizeClaims, configFields, requiredSize, type SizeClaim } from '../configChecks'

/**
 * What a GPT-2 config.json says about the model's shape, with GPT2Config's defaults filled in and checked
 * once, so the rest of the family never meets an undefined field. Every refusal names the config.json
 * file and the field.
 */
export interface Gpt2Settings {
  hiddenSize: number
  numLayers: number
  numHeads: number
  /**
   * Width of the MLP: `n_inner`, or 4·n_embd when it is null. GPT-2 never reads `intermediate_size`
   * (some saved configs carry a stray one, hf-internal-testing/tiny-random-gpt2's says 37).
   */
  innerSize: number
  layerNormEps: number
  activation: string
  /** Standard deviation of a new head's weights (`initializer_range`). */
  initializerRange: number
  /** `scale_attn_weights`: divide attention scores by √head_size (true in every released GPT-2). */
  scaleAttentionWeights: boolean
  /** `scale_attn_by_inverse_layer_idx`: also divide block i's scores by i + 1. */
  scaleByInverseLayer: boolean
  /** Training dropout: `embd_pdrop`, `attn_pdrop`, `resid_pdrop` (0.1 each by default). */
  dropout: { embeddings: number; attention: number; residual: number }
}

export function gpt2Settings(config: ModelDescription): Gpt2Settings {
  const fields = configFields(config)
  // A config without model_type is described under BERT-style names; GPT-2's own fields win when present.
  const hiddenSize = requiredSize(fields, fields.integer('n_embd', configLimits.hiddenSize) ?? config.hiddenSize, 'n_embd', configLimits.hiddenSize)
  const numHeads = requiredSize(fields, fields.integer('n_head', configLimits.numHeads) ?? config.numHeads, 'n_head', configLimits.numHeads)
  if (hiddenSize % numHeads !== 0) fields.fail('n_head', `must divide n_embd (n_embd ${hiddenSize} is not a multiple of n_head ${numHeads})`)
  if (fields.boolean('add_cross_attention') === true) fields.fail('add_cross_attention', 'is set; SiVA runs GPT-2 as a decoder without an encoder')
  return {
    hiddenSize,
    numLayers: requiredSize(fields, fields.integer('n_layer', configLimits.numLayers) ?? config.numLayers, 'n_layer', configLimits.numLayers),
    numHeads,
    innerSize: requiredSize(fields, fields.integer('n_inner', configLimits.intermediateSize) ?? 4 * hiddenSize, 'n_inner', configLimits.intermediateSize),
    layerNormEps: fields.positive('layer_norm_epsilon') ?? config.layerNormEps ?? 1e-5,
    activation: activationField(fields, fields.string('activation_function') ?? config.activation, 'activation_function', 'gelu_new'),
    initializerRange: fields.positive('initializer_range', 1) ?? 0.02,
    scaleAttentionWeights: fields.boolean('scale_attn_weights') ?? true,
    scaleByInverseLayer: fields.boolean('scale_attn_by_inverse_layer_idx') ?? false,
    dropout: {
      embeddings: fields.probability('embd_pdrop') ?? 0.1,
      attention: fields.probability('attn_pdrop') ?? 0.1,
      residual: fields.probability('resid_pdrop') ?? 0.1
    }
  }
}

/**
 * The sizes config.json claims against the checkpoint's tensors (under `prefix`): blocks, width, MLP
 * width; vocabulary and positions when the file states them (the model sizes those tables from the
 * tensors themselves).
 */
export function checkGpt2Tensors(config: ModelDescription, settings: Gpt2Settings, tensors: readonly TensorInfo[], prefix: string): void {
  const fields = configFields(config)
  checkLayerCount(fields, tensors, 'n_layer', settings.numLayers, `${prefix}h.`)
  const tokens = `${prefix}wte.weight`
  const claims: SizeClaim[] = [
    { field: 'n_embd', claimed: settings.hiddenSize, tensor: tokens, axis: 1 },
    {
      field: 'n_inner',
      claimed: settings.innerSize,
      tensor: `${prefix}h.0.mlp.c_fc.weight`,
      axis: 1,
      ...(!fields.has('n_inner') && { says: `null, so 4 × n_embd = ${settings.innerSize}` })
    }
  ]
  if (fields.has('vocab_size') && config.vocabSize !== undefined) claims.push({ field: 'vocab_size', claimed: config.vocabSize, tensor: tokens, axis: 0 })
  if (fields.has('n_positions') && config.maxPositions !== undefined) claims.push({ field: 'n_positions', claimed: config.maxPositions, tensor: `${prefix}wpe.weight`, axis: 0 })
  checkSizeClaims(fields, tensors, claims)
}
