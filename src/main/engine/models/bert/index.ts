/**
 * The BERT family (transformers' BertForSequenceClassification), and the encoder RoBERTa shares with it.
 * See family.ts for the head, encoder.ts for the layers, targets.ts for names and the bare-model prefix.
 */
export { bertFamily, bertPositionIds } from './family'
export { loadEncoder, type Encoder, type PositionIds } from './encoder'
export { buildEncoderModel, EncoderModel, type EncoderFamilySpec, type EncoderHead, type HeadContext } from './model'
export { encoderSettings, type EncoderSettings } from './settings'
export { encoderLayerTargets, encoderTargets, prefixFromConfig, prefixFromTensors, queryAndValue, type AttentionNames } from './targets'
