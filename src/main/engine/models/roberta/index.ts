/** The RoBERTa family (transformers' RobertaForSequenceClassification), on the encoder shared with BERT. */
export { robertaFamily } from './family'
export { robertaPositionIds } from './positions'
