import * as tf from '@tensorflow/tfjs'
import type { ModelFamily } from '../types'
import type { PositionIds } from './encoder'
import { buildEncoderModel, type EncoderFamilySpec } from './model'
import { encoderTargets, prefixFromConfig, prefixFromTensors, queryAndValue } from './targets'

/** BertForSequenceClassification: BertModel with its pooler (the head reads the pooled [CLS]); no MLM head (`cls.*`). */
const bertClass = /^bert\.(embeddings|encoder|pooler)\./

/** BERT numbers positions 0..length-1 whatever the padding (transformers' position_ids buffer). */
export const bertPositionIds: PositionIds = (_ids, batch, length) => {
  const positions = new Int32Array(batch * length)
  for (let row = 0; row < batch; row++) for (let j = 0; j < length; j++) positions[row * length + j] = j
  return positions
}

/**
 * BertForSequenceClassification's head: the pooler (dense + tanh on the [CLS] position) then `classifier`.
 * The pooler belongs to the encoder: frozen like every base weight (PEFT trains only `classifier`), unless
 * the checkpoint lacks it (saved from BertForMaskedLM, say); then it is made new and trains with the head.
 */
const bertSpec: EncoderFamilySpec = {
  family: 'bert',
  headOutputTensor: 'classifier.weight',
  positionIds: bertPositionIds,
  async loadHead({ loader, settings, prefix, numLabels, linear }) {
    const size = settings.hiddenSize
    const pooler = `${prefix}pooler.dense`
    const storedPooler = loader.fits(`${pooler}.weight`, [size, size]) && loader.fits(`${pooler}.bias`, [size])
    const poolerDense = storedPooler
      ? await loader.linear(`${pooler}.weight`, `${pooler}.bias`, [size, size], pooler)
      : await linear(pooler, size, size)
    const classifier = await linear('classifier', numLabels, size)
    return { logits: (first, dropout) => classifier(dropout(tf.tanh(poolerDense(first)))) }
  }
}

export const bertFamily: ModelFamily = {
  modelTypes: ['bert'],
  targets: (config, tensors) => encoderTargets(config, 'bert', tensors ? prefixFromTensors(tensors, 'bert', 'the checkpoint') : prefixFromConfig(config, 'bert', 'BertModel'), tensors),
  defaultTargets: queryAndValue,
  transformers: { basePrefix: 'bert', architectures: { classification: 'BertForSequenceClassification', regression: 'BertForSequenceClassification' }, classTensors: { classification: bertClass, regression: bertClass } },
  build: (source, config, options) => buildEncoderModel(source, config, options, bertSpec)
}
