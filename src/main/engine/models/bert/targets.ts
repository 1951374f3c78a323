import type { ModelDescription, TensorInfo } from '../../io'
import type { AdaptableLinear } from '../types'
import { checkEncoderTensors, encoderSettings } from './settings'

/**
 * Where an encoder's weights live. A checkpoint saved from a model with a head (BertForSequenceClassification,
 * BertForMaskedLM, ...) names them `bert.encoder...`; one saved from the bare BertModel (sentence-transformers
 * models, for instance) has no prefix: `encoder...`. transformers adds or strips the prefix on load, and so
 * do we: target *names* always carry it (they are module names of the model with its head, what PEFT's
 * target_modules match), only the tensor names follow the checkpoint.
 */
export function tensorPrefix(family: string, bare: boolean): string {
  return bare ? '' : `${family}.`
}

/** Before the tensors are listed: a config whose only architecture is the bare model (BertModel) means no prefix. */
export function prefixFromConfig(config: ModelDescription, family: string, bareArchitecture: string): string {
  const architectures = config.architectures ?? []
  return tensorPrefix(family, architectures.length > 0 && architectures.every((name) => name === bareArchitecture))
}

/** From the tensor list, which is what counts: the prefix under which the word embeddings are found. */
export function prefixFromTensors(tensors: readonly TensorInfo[], family: string, source: string): string {
  const names = new Set(tensors.map((t) => t.name))
  const embeddings = 'embeddings.word_embeddings.weight'
  if (names.has(`${family}.${embeddings}`)) return `${family}.`
  if (names.has(embeddings)) return ''
  throw new Error(`${source}: no tensor ${family}.${embeddings} (nor ${embeddings}, as a bare ${family} model saves it): not a ${family} checkpoint`)
}

/**
 * The six projections of every encoder layer, in nn.Linear terms ([out, in] storage, with bias). With the
 * checkpoint's tensors, config.json's sizes are checked against them first.
 */
export function encoderTargets(config: ModelDescription, family: string, prefix: string, tensors?: readonly TensorInfo[]): AdaptableLinear[] {
  const settings = encoderSettings(config, family)
  if (tensors) checkEncoderTensors(config, settings, tensors, prefix)
  return encoderLayerTargets(settings, family, prefix)
}

/** How an encoder layer names its attention projections: BERT's `query`, DeBERTa's `query_proj`, … */
export interface AttentionNames {
  query: string
  key: string
  value: string
}

/**
 * The six projections of each of `numLayers` BERT-style encoder layers (`encoder.layer.N.attention.self.…`,
 * `attention.output.dense`, `intermediate.dense`, `output.dense`), named `<family>.encoder…` and stored
 * under `prefix` ('bert.' or '' for a bare checkpoint).
 */
export function encoderLayerTargets(settings: { numLayers: number; hiddenSize: number; intermediateSize: number }, family: string, prefix: string, names: AttentionNames = { query: 'query', key: 'key', value: 'value' }): AdaptableLinear[] {
  const { numLayers, hiddenSize, intermediateSize } = settings
  const targets: AdaptableLinear[] = []
  for (let block = 0; block < numLayers; block++) {
    const module = `encoder.layer.${block}`
    const linear = (path: string, role: AdaptableLinear['role'], inFeatures: number, outFeatures: number): AdaptableLinear => ({
      name: `${family}.${module}.${path}`,
      weightTensor: `${prefix}${module}.${path}.weight`,
      biasTensor: `${prefix}${module}.${path}.bias`,
      conv1d: false,
      outFeatures,
      inFeatures,
      block,
      role
    })
    targets.push(
      linear(`attention.self.${names.query}`, 'query', hiddenSize, hiddenSize),
      linear(`attention.self.${names.key}`, 'key', hiddenSize, hiddenSize),
      linear(`attention.self.${names.value}`, 'value', hiddenSize, hiddenSize),
      linear('attention.output.dense', 'attention.output', hiddenSize, hiddenSize),
      linear('intermediate.dense', 'mlp.in', hiddenSize, intermediateSize),
      linear('output.dense', 'mlp.out', intermediateSize, hiddenSize)
    )
  }
  return targets
}

/** PEFT's default target_modules for BERT and RoBERTa: query and value. */
export const queryAndValue = /\.attention\.self\.(query|value)$/
