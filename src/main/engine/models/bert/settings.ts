import type { ModelDescription } from '../../io'

/**
 * What a BERT-like encoder's config.json says about its shape, with the config classes' defaults filled
 * in and checked once, so the rest of the family never meets an undefined field.
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
}

/** The config classes' defaults for the fields ModelDescription does not normalise. */
const familyDefaults: Record<string, { padTokenId: number }> = {
  bert: { padTokenId: 0 },
  roberta: { padTokenId: 1 }
}

export function encoderSettings(config: ModelDescription, family: string): EncoderSettings {
  const where = `${family} config`
  const need = (value: number | undefined, field: string): number => {
    if (value === undefined || !Number.isFinite(value) || value <= 0) throw new Error(`${where}: "${field}" is missing or not a positive number`)
    return value
  }
  const raw = config.raw
  const positionType = raw.position_embedding_type
  if (positionType !== undefined && positionType !== null && positionType !== 'absolute') {
    throw new Error(`${where}: position_embedding_type "${String(positionType)}" is not supported (only "absolute")`)
  }
  if (raw.is_decoder === true) throw new Error(`${where}: is_decoder is set; SiVA runs ${family} as an encoder only`)
  const hiddenSize = need(config.hiddenSize, 'hidden_size')
  const numHeads = need(config.numHeads, 'num_attention_heads')
  if (hiddenSize % numHeads !== 0) throw new Error(`${where}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`)
  const padTokenId = typeof raw.pad_token_id === 'number' ? raw.pad_token_id : (familyDefaults[family]?.padTokenId ?? 0)
  const initializerRange = typeof raw.initializer_range === 'number' ? raw.initializer_range : 0.02
  return {
    family,
    hiddenSize,
    numLayers: need(config.numLayers, 'num_hidden_layers'),
    numHeads,
    intermediateSize: need(config.intermediateSize, 'intermediate_size'),
    layerNormEps: need(config.layerNormEps, 'layer_norm_eps'),
    activation: config.activation ?? 'gelu',
    padTokenId,
    initializerRange
  }
}
