import * as tf from '@tensorflow/tfjs'
import type { ModelDescription, TensorSource } from '../../io'
import { activation, applyLinear, attention, Dropout, layerNorm, matMul, readFloat32, seededNormal } from '../ops'
import type { BuildOptions, BuiltModel, LinearFn, ModelInputs } from '../types'
import { loadEmbeddings, type PatchEmbeddings } from './embeddings'
import { checkVitTensors, vitSettings, type VitSettings } from './settings'
import { prefixFromTensors, vitTargets } from './targets'
import { variableOf } from '../weights'
import { VitWeights } from './weights'

/**
 * transformers' ViTForImageClassification in eval mode: patch embeddings, pre-LN encoder layers
 * (layernorm_before → self-attention → residual; layernorm_after → MLP → residual), the final
 * `vit.layernorm`, and `classifier` on the [CLS] position; while training, dropout where transformers puts
 * it (after the embeddings, on attention probabilities, on each sub-layer's output; ViT's configs mostly
 * set it to 0). There is no pooler: ViTForImageClassification builds its ViTModel
 * without one, so a bare ViTModel checkpoint's pooler is ignored, as transformers ignores it.
 */

type Norm = [tf.Tensor1D, tf.Tensor1D]

interface Layer {
  normBefore: Norm
  query: LinearFn
  key: LinearFn
  value: LinearFn
  attentionOutput: LinearFn
  normAfter: Norm
  intermediate: LinearFn
  output: LinearFn
}

/** The head's tensors: ViTForImageClassification keeps `classifier` outside the `vit.` prefix. */
const headWeight = 'classifier.weight'
const headBias = 'classifier.bias'

/** Classes for image classification (options, then config, then the checkpoint's head); 1 for regression. */
function labelCount(source: TensorSource, config: ModelDescription, options: BuildOptions): number {
  if (options.task === 'regression') {
    if (options.numLabels !== undefined && options.numLabels !== 1) throw new Error(`vit: regression predicts one value; numLabels ${options.numLabels} does not fit`)
    return 1
  }
  const stored = source.tensors.find((t) => t.name === headWeight)?.shape[0]
  const count = options.numLabels ?? config.numLabels ?? stored
  if (count === undefined) throw new Error('vit: how many classes? Neither the options nor config.json (id2label/num_labels) say')
  if (!Number.isInteger(count) || count < 2) throw new Error(`vit: image classification needs at least 2 classes, got ${count}`)
  return count
}

async function readNorm(weights: VitWeights, module: string, size: number): Promise<Norm> {
  return [(await weights.read(`${module}.weight`, [size], module)) as tf.Tensor1D, (await weights.read(`${module}.bias`, [size], module)) as tf.Tensor1D]
}

export async function buildVitModel(source: TensorSource, config: ModelDescription, options: BuildOptions): Promise<VitModel> {
  if (options.task !== 'image-classification' && options.task !== 'regression') {
    throw new Error(`vit: task "${options.task}" is a text task; a ViT takes images and does image-classification (or regression)`)
  }
  const settings = vitSettings(config)
  const numLabels = labelCount(source, config, options)
  const prefix = prefixFromTensors(source.tensors, source.source)
  checkVitTensors(config, settings, source.tensors, prefix)
  const weights = new VitWeights(source, options.trainAll ?? false)
  const headVariables: tf.Variable[] = []
  try {
    const embeddings = await loadEmbeddings(weights, settings, prefix)
    const projections = new Map<string, LinearFn>()
    for (const target of vitTargets(config, prefix)) {
      const given = options.linears?.get(target.name)
      projections.set(target.name, given ?? (await weights.linear(target.weightTensor, target.biasTensor, [target.outFeatures, target.inFeatures], target.name)))
    }
    const layers: Layer[] = []
    for (let i = 0; i < settings.numLayers; i++) {
      const stored = `${prefix}encoder.layer.${i}`
      const get = (path: string): LinearFn => projections.get(`vit.encoder.layer.${i}.${path}`)!
      layers.push({
        normBefore: await readNorm(weights, `${stored}.layernorm_before`, settings.hiddenSize),
        query: get('attention.attention.query'),
        key: get('attention.attention.key'),
        value: get('attention.attention.value'),
        attentionOutput: get('attention.output.dense'),
        normAfter: await readNorm(weights, `${stored}.layernorm_after`, settings.hiddenSize),
        intermediate: get('intermediate.dense'),
        output: get('output.dense')
      })
    }
    const finalNorm = await readNorm(weights, `${prefix}layernorm`, settings.hiddenSize)

    // The checkpoint's classifier when it has one of this size, else a new one (see newHead).
    const fits = weights.fits(headWeight, [numLabels, settings.hiddenSize]) && weights.fits(headBias, [numLabels])
    const [weightValues, biasValues] = fits
      ? [await readFloat32(source, headWeight), await readFloat32(source, headBias)]
      : newHead(numLabels, settings, options.seed ?? 0)
    const weight = variableOf(weightValues, [numLabels, settings.hiddenSize])
    headVariables.push(weight)
    const bias = variableOf(biasValues, [numLabels])
    headVariables.push(bias)
    return new VitModel(settings, embeddings, layers, finalNorm, [weight as tf.Variable<tf.Rank.R2>, bias as tf.Variable<tf.Rank.R1>], weights, headVariables, {
      created: !fits,
      tensors: [headWeight, headBias]
    })
  } catch (error) {
    weights.dispose()
    for (const variable of headVariables) variable.dispose()
    throw error
  }
}

/**
 * A new classifier: weight normal(0, initializer_range) from the seed, zero bias. transformers' ViT draws
 * it from trunc_normal_(std=initializer_range), whose cut-off is ±2 in absolute terms — ±100σ at the
 * usual 0.02 — so the truncation never bites and a plain normal is the same distribution.
 */
function newHead(numLabels: number, settings: VitSettings, seed: number): [Float32Array, Float32Array] {
  return [seededNormal(numLabels * settings.hiddenSize, settings.initializerRange, seed), new Float32Array(numLabels)]
}

/**
 * The built model. Besides the contract, `baseTensors[i]` names the checkpoint tensor `baseVariables[i]`
 * holds (in the checkpoint's own shape), and `headVariables[i]` is exported as `head.tensors[i]`.
 */
export class VitModel implements BuiltModel {
  private readonly act: (x: tf.Tensor) => tf.Tensor

  constructor(
    private readonly settings: VitSettings,
    private readonly embeddings: PatchEmbeddings,
    private readonly layers: Layer[],
    private readonly finalNorm: Norm,
    private readonly classifier: [tf.Variable<tf.Rank.R2>, tf.Variable<tf.Rank.R1>],
    private readonly weights: VitWeights,
    readonly headVariables: tf.Variable[],
    readonly head: { created: boolean; tensors: string[] }
  ) {
    this.act = activation(settings.activation)
  }

  get baseVariables(): tf.Variable[] {
    return this.weights.baseVariables
  }

  get baseTensors(): string[] {
    return this.weights.baseTensors
  }

  forward(inputs: ModelInputs): tf.Tensor {
    const { hiddenSize, numHeads, layerNormEps } = this.settings
    const dropout = new Dropout(inputs.dropoutSeed)
    const rates = this.settings.dropout
    let hidden = dropout.apply(this.embeddings.embed(inputs), rates.hidden)
    for (const layer of this.layers) {
      const normed = layerNorm(hidden, layer.normBefore[0], layer.normBefore[1], layerNormEps) as tf.Tensor3D
      const q = applyLinear(layer.query, normed) as tf.Tensor3D
      const k = applyLinear(layer.key, normed) as tf.Tensor3D
      const v = applyLinear(layer.value, normed) as tf.Tensor3D
      const context = attention(q, k, v, { heads: numHeads, dropout: { stream: dropout, rate: rates.attention } })
      hidden = tf.add(dropout.apply(applyLinear(layer.attentionOutput, context), rates.hidden), hidden)
      const inner = this.act(applyLinear(layer.intermediate, layerNorm(hidden, layer.normAfter[0], layer.normAfter[1], layerNormEps)))
      hidden = tf.add(dropout.apply(applyLinear(layer.output, inner), rates.hidden), hidden)
    }
    const batch = hidden.shape[0]
    // Only the [CLS] position feeds the classifier: normalise that row alone (layer norm is per position).
    const first = hidden.slice([0, 0, 0], [batch, 1, hiddenSize]).reshape([batch, hiddenSize])
    const normed = layerNorm(first, this.finalNorm[0], this.finalNorm[1], layerNormEps)
    const [weight, bias] = this.classifier
    return tf.add(matMul(normed, tf.transpose(weight)), bias)
  }

  dispose(): void {
    this.weights.dispose()
    for (const variable of this.headVariables) variable.dispose()
    this.headVariables.length = 0
  }
}
