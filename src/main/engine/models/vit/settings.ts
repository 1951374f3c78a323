import type { ModelDescription } from '../../io'
import { dropoutRate } from '../ops'

/**
 * What a ViT config.json says about the model's shape, with ViTConfig's defaults filled in and checked
 * once, so the rest of the family never meets an undefined field or a patch grid that does not tile.
 */
export interface VitSettings {
  hiddenSize: number
  numLayers: number
  numHeads: number
  intermediateSize: number
  layerNormEps: number
  activation: string
  /** Side of the square input, in pixels: the position embeddings are made for exactly this size. */
  imageSize: number
  /** Side of a square patch; imageSize is a multiple of it. */
  patchSize: number
  numChannels: number
  /** Patches per image, (imageSize / patchSize)²; the sequence is one longer ([CLS] first). */
  numPatches: number
  /** Whether query, key and value have biases (ViTConfig's `qkv_bias`, true unless a config says otherwise). */
  qkvBias: boolean
  /** Standard deviation of a new head's weights (transformers' `initializer_range`). */
  initializerRange: number
  /** Training dropout: `hidden_dropout_prob`, `attention_probs_dropout_prob` (ViT's configs: 0.0). */
  dropout: { hidden: number; attention: number }
}

export function vitSettings(config: ModelDescription): VitSettings {
  const where = 'vit config'
  const need = (value: number | undefined, field: string): number => {
    if (value === undefined || !Number.isInteger(value) || value <= 0) throw new Error(`${where}: "${field}" is missing or not a positive whole number`)
    return value
  }
  const hiddenSize = need(config.hiddenSize, 'hidden_size')
  const numHeads = need(config.numHeads, 'num_attention_heads')
  if (hiddenSize % numHeads !== 0) throw new Error(`${where}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`)
  const imageSize = need(config.imageSize, 'image_size')
  const patchSize = need(config.patchSize, 'patch_size')
  if (imageSize % patchSize !== 0) throw new Error(`${where}: image_size ${imageSize} is not a multiple of patch_size ${patchSize}`)
  const layerNormEps = config.layerNormEps
  if (layerNormEps === undefined || !(layerNormEps > 0)) throw new Error(`${where}: "layer_norm_eps" is missing or not a positive number`)
  const raw = config.raw
  const initializerRange = typeof raw.initializer_range === 'number' ? raw.initializer_range : 0.02
  return {
    dropout: { hidden: dropoutRate(config.raw, 'hidden_dropout_prob', 0), attention: dropoutRate(config.raw, 'attention_probs_dropout_prob', 0) },
    hiddenSize,
    numLayers: need(config.numLayers, 'num_hidden_layers'),
    numHeads,
    intermediateSize: need(config.intermediateSize, 'intermediate_size'),
    layerNormEps,
    activation: config.activation ?? 'gelu',
    imageSize,
    patchSize,
    numChannels: need(config.numChannels, 'num_channels'),
    numPatches: (imageSize / patchSize) ** 2,
    qkvBias: raw.qkv_bias !== false,
    initializerRange
  }
}
