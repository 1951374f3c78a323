/**
 * The ViT family (transformers' ViTForImageClassification). See model.ts for the layers and the head,
 * embeddings.ts for the patch embedding as a matmul, targets.ts for names and the bare-model prefix.
 */
import type { ModelFamily } from '../types'
import { buildVitModel } from './model'
import { prefixFromConfig, prefixFromTensors, vitQueryAndValue, vitTargets } from './targets'

/** ViTForImageClassification builds ViTModel without its pooler: `vit.pooler.*` has no place there. */
const vitClass = /^vit\.(embeddings|encoder|layernorm)\./

export const vitFamily: ModelFamily = {
  modelTypes: ['vit'],
  targets: (config, tensors) => vitTargets(config, tensors ? prefixFromTensors(tensors, 'the checkpoint') : prefixFromConfig(config), tensors),
  defaultTargets: vitQueryAndValue,
  transformers: { basePrefix: 'vit', architectures: { 'image-classification': 'ViTForImageClassification' }, classTensors: { 'image-classification': vitClass } },
  build: (source, config, options) => buildVitModel(source, config, options)
}

export { buildVitModel, VitModel } from './model'
export { vitSettings, type VitSettings } from './settings'
export { prefixFromConfig, prefixFromTensors, vitPrefix, vitQueryAndValue, vitTargets } from './targets'
