import type { ModelFamily } from '../types'
import { buildDebertaModel } from './model'
import { debertaPrefix, debertaQueryAndValue, debertaTargets } from './targets'

/**
 * What DebertaV2ForSequenceClassification holds besides the trained head: DebertaV2Model's embeddings and
 * encoder, and the pooler (`pooler.dense`, outside the prefix), which stays a frozen base weight when the
 * checkpoint has one and so must be kept. Another task's head (`lm_predictions.*`, `cls.*`, `mask_predictions.*`)
 * is not.
 */
const debertaClass = /^(deberta\.(embeddings|encoder)\.|pooler\.dense\.)/

export const debertaFamily: ModelFamily = {
  modelTypes: ['deberta-v2'],
  targets: debertaTargets,
  defaultTargets: debertaQueryAndValue,
  transformers: {
    basePrefix: debertaPrefix,
    architectures: { classification: 'DebertaV2ForSequenceClassification', regression: 'DebertaV2ForSequenceClassification' },
    classTensors: { classification: debertaClass, regression: debertaClass }
  },
  build: buildDebertaModel
}
