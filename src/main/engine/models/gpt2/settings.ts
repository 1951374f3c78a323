import type { ModelDescription } from '../../io'
import { dropoutRate } from '../ops'

/**
 * What a GPT-2 config.json says about the model's shape, with GPT2Config's defaults filled in and checked
 * once, so the rest of the family never meets an undefined field.
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

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}

export function gpt2Settings(config: ModelDescription): Gpt2Settings {
  const raw = config.raw
  const need = (value: number | undefined, field: string): number => {
    if (value === undefined || !Number.isFinite(value) || value <= 0) throw new Error(`gpt2 config: "${field}" is missing or not a positive number`)
    return value
  }
  // A config without model_type is described under BERT-style names; GPT-2's own fields win when present.
  const hiddenSize = need(positive(raw.n_embd) ?? config.hiddenSize, 'n_embd')
  const numHeads = need(positive(raw.n_head) ?? config.numHeads, 'n_head')
  if (hiddenSize % numHeads !== 0) throw new Error(`gpt2 config: n_embd ${hiddenSize} is not a multiple of n_head ${numHeads}`)
  if (raw.add_cross_attention === true) throw new Error('gpt2 config: add_cross_attention is set; SiVA runs GPT-2 as a decoder without an encoder')
  const eps = typeof raw.layer_norm_epsilon === 'number' ? raw.layer_norm_epsilon : (config.layerNormEps ?? 1e-5)
  return {
    hiddenSize,
    numLayers: need(positive(raw.n_layer) ?? config.numLayers, 'n_layer'),
    numHeads,
    innerSize: need(positive(raw.n_inner) ?? 4 * hiddenSize, 'n_inner'),
    layerNormEps: need(eps, 'layer_norm_epsilon'),
    activation: typeof raw.activation_function === 'string' ? raw.activation_function : (config.activation ?? 'gelu_new'),
    initializerRange: typeof raw.initializer_range === 'number' ? raw.initializer_range : 0.02,
    scaleAttentionWeights: raw.scale_attn_weights !== false,
    scaleByInverseLayer: raw.scale_attn_by_inverse_layer_idx === true,
    dropout: { embeddings: dropoutRate(raw, 'embd_pdrop', 0.1), attention: dropoutRate(raw, 'attn_pdrop', 0.1), residual: dropoutRate(raw, 'resid_pdrop', 0.1) }
  }
}
