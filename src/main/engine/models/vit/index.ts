/**
 * The ViT family (transformers' ViTForImageClassification). See model.ts for the layers and the head,
 * embeddings.ts for the patch embedding as a matmul, targets.ts for names and the bare-model prefix.
 */
import type { ModelFamily } from '../types'
import { buildVitModel } from './model'
import { prefixFromConfig, prefixFromTensors, vitQueryAndValue, vitTargets } from './targets'

export const vitFamily: ModelFamily = {
  modelTypes: ['vit'],
  targets: (config, tensors) => vitTargets(config, tensors ? prefixFromTensors(tensors, 'the checkpoint') : prefixFromConfig(config), tensors),
  defaultTargets: vitQueryAndValue,
  transformers: { basePrefix: 'vit', architectures: { 'image-classification': 'ViTForImageClassification' } },
  build: (source, config, options) => buildVitModel(source, config, options)
}

export { buildVitModel, VitModel } from './model'
export { vitSettings, type VitSettings } from './settings'
export { prefixFromConfig, prefixFromTensors, vitPrefix, vitQueryAndValue, vitTargets } from './targets'
