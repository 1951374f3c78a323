import { configLimits, type ModelDescription, type TensorInfo } from '../../io'
import { activationField, checkLayerCount, checkSizeClaims, configFields, requiredSize, type SizeClaim } from '../configChecks'

/**
 * What a DeBERTa-v2/v3 config.json says, with DebertaV2Config's defaults filled in and read the way
 * transformers' modelling code reads them (`max_relative_positions` < 1 means max_position_embeddings,
 * `pos_att_type` and `norm_rel_ebd` as "a|b" strings or lists), checked once. Every refusal names the
 * config.json file and the field. What SiVA does not run (the convolution of deberta-v2-xlarge's first
 * layer, a factorised embedding) is refused by name rather than computed wrongly.
 */
export interface DebertaSettings {
  hiddenSize: number
  numLayers: number
  numHeads: number
  intermediateSize: number
  layerNormEps: number
  activation: string
  padTokenId: number
  /** Absolute position embeddings added to the word embeddings (`position_biased_input`; DeBERTa-v3: false). */
  positionBiasedInput: boolean
  maxPositions: number
  /** Token type embeddings (`type_vocab_size`; 0 in DeBERTa-v3: none, and token type ids are ignored). */
  typeVocabSize: number
  /** Disentangled attention with relative positions (`relative_attention`). */
  relativeAttention: boolean
  /** The relative distance the log buckets reach (`max_relative_positions`, or max_position_embeddings when < 1). */
  maxRelativePositions: number
  /** `position_buckets` (DeBERTa-v3: 256); ≤ 0 means plain relative distances, no log buckets. */
  positionBuckets: number
  /**
   * How far relative positions reach: position_buckets when set, else max_relative_positions. The
   * relative embedding table has 2 · attentionSpan rows; an index is clamped into it.
   */
  attentionSpan: number
  /** Which disentangled terms are added to the content-to-content score. */
  contentToPosition: boolean
  positionToContent: boolean
  /** Relative positions projected by the attention's own query_proj / key_proj (`share_att_key`), else by pos_query_proj / pos_key_proj. */
  shareAttentionKey: boolean
  /** LayerNorm on the relative embeddings (`norm_rel_ebd` "layer_norm"). */
  normalizeRelativeEmbeddings: boolean
  poolerActivation: string
  initializerRange: number
  /**
   * Training dropout (StableDropout is plain dropout while training): `hidden_dropout_prob` (also on the
   * relative embeddings in each layer), `attention_probs_dropout_prob`, `pooler_dropout` (default 0)
   * on the pooled token, and `cls_dropout` before the classifier (hidden_dropout_prob when null).
   */
  dropout: { hidden: number; attention: number; pooler: number; classifier: number }
}

/** DebertaV2Config's defaults for the sizes ModelDescription leaves undefined when config.json omits them. */
const defaults = { hiddenSize: 1536, numLayers: 24, numHeads: 24, intermediateSize: 6144, maxPositions: 512, layerNormEps: 1e-7 }

/** `pos_att_type` / `norm_rel_ebd`: "p2c|c2p" (what DeBERTa's own configs write), a list, or absent. */
function namedParts(fields: ReturnType<typeof configFields>, key: string): string[] {
  const value = fields.raw[key]
  if (value === undefined || value === null) return []
  const parts = typeof value === 'string' ? value.split('|') : fields.stringList(key)!
  return parts.map((part) => part.trim().toLowerCase()).filter((part) => part !== '')
}

export function debertaSettings(config: ModelDescription): DebertaSettings {
  const fields = configFields(config)
  const hiddenSize = requiredSize(fields, config.hiddenSize ?? defaults.hiddenSize, 'hidden_size', configLimits.hiddenSize)
  const numHeads = requiredSize(fields, config.numHeads ?? defaults.numHeads, 'num_attention_heads', configLimits.numHeads)
  if (hiddenSize % numHeads !== 0) fields.fail('num_attention_heads', `must divide hidden_size (hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads})`)
  const headSize = fields.integer('attention_head_size', configLimits.hiddenSize)
  if (headSize !== undefined && headSize !== hiddenSize / numHeads) fields.fail('attention_head_size', `is ${headSize}; SiVA runs heads of hidden_size / num_attention_heads (${hiddenSize / numHeads}) only`)
  const embeddingSize = fields.integer('embedding_size', configLimits.hiddenSize)
  if (embeddingSize !== undefined && embeddingSize !== hiddenSize) fields.fail('embedding_size', `is ${embeddingSize}, not hidden_size ${hiddenSize}: embeddings projected by embed_proj are not supported`)
  const convKernel = fields.integer('conv_kernel_size', configLimits.hiddenSize)
  if (convKernel !== undefined && convKernel > 0) fields.fail('conv_kernel_size', `is ${convKernel}: the convolution layer after the first block (deberta-v2-xlarge's) is not supported`)
  const poolerSize = fields.integer('pooler_hidden_size', configLimits.hiddenSize)
  if (poolerSize !== undefined && poolerSize !== hiddenSize) fields.fail('pooler_hidden_size', `is ${poolerSize}; DebertaV2ForSequenceClassification's pooler reads the ${hiddenSize}-wide hidden state, so it must equal hidden_size`)

  const maxPositions = requiredSize(fields, config.maxPositions ?? defaults.maxPositions, 'max_position_embeddings', configLimits.maxPositions)
  const relativeAttention = fields.boolean('relative_attention') ?? false
  const maxRelative = fields.number('max_relative_positions') ?? -1
  if (!Number.isInteger(maxRelative) || maxRelative > configLimits.maxPositions) fields.invalid('max_relative_positions', 'must be a whole number (below 1: max_position_embeddings)')
  const maxRelativePositions = maxRelative < 1 ? maxPositions : maxRelative
  const buckets = fields.number('position_buckets') ?? -1
  if (!Number.isInteger(buckets) || buckets > configLimits.maxPositions) fields.invalid('position_buckets', 'must be a whole number (0 or below: no log buckets)')
  if (relativeAttention && buckets > 0) {
    // make_log_bucket_position divides by position_buckets / 2 and by log((max_relative_positions − 1) / (position_buckets / 2)).
    if (buckets < 2) fields.fail('position_buckets', `is ${buckets}; log buckets need at least 2`)
    const mid = Math.floor(buckets / 2)
    if ((maxRelativePositions - 1) / mid <= 1) {
      fields.fail('position_buckets', `is ${buckets}, so its log buckets start at ${mid}, but max_relative_positions (${maxRelativePositions}) − 1 must exceed that for them to be defined`)
    }
  }
  const attentionTypes = namedParts(fields, 'pos_att_type')
  for (const type of attentionTypes) {
    if (type !== 'c2p' && type !== 'p2c') fields.fail('pos_att_type', `names "${type}"; DeBERTa-v2 attention has "c2p" (content to position) and "p2c" (position to content)`)
  }
  const norms = namedParts(fields, 'norm_rel_ebd')
  for (const norm of norms) if (norm !== 'none' && norm !== 'layer_norm') fields.fail('norm_rel_ebd', `names "${norm}"; only "layer_norm" (or "none") is defined`)
  const padTokenId = fields.integer('pad_token_id') ?? 0
  if (config.vocabSize !== undefined && padTokenId >= config.vocabSize) fields.invalid('pad_token_id', `must be less than the vocabulary's ${config.vocabSize} entries`)
  const hidden = fields.probability('hidden_dropout_prob') ?? 0.1
  return {
    hiddenSize,
    numLayers: requiredSize(fields, config.numLayers ?? defaults.numLayers, 'num_hidden_layers', configLimits.numLayers),
    numHeads,
    intermediateSize: requiredSize(fields, config.intermediateSize ?? defaults.intermediateSize, 'intermediate_size', configLimits.intermediateSize),
    layerNormEps: fields.positive('layer_norm_eps') ?? defaults.layerNormEps,
    activation: activationField(fields, config.activation, 'hidden_act', 'gelu'),
    padTokenId,
    positionBiasedInput: fields.boolean('position_biased_input') ?? true,
    maxPositions,
    typeVocabSize: fields.integer('type_vocab_size', configLimits.vocabSize) ?? 0,
    relativeAttention,
    maxRelativePositions,
    positionBuckets: buckets,
    attentionSpan: buckets > 0 ? buckets : maxRelativePositions,
    contentToPosition: attentionTypes.includes('c2p'),
    positionToContent: attentionTypes.includes('p2c'),
    shareAttentionKey: fields.boolean('share_att_key') ?? false,
    normalizeRelativeEmbeddings: norms.includes('layer_norm'),
    poolerActivation: activationField(fields, fields.string('pooler_hidden_act'), 'pooler_hidden_act', 'gelu'),
    initializerRange: fields.positive('initializer_range', 1) ?? 0.02,
    dropout: {
      hidden,
      attention: fields.probability('attention_probs_dropout_prob') ?? 0.1,
      pooler: fields.probability('pooler_dropout') ?? 0,
      classifier: fields.probability('cls_dropout') ?? hidden
    }
  }
}

/**
 * The sizes config.json claims against the checkpoint's tensors (under `prefix`): layers, width, MLP
 * width, and the tables the config sizes — vocabulary (when stated), relative embeddings
 * (2 · position_buckets, or 2 · max_relative_positions), absolute positions and token types where the
 * config has them.
 */
export function checkDebertaTensors(config: ModelDescription, settings: DebertaSettings, tensors: readonly TensorInfo[], prefix: string): void {
  const fields = configFields(config)
  checkLayerCount(fields, tensors, 'num_hidden_layers', settings.numLayers, `${prefix}encoder.layer.`)
  const words = `${prefix}embeddings.word_embeddings.weight`
  const claims: SizeClaim[] = [
    { field: 'hidden_size', claimed: settings.hiddenSize, tensor: words, axis: 1 },
    { field: 'intermediate_size', claimed: settings.intermediateSize, tensor: `${prefix}encoder.layer.0.intermediate.dense.weight`, axis: 0 }
  ]
  if (fields.has('vocab_size') && config.vocabSize !== undefined) claims.push({ field: 'vocab_size', claimed: config.vocabSize, tensor: words, axis: 0 })
  if (settings.relativeAttention) {
    const field = settings.positionBuckets > 0 ? 'position_buckets' : fields.has('max_relative_positions') && (fields.number('max_relative_positions') ?? 0) >= 1 ? 'max_relative_positions' : 'max_position_embeddings'
    claims.push({ field, claimed: 2 * settings.attentionSpan, tensor: `${prefix}encoder.rel_embeddings.weight`, axis: 0, says: `${settings.attentionSpan} (a table of ${2 * settings.attentionSpan} relative embeddings)` })
  }
  if (settings.positionBiasedInput) claims.push({ field: 'max_position_embeddings', claimed: settings.maxPositions, tensor: `${prefix}embeddings.position_embeddings.weight`, axis: 0 })
  if (settings.typeVocabSize > 0) claims.push({ field: 'type_vocab_size', claimed: settings.typeVocabSize, tensor: `${prefix}embeddings.token_type_embeddings.weight`, axis: 0 })
  checkSizeClaims(fields, tensors, claims)
}
