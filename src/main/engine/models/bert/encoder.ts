import * as tf from '@tensorflow/tfjs'
import type { ModelDescription } from '../../io'
import { activation, applyLinear, attention, Dropout, embed, layerNorm } from '../ops'
import type { AdaptableLinear, BuildOptions, LinearFn, ModelInputs } from '../types'
import type { EncoderSettings } from './settings'
import { encoderTargets, type AttentionNames } from './targets'
import type { WeightLoader } from './weights'

/**
 * The encoder BERT and RoBERTa share (transformers' BertModel without its pooler): embeddings (word +
 * position + token type, then LayerNorm) and post-LN layers — self-attention over the non-padding
 * positions, residual, LayerNorm; MLP with the config's activation, residual, LayerNorm. While training
 * (inputs.dropoutSeed), dropout where transformers puts it: after the embeddings' LayerNorm, on the
 * attention probabilities, and on each sub-layer's output before its residual.
 */

/** Position ids for [batch, length] input ids (row-major); the two families number positions differently. */
export type PositionIds = (inputIds: Int32Array, batch: number, length: number) => Int32Array

export interface Encoder {
  /** Hidden states [batch, length, hidden] of the last layer. Call inside tf.tidy or a gradient function. */
  encode(inputs: ModelInputs, dropout?: Dropout): tf.Tensor3D
}

/** One BERT-style encoder layer: q, k, v, the attention output and its LayerNorm, the MLP and its LayerNorm. */
export interface EncoderLayer {
  query: LinearFn
  key: LinearFn
  value: LinearFn
  attentionOutput: LinearFn
  attentionNorm: [tf.Tensor1D, tf.Tensor1D]
  intermediate: LinearFn
  output: LinearFn
  outputNorm: [tf.Tensor1D, tf.Tensor1D]
}

/**
 * The layers' weights for `targets` (encoderLayerTargets' six projections per layer, named
 * `<family>.encoder.layer.N.…`, stored under `prefix`): a method's wrapped linear where `linears` gives one,
 * else the checkpoint's own; and the two LayerNorms of each layer.
 */
export async function loadEncoderLayers(
  loader: WeightLoader,
  targets: readonly AdaptableLinear[],
  linears: BuildOptions['linears'],
  where: { family: string; prefix: string; numLayers: number; hiddenSize: number; names?: AttentionNames }
): Promise<EncoderLayer[]> {
  const projections = new Map<string, LinearFn>()
  for (const target of targets) {
    projections.set(target.name, linears?.get(target.name) ?? (await loader.linear(target.weightTensor, target.biasTensor!, [target.outFeatures, target.inFeatures], target.name)))
  }
  const names = where.names ?? { query: 'query', key: 'key', value: 'value' }
  const layers: EncoderLayer[] = []
  for (let i = 0; i < where.numLayers; i++) {
    const module = `${where.family}.encoder.layer.${i}`
    const stored = `${where.prefix}encoder.layer.${i}`
    const get = (path: string): LinearFn => projections.get(`${module}.${path}`)!
    layers.push({
      query: get(`attention.self.${names.query}`),
      key: get(`attention.self.${names.key}`),
      value: get(`attention.self.${names.value}`),
      attentionOutput: get('attention.output.dense'),
      attentionNorm: await readNorm(loader, `${stored}.attention.output.LayerNorm`, where.hiddenSize),
      intermediate: get('intermediate.dense'),
      output: get('output.dense'),
      outputNorm: await readNorm(loader, `${stored}.output.LayerNorm`, where.hiddenSize)
    })
  }
  return layers
}

/**
 * What a BERT-style layer does after self-attention: the output projection, dropout, the residual and
 * LayerNorm, then the MLP with its own dropout, residual and LayerNorm. `context` is [batch, length, hidden].
 */
export function afterAttention(layer: EncoderLayer, context: tf.Tensor, hidden: tf.Tensor3D, options: { act: (x: tf.Tensor) => tf.Tensor; dropout: Dropout; rate: number; eps: number }): tf.Tensor3D {
  const { act, dropout, rate, eps } = options
  const attended = tf.add(dropout.apply(applyLinear(layer.attentionOutput, context), rate), hidden)
  const normed = layerNorm(attended, layer.attentionNorm[0], layer.attentionNorm[1], eps) as tf.Tensor3D
  const output = tf.add(dropout.apply(applyLinear(layer.output, act(applyLinear(layer.intermediate, normed))), rate), normed)
  return layerNorm(output, layer.outputNorm[0], layer.outputNorm[1], eps) as tf.Tensor3D
}

/** LayerNorm's scale and shift, under today's names or the original checkpoints' gamma/beta. */
export async function readNorm(loader: WeightLoader, module: string, size: number): Promise<[tf.Tensor1D, tf.Tensor1D]> {
  const weight = loader.resolve([`${module}.weight`, `${module}.gamma`], module)
  const bias = loader.resolve([`${module}.bias`, `${module}.beta`], module)
  return [(await loader.read(weight, [size], module)) as tf.Tensor1D, (await loader.read(bias, [size], module)) as tf.Tensor1D]
}

export async function loadEncoder(
  loader: WeightLoader,
  config: ModelDescription,
  settings: EncoderSettings,
  prefix: string,
  options: BuildOptions,
  positionIds: PositionIds
): Promise<Encoder> {
  const { hiddenSize, numHeads, layerNormEps } = settings
  const trainAll = options.trainAll ?? false
  const words = await loader.table(`${prefix}embeddings.word_embeddings.weight`, hiddenSize)
  const positions = await loader.table(`${prefix}embeddings.position_embeddings.weight`, hiddenSize)
  const types = await loader.table(`${prefix}embeddings.token_type_embeddings.weight`, hiddenSize)
  const embeddingNorm = await readNorm(loader, `${prefix}embeddings.LayerNorm`, hiddenSize)
  const act = activation(settings.activation)

  const layers = await loadEncoderLayers(loader, encoderTargets(config, settings.family, prefix), options.linears, { family: settings.family, prefix, numLayers: settings.numLayers, hiddenSize })

  const limits = { vocab: words.shape[0], positions: positions.shape[0], types: types.shape[0] }
  const { hidden: hiddenDropout, attention: attentionDropout } = settings.dropout
  return {
    encode(inputs, dropout = new Dropout(inputs.dropoutSeed)) {
      const { batch, length, ids, mask, typeIds } = checkInputs(inputs, limits, settings.family)
      const positionValues = positionIds(ids, batch, length)
      const largest = positionValues.reduce((a, b) => Math.max(a, b), 0)
      if (largest >= limits.positions) {
        throw new Error(`${settings.family}: the sequence needs position ${largest} but the checkpoint has ${limits.positions} position embeddings (use shorter inputs)`)
      }
      const shape: [number, number] = [batch, length]
      const summed = tf.add(
        tf.add(embed(words, tf.tensor2d(ids, shape, 'int32'), trainAll), embed(positions, tf.tensor2d(positionValues, shape, 'int32'), trainAll)),
        embed(types, typeIds ? tf.tensor2d(typeIds, shape, 'int32') : tf.zeros(shape, 'int32'), trainAll)
      )
      let hidden = dropout.apply(layerNorm(summed, embeddingNorm[0], embeddingNorm[1], layerNormEps) as tf.Tensor3D, hiddenDropout)
      // Without padding the mask changes nothing: leave it out and save the work.
      const attentionMask = mask && mask.some((value) => value === 0) ? tf.tensor2d(mask, shape, 'int32') : undefined
      for (const layer of layers) {
        const q = applyLinear(layer.query, hidden) as tf.Tensor3D
        const k = applyLinear(layer.key, hidden) as tf.Tensor3D
        const v = applyLinear(layer.value, hidden) as tf.Tensor3D
        const context = attention(q, k, v, { heads: numHeads, mask: attentionMask, dropout: { stream: dropout, rate: attentionDropout } })
        hidden = afterAttention(layer, context, hidden, { act, dropout, rate: hiddenDropout, eps: layerNormEps })
      }
      return hidden
    }
  }
}

export interface CheckedInputs {
  batch: number
  length: number
  ids: Int32Array
  mask?: Int32Array
  typeIds?: Int32Array
}

/** Shapes and id ranges, checked before any tensor is made: an id past the table would read garbage or crash the backend. */
export function checkInputs(inputs: ModelInputs, limits: { vocab: number; types: number }, family: string): CheckedInputs {
  const ids = inputs.inputIds
  if (!ids) throw new Error(`${family}: the inputs have no inputIds (a text model needs token ids)`)
  const batch = inputs.batchSize
  const length = inputs.length ?? (batch > 0 ? ids.length / batch : 0)
  if (!Number.isInteger(length) || length < 1 || batch < 1 || ids.length !== batch * length) {
    throw new Error(`${family}: inputIds holds ${ids.length} ids, not batchSize ${batch} × length ${inputs.length ?? '?'}`)
  }
  const sameSize = (array: Int32Array | undefined, field: string): void => {
    if (array && array.length !== ids.length) throw new Error(`${family}: ${field} holds ${array.length} values, inputIds ${ids.length}`)
  }
  sameSize(inputs.attentionMask, 'attentionMask')
  sameSize(inputs.tokenTypeIds, 'tokenTypeIds')
  const outOfRange = (array: Int32Array, size: number): number | undefined => array.find((value) => value < 0 || value >= size)
  const badId = outOfRange(ids, limits.vocab)
  if (badId !== undefined) throw new Error(`${family}: token id ${badId} is outside the vocabulary (${limits.vocab} embeddings)`)
  const badType = inputs.tokenTypeIds ? outOfRange(inputs.tokenTypeIds, limits.types) : undefined
  if (badType !== undefined) throw new Error(`${family}: token type id ${badType} is outside the checkpoint's ${limits.types} token types`)
  return { batch, length, ids, mask: inputs.attentionMask, typeIds: inputs.tokenTypeIds }
}
