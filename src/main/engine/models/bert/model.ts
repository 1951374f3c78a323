import * as tf from '@tensorflow/tfjs'
import type { ModelDescription, TensorSource } from '../../io'
import { Dropout } from '../ops'
import type { BuildOptions, BuiltModel, LinearFn, ModelInputs } from '../types'
import { loadEncoder, type Encoder, type PositionIds } from './encoder'
import { checkEncoderTensors, encoderSettings, type EncoderSettings } from './settings'
import { prefixFromTensors } from './targets'
import { headLinear, WeightLoader } from './weights'

/**
 * One build for both encoder families: check the task, find the tensor prefix, load the encoder, let the
 * family load its head, and wrap it all in a model that frees everything it made.
 */

/** A sequence-classification head: logits from the first token's hidden state. */
export interface EncoderHead {
  /**
   * [batch, hidden] → [batch, numLabels]; `dropout` (training) with the classifier's rate where transformers
   * applies it, or with another rate given (DeBERTa's pooler has its own).
   */
  logits(first: tf.Tensor2D, dropout: (x: tf.Tensor2D, rate?: number) => tf.Tensor2D): tf.Tensor2D
}

/** What a family's head loader gets; `linear` makes a trainable head projection and keeps track of it. */
export interface HeadContext {
  source: TensorSource
  loader: WeightLoader
  settings: EncoderSettings
  /** The checkpoint's tensor prefix: 'bert.' or '' (bare model). */
  prefix: string
  numLabels: number
  linear(name: string, outFeatures: number, inFeatures: number): Promise<LinearFn>
}

export interface EncoderFamilySpec {
  family: string
  /** The tensor holding the head's output weight [numLabels, hidden], to fall back on for the label count. */
  headOutputTensor: string
  positionIds: PositionIds
  loadHead(context: HeadContext): Promise<EncoderHead>
}

/** Classes for classification (options, then config, then the checkpoint's head); 1 for regression. */
export function labelCount(spec: Pick<EncoderFamilySpec, 'family' | 'headOutputTensor'>, source: TensorSource, config: ModelDescription, options: BuildOptions): number {
  if (options.task === 'regression') {
    if (options.numLabels !== undefined && options.numLabels !== 1) throw new Error(`${spec.family}: regression predicts one value; numLabels ${options.numLabels} does not fit`)
    return 1
  }
  const stored = source.tensors.find((t) => t.name === spec.headOutputTensor)?.shape[0]
  const count = options.numLabels ?? config.numLabels ?? stored
  if (count === undefined) throw new Error(`${spec.family}: how many classes? Neither the options nor config.json (id2label/num_labels) say`)
  if (!Number.isInteger(count) || count < 2) throw new Error(`${spec.family}: classification needs at least 2 classes, got ${count}`)
  return count
}

export async function buildEncoderModel(source: TensorSource, config: ModelDescription, options: BuildOptions, spec: EncoderFamilySpec): Promise<BuiltModel> {
  if (options.task !== 'classification' && options.task !== 'regression') {
    throw new Error(`${spec.family}: task "${options.task}" is not supported; a ${spec.family} encoder does classification or regression`)
  }
  const settings = encoderSettings(config, spec.family)
  const numLabels = labelCount(spec, source, config, options)
  const prefix = prefixFromTensors(source.tensors, spec.family, source.source)
  checkEncoderTensors(config, settings, source.tensors, prefix)
  const loader = new WeightLoader(source, options.trainAll ?? false)
  const headVariables: tf.Variable[] = []
  const headTensors: string[] = []
  let created = false
  let seed = options.seed ?? 0
  try {
    const encoder = await loadEncoder(loader, config, settings, prefix, options, spec.positionIds)
    const head = await spec.loadHead({
      source,
      loader,
      settings,
      prefix,
      numLabels,
      async linear(name, outFeatures, inFeatures) {
        // Each new projection draws from its own seed, so adding one never changes another.
        const made = await headLinear(loader, name, outFeatures, inFeatures, settings.initializerRange, seed++)
        headVariables.push(...made.variables)
        headTensors.push(...made.tensors)
        created ||= made.created
        return made.linear
      }
    })
    const classifierDropout = settings.dropout.classifier
    return new EncoderModel(encoder, head, loader, headVariables, { created, tensors: headTensors }, classifierDropout)
  } catch (error) {
    loader.dispose()
    for (const variable of headVariables) variable.dispose()
    throw error
  }
}

/**
 * The built model. Besides the contract, `baseTensors[i]` names the checkpoint tensor `baseVariables[i]`
 * holds, and `headVariables[i]` is exported as `head.tensors[i]`; all in the checkpoint's layout.
 */
export class EncoderModel implements BuiltModel {
  constructor(
    private readonly encoder: Encoder,
    private readonly taskHead: EncoderHead,
    private readonly loader: WeightLoader,
    readonly headVariables: tf.Variable[],
    readonly head: { created: boolean; tensors: string[] },
    /** transformers' classifier_dropout, else hidden_dropout_prob. */
    private readonly classifierDropout: number
  ) {}

  get baseVariables(): tf.Variable[] {
    return this.loader.baseVariables
  }

  get baseTensors(): string[] {
    return this.loader.baseTensors
  }

  forward(inputs: ModelInputs): tf.Tensor {
    const dropout = new Dropout(inputs.dropoutSeed)
    const hidden = this.encoder.encode(inputs, dropout)
    const [batch, , size] = hidden.shape
    const first = hidden.slice([0, 0, 0], [batch, 1, size]).reshape([batch, size]) as tf.Tensor2D
    return this.taskHead.logits(first, (x, rate = this.classifierDropout) => dropout.apply(x, rate))
  }

  dispose(): void {
    this.loader.dispose()
    for (const variable of this.headVariables) variable.dispose()
    this.headVariables.length = 0
  }
}
