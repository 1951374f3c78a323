import { configLimits, type ModelDescription, type TensorInfo } from '../../io'
import { activationField, checkLayerCount, checkSizeClaims, configFields, requiredSize, type SizeClaim } from '../configChecks'

/**
 * What a Llama-style decoder's config.json says, for the three families that share one decoder here —
 * transformers' LlamaConfig, MistralConfig and Qwen2Config (4.44) — with each class's defaults filled in and
 * checked once. They differ only in settings: Qwen2 has biases on q/k/v, Mistral a sliding window and its own
 * head_dim, Llama optional biases (attention_bias, mlp_bias) and the llama3 rope scaling. Every refusal names
 * the config.json file and the field.
 */
export type DecoderFamily = 'llama' | 'mistral' | 'qwen2'

export const decoderFamilies: readonly DecoderFamily[] = ['llama', 'mistral', 'qwen2']

/** How rotary frequencies are set: transformers' ROPE_INIT_FUNCTIONS, the kinds SiVA computes. */
export type RopeScaling =
  | { type: 'default' }
  /** Positions divided by `factor` (equivalently, every frequency). */
  | { type: 'linear'; factor: number }
  /** Llama 3.1's: low frequencies divided by `factor`, high ones kept, a smooth blend between. */
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }

export interface DecoderSettings {
  family: DecoderFamily
  hiddenSize: number
  numLayers: number
  numHeads: number
  /** Grouped-query attention: key/value heads (num_key_value_heads; = numHeads when absent). */
  numKvHeads: number
  headDim: number
  intermediateSize: number
  rmsNormEps: number
  activation: string
  ropeTheta: number
  ropeScaling: RopeScaling
  maxPositions: number
  /** Which projections carry a bias: Qwen2's q/k/v always; Llama's attention_bias (all four) and mlp_bias. */
  bias: { query: boolean; key: boolean; value: boolean; output: boolean; mlp: boolean }
  /** Mistral: each position attends to at most this many (itself included); undefined: the whole prefix. */
  slidingWindow?: number
  /** The three config classes default to untied (Qwen2-0.5B and SmolLM2 set true). */
  tieWordEmbeddings: boolean
  initializerRange: number
  /** Training dropout on the attention probabilities (`attention_dropout`, 0 by default). */
  attentionDropout: number
}

const maxRopeTheta = 1e12

export function decoderSettings(config: ModelDescription): DecoderSettings {
  const fields = configFields(config)
  const family = config.modelType as DecoderFamily
  if (!decoderFamilies.includes(family)) fields.invalid('model_type', `must be one of ${decoderFamilies.join(', ')} for this decoder`)
  const hiddenSize = requiredSize(fields, fields.integer('hidden_size', configLimits.hiddenSize) ?? 4096, 'hidden_size', configLimits.hiddenSize)
  const numHeads = requiredSize(fields, fields.integer('num_attention_heads', configLimits.numHeads) ?? 32, 'num_attention_heads', configLimits.numHeads)
  const numKvHeads = requiredSize(fields, fields.integer('num_key_value_heads', configLimits.numHeads) ?? numHeads, 'num_key_value_heads', configLimits.numHeads)
  if (numHeads % numKvHeads !== 0) fields.fail('num_key_value_heads', `must divide num_attention_heads (${numHeads} is not a multiple of ${numKvHeads})`)
  // transformers 4.44 reads head_dim only for Mistral; Llama and Qwen2 take hidden_size / heads.
  const ownHeadDim = fields.integer('head_dim', configLimits.hiddenSize)
  let headDim: number
  if (family === 'mistral' && ownHeadDim !== undefined && ownHeadDim > 0) headDim = ownHeadDim
  else {
    if (hiddenSize % numHeads !== 0) fields.fail('num_attention_heads', `must divide hidden_size (${hiddenSize} is not a multiple of ${numHeads})`)
    headDim = hiddenSize / numHeads
    if (ownHeadDim !== undefined && ownHeadDim !== headDim) {
      fields.fail('head_dim', `says ${ownHeadDim}, but a ${family} model's heads are hidden_size / num_attention_heads = ${headDim} wide in transformers 4.44`)
    }
  }
  if (headDim % 2 !== 0) fields.fail(family === 'mistral' ? 'head_dim' : 'num_attention_heads', `gives heads ${headDim} wide; rotary embeddings need an even width`)
  const attentionBias = family === 'llama' ? (fields.boolean('attention_bias') ?? false) : false
  const qwen2 = family === 'qwen2'
  const settings: DecoderSettings = {
    family,
    hiddenSize,
    numLayers: requiredSize(fields, fields.integer('num_hidden_layers', configLimits.numLayers) ?? 32, 'num_hidden_layers', configLimits.numLayers),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: requiredSize(fields, fields.integer('intermediate_size', configLimits.intermediateSize) ?? defaultIntermediate(family), 'intermediate_size', configLimits.intermediateSize),
    rmsNormEps: fields.positive('rms_norm_eps', 1) ?? 1e-6,
    activation: activationField(fields, fields.string('hidden_act'), 'hidden_act', 'silu'),
    ropeTheta: fields.positive('rope_theta', maxRopeTheta) ?? 10000,
    ropeScaling: family === 'llama' ? ropeScaling(fields) : unscaledRope(fields, family),
    maxPositions: requiredSize(fields, fields.integer('max_position_embeddings', configLimits.maxPositions) ?? defaultPositions(family), 'max_position_embeddings', configLimits.maxPositions),
    bias: { query: qwen2 || attentionBias, key: qwen2 || attentionBias, value: qwen2 || attentionBias, output: attentionBias, mlp: family === 'llama' && (fields.boolean('mlp_bias') ?? false) },
    tieWordEmbeddings: fields.boolean('tie_word_embeddings') ?? false,
    initializerRange: fields.positive('initializer_range', 1) ?? 0.02,
    attentionDropout: fields.probability('attention_dropout') ?? 0
  }
  const window = slidingWindow(fields, family)
  if (window !== undefined) settings.slidingWindow = window
  return settings
}

function defaultIntermediate(family: DecoderFamily): number {
  return family === 'llama' ? 11008 : family === 'mistral' ? 14336 : 22016
}

function defaultPositions(family: DecoderFamily): number {
  return family === 'llama' ? 2048 : family === 'mistral' ? 4096 * 32 : 32768
}

/**
 * Mistral's sliding_window (MistralConfig's default 4096; null turns it off, as Mistral-7B-v0.2 on do). Qwen2
 * has one only with use_sliding_window, and transformers 4.44 applies it only in flash attention, never in
 * the eager and SDPA attention its reference runs: a Qwen2 config asking for it is refused rather than run
 * one way here and another there. Llama has none.
 */
function slidingWindow(fields: ReturnType<typeof configFields>, family: DecoderFamily): number | undefined {
  if (family === 'qwen2') {
    if (fields.boolean('use_sliding_window') === true) {
      fields.fail('use_sliding_window', 'is true; transformers applies a Qwen2 sliding window only with flash attention, so SiVA does not train such a config (set it to false)')
    }
    return undefined
  }
  if (family !== 'mistral') return undefined
  if (Object.hasOwn(fields.raw, 'sliding_window') && fields.raw['sliding_window'] === null) return undefined
  return requiredSize(fields, fields.integer('sliding_window', configLimits.maxPositions) ?? 4096, 'sliding_window', configLimits.maxPositions)
}

/**
 * transformers 4.44's Mistral and Qwen2 build their rotary embeddings from rope_theta alone: a rope_scaling in
 * their config.json is ignored there and applied by later versions, so a model with one would mean two
 * different things; it is refused, naming the field.
 */
function unscaledRope(fields: ReturnType<typeof configFields>, family: DecoderFamily): RopeScaling {
  if (fields.has('rope_scaling')) {
    fields.fail('rope_scaling', `is set; transformers 4.44 ignores rope_scaling for ${family} and later versions apply it, so SiVA does not guess which is meant (set it to null)`)
  }
  return { type: 'default' }
}

/**
 * `rope_scaling`: null, or an object naming its kind in `rope_type` (or the older `type`). SiVA computes
 * default, linear and llama3; the others (dynamic, yarn, longrope) change frequencies in ways it does not
 * reproduce yet, and are refused by name.
 */
function ropeScaling(fields: ReturnType<typeof configFields>): RopeScaling {
  if (!fields.has('rope_scaling') || fields.raw['rope_scaling'] === null) return { type: 'default' }
  const value = fields.object('rope_scaling')!
  const kind = value['rope_type'] ?? value['type']
  if (typeof kind !== 'string') fields.invalid('rope_scaling', 'must name its kind in "rope_type"')
  const number = (key: string, fallback?: number): number => {
    const found = value[key] ?? fallback
    if (typeof found !== 'number' || !Number.isFinite(found) || found <= 0) fields.invalid('rope_scaling', `needs a positive number "${key}" for rope_type ${kind}`)
    return found
  }
  switch (kind) {
    case 'default':
      return { type: 'default' }
    case 'linear':
      return { type: 'linear', factor: number('factor') }
    case 'llama3': {
      const lowFreqFactor = number('low_freq_factor')
      const highFreqFactor = number('high_freq_factor')
      if (!(highFreqFactor > lowFreqFactor)) fields.invalid('rope_scaling', `needs high_freq_factor above low_freq_factor (${highFreqFactor} ≤ ${lowFreqFactor})`)
      return { type: 'llama3', factor: number('factor'), lowFreqFactor, highFreqFactor, originalMaxPositions: number('original_max_position_embeddings') }
    }
    default:
      return fields.fail('rope_scaling', `has rope_type "${kind}"; SiVA computes default, linear and llama3 rotary embeddings`)
  }
}

/** The tensor prefix of the decoder's own weights: `model.` in *ForCausalLM / *ForSequenceClassification, '' in a bare *Model. */
export const decoderPrefix = 'model.'

/**
 * The sizes config.json claims against the checkpoint's tensors (under `prefix`): blocks, width, the
 * attention and MLP widths, the vocabulary when the file states it.
 */
export function checkDecoderTensors(config: ModelDescription, settings: DecoderSettings, tensors: readonly TensorInfo[], prefix: string): void {
  const fields = configFields(config)
  checkLayerCount(fields, tensors, 'num_hidden_layers', settings.numLayers, `${prefix}layers.`)
  const tokens = `${prefix}embed_tokens.weight`
  const layer = `${prefix}layers.0`
  const claims: SizeClaim[] = [
    { field: 'hidden_size', claimed: settings.hiddenSize, tensor: tokens, axis: 1 },
    { field: 'num_attention_heads', claimed: settings.numHeads * settings.headDim, tensor: `${layer}.self_attn.q_proj.weight`, axis: 0, says: `${settings.numHeads} heads of ${settings.headDim}, so q_proj gives ${settings.numHeads * settings.headDim} outputs` },
    { field: 'num_key_value_heads', claimed: settings.numKvHeads * settings.headDim, tensor: `${layer}.self_attn.k_proj.weight`, axis: 0, says: `${settings.numKvHeads} key/value heads of ${settings.headDim}, so k_proj gives ${settings.numKvHeads * settings.headDim} outputs` },
    { field: 'intermediate_size', claimed: settings.intermediateSize, tensor: `${layer}.mlp.gate_proj.weight`, axis: 0 }
  ]
  if (fields.has('vocab_size') && config.vocabSize !== undefined) claims.push({ field: 'vocab_size', claimed: config.vocabSize, tensor: tokens, axis: 0 })
  checkSizeClaims(fields, tensors, claims)
}
