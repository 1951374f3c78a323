import type { ModelDescription, TensorInfo } from '../../io'
import { encoderLayerTargets, prefixFromConfig, prefixFromTensors } from '../bert'
import type { AdaptableLinear } from '../types'
import { checkDebertaTensors, debertaSettings, type DebertaSettings } from './settings'

/** The base model's attribute in DebertaV2For…: its tensors are `deberta.…`, or unprefixed in a bare DebertaV2Model. */
export const debertaPrefix = 'deberta'

/** The checkpoint's tensor prefix, 'deberta.' or '' (a bare DebertaV2Model), found as BERT's is. */
export function debertaTensorPrefix(tensors: readonly TensorInfo[], source: string): string {
  return prefixFromTensors(tensors, debertaPrefix, source)
}

/**
 * The six projections of every layer, in nn.Linear terms ([out, in], with bias): DisentangledSelfAttention's
 * query_proj, key_proj and value_proj, the attention output, and the MLP. With share_att_key (DeBERTa-v3)
 * query_proj and key_proj also project the relative embeddings, so adapting them changes both terms; the
 * separate pos_query_proj / pos_key_proj of share_att_key false are not targets (PEFT's "query_proj" does
 * not match them either: it matches names ending in ".query_proj"). Target names carry the `deberta.`
 * prefix whatever the checkpoint; with its tensors, config.json's sizes are checked against them first.
 */
export function debertaTargets(config: ModelDescription, tensors?: readonly TensorInfo[]): AdaptableLinear[] {
  const settings = debertaSettings(config)
  const prefix = tensors ? debertaTensorPrefix(tensors, 'the checkpoint') : prefixFromConfig(config, debertaPrefix, 'DebertaV2Model')
  if (tensors) checkDebertaTensors(config, settings, tensors, prefix)
  return layerTargets(settings, prefix)
}

/** The targets of every layer, their weights under `prefix` ('deberta.' or ''). */
export function layerTargets(settings: DebertaSettings, prefix: string): AdaptableLinear[] {
  return encoderLayerTargets(settings, debertaPrefix, prefix, { query: 'query_proj', key: 'key_proj', value: 'value_proj' })
}

/**
 * The default targets: query_proj and value_proj, PEFT 0.12's LoRA default for deberta-v2
 * (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING), which is what the SiVA/LoRA comparisons start
 * from. (query_proj, key_proj and value_proj together are PEFT's AdaLoRA mapping, which also adds every
 * "dense"; key_proj and the rest stay adaptable by pattern.)
 */
export const debertaQueryAndValue = /\.attention\.self\.(query_proj|value_proj)$/
