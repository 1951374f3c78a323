/**
 * Llama-style decoders: transformers' Llama, Mistral and Qwen2 families, one decoder with settings
 * (settings.ts), not three copies. Causal LM (*ForCausalLM) and classification / regression
 * (*ForSequenceClassification, pooled at each row's last real token, as GPT-2's). See model.ts for the
 * layers, rope.ts for rotary embeddings, targets.ts for PEFT's module names.
 */
import type { ModelFamily } from '../types'
import { buildDecoderModel } from './model'
import { decoderQueryAndValue, targetsFromConfig } from './targets'

/** The decoder's tensors (old checkpoints' rotary_emb.inv_freq buffers left out: transformers 4.44 no longer has them). */
const decoderClass = /^model\.(embed_tokens\.|norm\.|layers\.\d+\.(?!self_attn\.rotary_emb\.))/
/** *ForCausalLM adds lm_head.weight (not stored when tied: transformers drops the tied copy on save). */
const causalLmClass = new RegExp(`${decoderClass.source}|^lm_head\\.weight$`)

const architectures = (name: string) => ({ 'causal-lm': `${name}ForCausalLM`, classification: `${name}ForSequenceClassification`, regression: `${name}ForSequenceClassification` })

function family(modelType: 'llama' | 'mistral' | 'qwen2', name: string): ModelFamily {
  return {
    modelTypes: [modelType],
    targets: targetsFromConfig,
    defaultTargets: decoderQueryAndValue,
    transformers: { basePrefix: 'model', architectures: architectures(name), classTensors: { 'causal-lm': causalLmClass, classification: decoderClass, regression: decoderClass }, poolsAtPadId: true },
    build: (source, config, options) => buildDecoderModel(source, config, options)
  }
}

/** One family entry per model_type, since each loads as its own transformers classes; all three build the same decoder. */
export const llamaFamily = family('llama', 'Llama')
export const mistralFamily = family('mistral', 'Mistral')
export const qwen2Family = family('qwen2', 'Qwen2')

export { buildDecoderModel, DecoderModel } from './model'
export { inverseFrequencies, rotaryTables, RotaryEmbedding } from './rope'
export { decoderFamilies, decoderSettings, type DecoderFamily, type DecoderSettings, type RopeScaling } from './settings'
export { decoderProjections, decoderQueryAndValue, decoderTargets, prefixFromTensors as decoderPrefixFromTensors } from './targets'
