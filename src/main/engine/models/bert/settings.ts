import { configLimits, type ModelDescription, type TensorInfo } from '../../io'
import { activationField, checkLayerCount, checkSizeClaims, configFields, requiredSize, type SizeClaim } from '../configChecks'

/**
 * What a BERT-like encoder's config.json says about its shape, with the config classes' defaults filled
 * in and checked once, so the rest of the family never meets an undefined field. Every refusal names
 * the config.json file and the field.
 */
export interface EncoderSettings {
  /** 'bert' or 'roberta': the model's attribute name, which is also its checkpoint prefix. */
  family: string
  hiddenSize: number
  numLayers: number
  numHeads: number
  intermediateSize: number
  layerNormEps: number
  activation: string
  /** `pad_token_id`: RoBERTa numbers positions from it. */
  padTokenId: number
  /** Standard deviation of a new head's weights (transformers' `initializer_range`). */
  initializerRange: number
  /**
   * Training dropout: `hidden_dropout_prob`, `attention_probs_dropout_prob` (0.1 each by default), and
   * `classifier_dropout`, which is hidden_dropout_prob when null.
   */
  dropout: { hidden: number; attention: number; classifier: number }
}

/** The config classes' defaults for the fields ModelDescription does not normalise. */
const familyDefaults: Record<string, { padTokenId: number }> = {
  bert: { padTokenId: 0 },
  roberta: { padTokenId: 1 }
}

export function encoderSettings(config: ModelDescription, family: string): EncoderSettings {
  const fields = configFields(config)
  const positionType = fields.string('position_embedding_type')
  if (positionType !== undefined && positionType !== 'absolute') fields.fail('position_embedding_type', `"${positionType}" is not supported (only "absolute")`)
  if (fields.boolean('is_decoder') === true) fields.fail('is_decoder', `is set; SiVA runs ${family} as an encoder only`)
  const hiddenSize = requiredSize(fields, config.hiddenSize, 'hidden_size', configLimits.hiddenSize)
  const numHeads = requiredSize(fields, config.numHeads, 'num_attention_heads', configLimits.numHeads)
  if (hiddenSize % numHeads !== 0) fields.fail('num_attention_heads', `must divide hidden_size (hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads})`)
  const padTokenId = fields.integer('pad_token_id') ?? familyDefaults[family]?.padTokenId ?? 0
  if (config.vocabSize !== undefined && padTokenId >= config.vocabSize) fields.invalid('pad_token_id', `must be less than the vocabulary's ${config.vocabSize} entries`)
  const hidden = fields.probability('hidden_dropout_prob') ?? 0.1
  return {
    family,
    hiddenSize,
    numLayers: requiredSize(fields, config.numLayers, 'num_hidden_layers', configLimits.numLayers),
    numHeads,
    intermediateSize: requiredSize(fields, config.intermediateSize, 'intermediate_size', configLimits.intermediateSize),
    layerNormEps: fields.positive('layer_norm_eps') ?? config.layerNormEps ?? 1e-12,
    activation: activationField(fields, config.activation, 'hidden_act', 'gelu'),
    padTokenId,
    initializerRange: fields.positive('initializer_range', 1) ?? 0.02,
    dropout: { hidden, attention: fields.probability('attention_probs_dropout_prob') ?? 0.1, classifier: fields.probability('classifier_dropout') ?? hidden }
  }
}

/**
 * The sizes config.json claims against the checkpoint's tensors (under `prefix`): layers, width, MLP
 * width; vocabulary, positions and token types when the file states them (the model sizes those
 * tables from the tensors themselves).
 */
export function checkEncoderTensors(config: ModelDescription, settings: EncoderSettings, tensors: readonly TensorInfo[], prefix: string): void {
  const fields = configFields(config)
  checkLayerCount(fields, tensors, 'num_hidden_layers', settings.numLayers, `${prefix}encoder.layer.`)
  const embeddings = `${prefix}embeddings`
  const words = `${embeddings}.word_embeddings.weight`
  const claims: SizeClaim[] = [
    { field: 'hidden_size', claimed: settings.hiddenSize, tensor: words, axis: 1 },
    { field: 'intermediate_size', claimed: settings.intermediateSize, tensor: `${prefix}encoder.layer.0.intermediate.dense.weight`, axis: 0 }
  ]
  if (fields.has('vocab_size') && config.vocabSize !== undefined) claims.push({ field: 'vocab_size', claimed: config.vocabSize, tensor: words, axis: 0 })
  if (fields.has('max_position_embeddings') && config.maxPositions !== undefined) {
    claims.push({ field: 'max_position_embeddings', claimed: config.maxPositions, tensor: `${embeddings}.position_embeddings.weight`, axis: 0 })
  }
  const types = fields.integer('type_vocab_size', configLimits.vocabSize)
  if (types !== undefined) claims.push({ field: 'type_vocab_size', claimed: types, tensor: `${embeddings}.token_type_embeddings.weight`, axis: 0 })
  checkSizeClaims(fields, tensors, claims)
}
