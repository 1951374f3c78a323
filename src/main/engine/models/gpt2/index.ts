/**
 * The GPT-2 family: transformers' GPT2LMHeadModel (causal LM) and GPT2ForSequenceClassification
 * (classification, regression). See model.ts for the blocks, ../decoder.ts for the two heads, targets.ts for
 * target names, the fused c_attn and the bare-model prefix, weights.ts for Conv1D loading.
 */
import type { ModelFamily } from '../types'
import { buildGpt2Model } from './model'
import { gpt2QueryAndValue, targetsFromConfig } from './targets'

/** GPT2Model's tensors (the `h.N.attn.bias` buffers of old checkpoints included, which transformers ignores quietly). */
const gpt2Class = /^transformer\.(wte|wpe|h\.\d+|ln_f)\./
/** GPT2LMHeadModel adds `lm_head.weight` (tied to wte; stored by some checkpoints). */
const gpt2LmClass = /^(transformer\.(wte|wpe|h\.\d+|ln_f)\.|lm_head\.weight$)/

export const gpt2Family: ModelFamily = {
  modelTypes: ['gpt2'],
  targets: targetsFromConfig,
  defaultTargets: gpt2QueryAndValue,
  transformers: { basePrefix: 'transformer', architectures: { 'causal-lm': 'GPT2LMHeadModel', classification: 'GPT2ForSequenceClassification', regression: 'GPT2ForSequenceClassification' }, classTensors: { 'causal-lm': gpt2LmClass, classification: gpt2Class, regression: gpt2Class }, poolsAtPadId: true },
  build: (source, config, options) => buildGpt2Model(source, config, options)
}

export { buildGpt2Model, Gpt2Model } from './model'
export { gpt2Settings, type Gpt2Settings } from './settings'
export { gpt2QueryAndValue, gpt2Targets, prefixFromConfig, prefixFromTensors, qkvSlices, transformerPrefix } from './targets'
