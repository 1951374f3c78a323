import type * as tf from '@tensorflow/tfjs'
import type { ModelDescription, TensorSource } from '../../io'
import { EncoderModel, labelCount } from '../bert/model'
import { headLinear, WeightLoader } from '../bert/weights'
import { activation } from '../ops'
import type { BuildOptions, BuiltModel, LinearFn } from '../types'
import { loadDebertaEncoder } from './encoder'
import { checkDebertaTensors, debertaSettings } from './settings'
import { debertaTensorPrefix } from './targets'

/**
 * DebertaV2ForSequenceClassification: the encoder, then ContextPooler on the first token (dropout at
 * pooler_dropout, `pooler.dense`, pooler_hidden_act) and `classifier` after dropout at cls_dropout. The
 * head's tensors sit outside the `deberta.` prefix. As for BERT, a stored pooler is a frozen base weight
 * (PEFT trains only `classifier`), and a checkpoint without one (a DebertaV2ForMaskedLM or a bare
 * DebertaV2Model, as the hub's deberta-v3-base is) gets a new pooler that trains with the head.
 */
export async function buildDebertaModel(source: TensorSource, config: ModelDescription, options: BuildOptions): Promise<BuiltModel> {
  if (options.task !== 'classification' && options.task !== 'regression') {
    throw new Error(`deberta-v2: task "${options.task}" is not supported; a DeBERTa encoder does classification or regression`)
  }
  const settings = debertaSettings(config)
  const numLabels = labelCount({ family: 'deberta-v2', headOutputTensor: 'classifier.weight' }, source, config, options)
  const prefix = debertaTensorPrefix(source.tensors, source.source)
  checkDebertaTensors(config, settings, source.tensors, prefix)
  const loader = new WeightLoader(source, options.trainAll ?? false)
  const headVariables: tf.Variable[] = []
  const headTensors: string[] = []
  let created = false
  let seed = options.seed ?? 0
  const newLinear = async (name: string, outFeatures: number, inFeatures: number): Promise<LinearFn> => {
    // Each new projection draws from its own seed, so adding one never changes another.
    const made = await headLinear(loader, name, outFeatures, inFeatures, settings.initializerRange, seed++)
    headVariables.push(...made.variables)
    headTensors.push(...made.tensors)
    created ||= made.created
    return made.linear
  }
  try {
    const encoder = await loadDebertaEncoder(loader, settings, prefix, options)
    const size = settings.hiddenSize
    const pooler = 'pooler.dense'
    const poolerDense =
      loader.fits(`${pooler}.weight`, [size, size]) && loader.fits(`${pooler}.bias`, [size])
        ? await loader.linear(`${pooler}.weight`, `${pooler}.bias`, [size, size], pooler)
        : await newLinear(pooler, size, size)
    const classifier = await newLinear('classifier', numLabels, size)
    loader.loaded()
    const poolerActivation = activation(settings.poolerActivation)
    const poolerDropout = settings.dropout.pooler
    const head = { logits: (first: tf.Tensor2D, dropout: (x: tf.Tensor2D, rate?: number) => tf.Tensor2D) => classifier(dropout(poolerActivation(poolerDense(dropout(first, poolerDropout))) as tf.Tensor2D)) }
    return new EncoderModel(encoder, head, loader, headVariables, { created, tensors: headTensors }, settings.dropout.classifier)
  } catch (error) {
    loader.dispose()
    for (const variable of headVariables) variable.dispose()
    throw error
  }
}
