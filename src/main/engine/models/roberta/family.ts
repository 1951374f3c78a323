import * as tf from '@tensorflow/tfjs'
import type { ModelDescription, TensorSource } from '../../io'
import { buildEncoderModel, encoderSettings, encoderTargets, prefixFromConfig, prefixFromTensors, queryAndValue, type EncoderFamilySpec } from '../bert'
import type { BuildOptions, BuiltModel, ModelFamily } from '../types'
import { robertaPositionIds } from './positions'

/**
 * RoBERTa is BERT's encoder with other position ids (numbered from pad_token_id + 1) and, in
 * RobertaForSequenceClassification, its own head on the <s> token: `classifier.dense` + tanh, then
 * `classifier.out_proj` (no pooler; dropout before each, while training). Both head projections train.
 */
function robertaSpec(paddingIdx: number): EncoderFamilySpec {
  return {
    family: 'roberta',
    headOutputTensor: 'classifier.out_proj.weight',
    positionIds: robertaPositionIds(paddingIdx),
    async loadHead({ settings, numLabels, linear }) {
      const dense = await linear('classifier.dense', settings.hiddenSize, settings.hiddenSize)
      const outProj = await linear('classifier.out_proj', numLabels, settings.hiddenSize)
      return { logits: (first, dropout) => outProj(dropout(tf.tanh(dense(dropout(first))))) }
    }
  }
}

function build(source: TensorSource, config: ModelDescription, options: BuildOptions): Promise<BuiltModel> {
  return buildEncoderModel(source, config, options, robertaSpec(encoderSettings(config, 'roberta').padTokenId))
}

/** RobertaForSequenceClassification builds RobertaModel without its pooler, and has no `lm_head`. */
const robertaClass = /^roberta\.(embeddings|encoder)\./

export const robertaFamily: ModelFamily = {
  modelTypes: ['roberta'],
  targets: (config, tensors) => encoderTargets(config, 'roberta', tensors ? prefixFromTensors(tensors, 'roberta', 'the checkpoint') : prefixFromConfig(config, 'roberta', 'RobertaModel'), tensors),
  defaultTargets: queryAndValue,
  transformers: { basePrefix: 'roberta', architectures: { classification: 'RobertaForSequenceClassification', regression: 'RobertaForSequenceClassification' }, classTensors: { classification: robertaClass, regression: robertaClass } },
  build
}
