/**
 * The DeBERTa-v2/v3 family (transformers' DebertaV2ForSequenceClassification, model_type "deberta-v2"):
 * settings.ts reads config.json, relativePositions.ts the log buckets, encoder.ts the disentangled
 * attention, model.ts the pooler and classifier, targets.ts names and the bare-model prefix.
 */
export { debertaFamily } from './family'
export { logBucketPosition, relativePosition, relativeTableRows } from './relativePositions'
export { debertaSettings, type DebertaSettings } from './settings'
export { debertaQueryAndValue, debertaTargets } from './targets'
