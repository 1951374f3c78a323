import { configLimits, type ModelDescription, type TensorInfo } from '../../io'
import { activationField, checkLayerCount, checkSizeClaims, configFields, requiredSize } from '../configChecks'

/**
 * What a ViT config.json says about the model's shape, with ViTConfig's defaults filled in and checked
 * once, so the rest of the family never meets an undefined field or a patch grid that does not tile.
 * Every refusal names the config.json file and the field.
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
  const fields = configFields(config)
  const hiddenSize = requiredSize(fields, config.hiddenSize, 'hidden_size', configLimits.hiddenSize)
  const numHeads = requiredSize(fields, config.numHeads, 'num_attention_heads', configLimits.numHeads)
  if (hiddenSize % numHeads !== 0) fields.fail('num_attention_heads', `must divide hidden_size (hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads})`)
  const imageSize = requiredSize(fields, config.imageSize, 'image_size', configLimits.imageSize)
  const patchSize = requiredSize(fields, config.patchSize, 'patch_size', configLimits.patchSize)
  if (imageSize % patchSize !== 0) fields.fail('image_size', `must be a multiple of patch_size (image_size ${imageSize} is not a multiple of patch_size ${patchSize})`)
  return {
    dropout: { hidden: fields.probability('hidden_dropout_prob') ?? 0, attention: fields.probability('attention_probs_dropout_prob') ?? 0 },
    hiddenSize,
    numLayers: requiredSize(fields, config.numLayers, 'num_hidden_layers', configLimits.numLayers),
    numHeads,
    intermediateSize: requiredSize(fields, config.intermediateSize, 'intermediate_size', configLimits.intermediateSize),
    layerNormEps: fields.positive('layer_norm_eps') ?? config.layerNormEps ?? 1e-12,
    activation: activationField(fields, config.activation, 'hidden_act', 'gelu'),
    imageSize,
    patchSize,
    numChannels: requiredSize(fields, config.numChannels, 'num_channels', configLimits.numChannels),
    numPatches: (imageSize / patchSize) ** 2,
    qkvBias: fields.boolean('qkv_bias') ?? true,
    initializerRange: fields.positive('initializer_range', 1) ?? 0.02
  }
}

/**
 * The sizes config.json claims against the checkpoint's tensors (under `prefix`): layers; width,
 * channels and patch size from the patch kernel [hidden, channels, patch, patch]; the image size from
 * the position embeddings [1, patches + 1, hidden]; the MLP width.
 */
export function checkVitTensors(config: ModelDescription, settings: VitSettings, tensors: readonly TensorInfo[], prefix: string): void {
  const fields = configFields(config)
  checkLayerCount(fields, tensors, 'num_hidden_layers', settings.numLayers, `${prefix}encoder.layer.`)
  const kernel = `${prefix}embeddings.patch_embeddings.projection.weight`
  const positions = settings.numPatches + 1
  checkSizeClaims(fields, tensors, [
    { field: 'hidden_size', claimed: settings.hiddenSize, tensor: kernel, axis: 0 },
    { field: 'num_channels', claimed: settings.numChannels, tensor: kernel, axis: 1 },
    { field: 'patch_size', claimed: settings.patchSize, tensor: kernel, axis: 2 },
    { field: 'patch_size', claimed: settings.patchSize, tensor: kernel, axis: 3 },
    { field: 'image_size', claimed: positions, tensor: `${prefix}embeddings.position_embeddings`, axis: 1, says: `${settings.imageSize} (${positions} positions in ${settings.patchSize}-pixel patches)` },
    { field: 'intermediate_size', claimed: settings.intermediateSize, tensor: `${prefix}encoder.layer.0.intermediate.dense.weight`, axis: 0 }
  ])
}
