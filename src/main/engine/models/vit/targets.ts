import type { ModelDescription, TensorInfo } from '../../io'
import type { AdaptableLinear } from '../types'
import { checkVitTensors, vitSettings } from './settings'

/**
 * Where a ViT's weights live. ViTForImageClassification saves its encoder under `vit.` (and its head as
 * `classifier.*`); the bare ViTModel (google/vit-base-patch16-224-in21k, for instance) saves the same
 * tensors without the prefix. transformers adds or strips it on load, and so do we: target *names*
 * always carry it (module names of the model with its head, what PEFT's target_modules match); only
 * the tensor names follow the checkpoint.
 */
export const vitPrefix = 'vit.'

/** A tensor every ViT checkpoint has, to tell which naming it uses. */
const patchKernel = 'embeddings.patch_embeddings.projection.weight'

/** Before the tensors are listed: a config whose only architecture is the bare ViTModel means no prefix. */
export function prefixFromConfig(config: ModelDescription): string {
  const architectures = config.architectures ?? []
  return architectures.length > 0 && architectures.every((name) => name === 'ViTModel') ? '' : vitPrefix
}

/** From the tensor list, which is what counts: the prefix under which the patch kernel is found. */
export function prefixFromTensors(tensors: readonly TensorInfo[], source: string): string {
  const names = new Set(tensors.map((t) => t.name))
  if (names.has(`${vitPrefix}${patchKernel}`)) return vitPrefix
  if (names.has(patchKernel)) return ''
  throw new Error(`${source}: no tensor ${vitPrefix}${patchKernel} (nor ${patchKernel}, as a bare ViTModel saves it): not a ViT checkpoint`)
}

/** The six projections of every encoder layer, in nn.Linear terms ([out, in] storage); with the tensors, config.json checked against them first. */
export function vitTargets(config: ModelDescription, prefix: string, tensors?: readonly TensorInfo[]): AdaptableLinear[] {
  const settings = vitSettings(config)
  if (tensors) checkVitTensors(config, settings, tensors, prefix)
  const { numLayers, hiddenSize, intermediateSize, qkvBias } = settings
  const targets: AdaptableLinear[] = []
  for (let block = 0; block < numLayers; block++) {
    const module = `encoder.layer.${block}`
    const linear = (path: string, role: AdaptableLinear['role'], inFeatures: number, outFeatures: number, bias = true): AdaptableLinear => {
      const target: AdaptableLinear = {
        name: `${vitPrefix}${module}.${path}`,
        weightTensor: `${prefix}${module}.${path}.weight`,
        conv1d: false,
        outFeatures,
        inFeatures,
        block,
        role
      }
      if (bias) target.biasTensor = `${prefix}${module}.${path}.bias`
      return target
    }
    targets.push(
      linear('attention.attention.query', 'query', hiddenSize, hiddenSize, qkvBias),
      linear('attention.attention.key', 'key', hiddenSize, hiddenSize, qkvBias),
      linear('attention.attention.value', 'value', hiddenSize, hiddenSize, qkvBias),
      linear('attention.output.dense', 'attention.output', hiddenSize, hiddenSize),
      linear('intermediate.dense', 'mlp.in', hiddenSize, intermediateSize),
      linear('output.dense', 'mlp.out', intermediateSize, hiddenSize)
    )
  }
  return targets
}

/** PEFT's default target_modules for ViT: query and value. */
export const vitQueryAndValue = /\.attention\.attention\.(query|value)$/
