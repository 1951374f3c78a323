import * as tf from '@tensorflow/tfjs'
import { useTensors, type ModelDescription, type TensorSource } from '../../io'
import { headLinear } from '../bert/weights'
import { attention, embed, layerNorm } from '../ops'
import type { BuildOptions, BuiltModel, LinearFn, ModelInputs } from '../types'
import { CheckpointWeights } from '../weights'
import { useSettings, useTargets, type UseSettings } from './targets'

/**
 * The Universal Sentence Encoder lite re-implemented from its frozen graph, op for op where it matters:
 *
 *   x₀ = 2·embedding(ids) + [sin(p·τ), cos(p·τ)]                   (τ: the graph's 128 timescales)
 *   layer l:  x ← R(x) + W_o·MHA(LN(x))                             (R = dense 256→512 in layer 0, else identity)
 *             x ← x + conv2(ReLU(conv1(LN(x))))
 *   e = l2normalize(tanh(W_p · mean over real positions of x + b_p))
 *
 * The embedding counts twice: the graph adds the timing signal to the embeddings and then adds that sum
 * to the embeddings again. LayerNorms come before each sub-layer (ε = 1e-6), attention has 4 heads scaled by 1/√(head size), and
 * padding is masked out of attention and of the mean. The graph evaluates the feed-forward only at real
 * positions; here it runs everywhere, which changes nothing a real position sees. A classification or
 * regression head (new, as transformers initialises one) reads the embedding e.
 */

export const useHeadName = 'classifier'
/** transformers' default initializer_range, for the new head. */
const headInitStd = 0.02

interface UseLayer {
  normA: [tf.Tensor1D, tf.Tensor1D]
  q: LinearFn
  k: LinearFn
  v: LinearFn
  output: LinearFn
  residual?: LinearFn
  normB: [tf.Tensor1D, tf.Tensor1D]
  conv1: LinearFn
  conv2: LinearFn
}

/**
 * The timing signal [sin(p·s) | cos(p·s)] for positions 0…length−1, [length, 2·scales], computed here in
 * float64 and rounded once: it is a constant, and WGSL's sin/cos may be off by 2⁻¹¹ (measured 1.9e-4 on
 * SwiftShader), which put the webgpu backend's embeddings 7e-4 from wasm's.
 */
function timingSignal(scales: Float32Array, length: number): tf.Tensor2D {
  const width = scales.length
  const values = new Float32Array(length * 2 * width)
  for (let p = 0; p < length; p++) {
    for (let j = 0; j < width; j++) {
      const angle = Math.fround(p * scales[j]!) // the product tf.mul formed in float32
      values[p * 2 * width + j] = Math.sin(angle)
      values[p * 2 * width + width + j] = Math.cos(angle)
    }
  }
  return tf.tensor2d(values, [length, 2 * width])
}

export class UseModel implements BuiltModel {
  constructor(
    private readonly settings: UseSettings,
    private readonly embeddings: tf.Tensor2D,
    private readonly timingScales: Float32Array,
    private readonly layers: UseLayer[],
    private readonly pool: LinearFn,
    private readonly classifier: LinearFn,
    private readonly loader: CheckpointWeights,
    readonly headVariables: tf.Variable[],
    readonly head: { created: boolean; tensors: string[] }
  ) {}

  get baseVariables(): tf.Variable[] {
    return this.loader.baseVariables
  }

  get baseTensors(): string[] {
    return this.loader.baseTensors
  }

  /** The sentence embedding e, [batch, 512], unit length. */
  embed(inputs: ModelInputs): tf.Tensor2D {
    const { batchSize: batch, inputIds, attentionMask } = inputs
    const length = inputs.length ?? (inputIds ? inputIds.length / batch : 0)
    if (!inputIds) throw new Error('use-lite: the batch has no input ids')
    const ids = tf.tensor2d(inputIds, [batch, length], 'int32')
    const mask = attentionMask ? tf.tensor2d(attentionMask, [batch, length], 'int32') : tf.ones([batch, length], 'int32')
    const eps = this.settings.layerNormEps
    const timing = timingSignal(this.timingScales, length)
    let x = tf.add(tf.mul(embed(this.embeddings, ids, this.loader.trainAll), 2), timing) as tf.Tensor3D
    const flat = (t: tf.Tensor3D): tf.Tensor2D => t.reshape([batch * length, t.shape[2]])
    const unflat = (t: tf.Tensor2D): tf.Tensor3D => t.reshape([batch, length, t.shape[1]])
    for (const layer of this.layers) {
      const normed = flat(layerNorm(x, layer.normA[0], layer.normA[1], eps) as tf.Tensor3D)
      const context = attention(unflat(layer.q(normed)), unflat(layer.k(normed)), unflat(layer.v(normed)), { heads: this.settings.numHeads, mask: mask as tf.Tensor2D })
      const attended = unflat(layer.output(flat(context)))
      x = tf.add(layer.residual ? unflat(layer.residual(flat(x))) : x, attended)
      const inner = tf.relu(layer.conv1(flat(layerNorm(x, layer.normB[0], layer.normB[1], eps) as tf.Tensor3D)))
      x = tf.add(x, unflat(layer.conv2(inner)))
    }
    const weights = tf.cast(mask, 'float32')
    const summed = tf.sum(tf.mul(x, weights.expandDims(2)), 1) as tf.Tensor2D
    const pooled = tf.div(summed, tf.maximum(tf.sum(weights, 1, true), 1)) as tf.Tensor2D
    const hidden = tf.tanh(this.pool(pooled))
    return tf.mul(hidden, tf.rsqrt(tf.maximum(tf.sum(tf.square(hidden), 1, true), 1e-12))) as tf.Tensor2D
  }

  forward(inputs: ModelInputs): tf.Tensor {
    return this.classifier(this.embed(inputs))
  }

  dispose(): void {
    this.loader.dispose()
    for (const variable of this.headVariables) variable.dispose()
    this.headVariables.length = 0
  }
}

export async function buildUseModel(source: TensorSource, config: ModelDescription, options: BuildOptions): Promise<UseModel> {
  if (options.task !== 'classification' && options.task !== 'regression') {
    throw new Error(`use-lite: task "${options.task}" is not supported; the sentence encoder does classification or regression`)
  }
  const numLabels = options.task === 'regression' ? 1 : (options.numLabels ?? config.numLabels)
  if (numLabels === undefined) throw new Error('use-lite: how many classes? The options do not say')
  if (options.task === 'classification' && numLabels < 2) throw new Error(`use-lite: classification needs at least 2 classes, got ${numLabels}`)
  const settings = useSettings(source.tensors, config)
  const targets = new Map(useTargets(settings).map((t) => [t.name, t]))
  const loader = new CheckpointWeights(source, options.trainAll ?? false)
  const headVariables: tf.Variable[] = []
  try {
    const linear = async (name: string): Promise<LinearFn> => {
      const adapted = options.linears?.get(name)
      if (adapted) return adapted
      return loader.conv1dLinear(targets.get(name)!)
    }
    const norm = async (block: number, where: 'attention' | 'ffn'): Promise<[tf.Tensor1D, tf.Tensor1D]> => {
      const width = where === 'attention' ? settings.inputWidths[block]! : settings.hiddenSize
      return [
        (await loader.read(useTensors.norm(block, where, 'scale'), [width], 'layer norm')) as tf.Tensor1D,
        (await loader.read(useTensors.norm(block, where, 'bias'), [width], 'layer norm')) as tf.Tensor1D
      ]
    }
    const layers: UseLayer[] = []
    for (let block = 0; block < settings.numLayers; block++) {
      const module = `encoder.layer.${block}`
      const inWidth = settings.inputWidths[block]!
      const layer: UseLayer = {
        normA: await norm(block, 'attention'),
        q: await linear(`${module}.attention.qkv.q`),
        k: await linear(`${module}.attention.qkv.k`),
        v: await linear(`${module}.attention.qkv.v`),
        output: await linear(`${module}.attention.output`),
        normB: await norm(block, 'ffn'),
        conv1: await linear(`${module}.ffn.conv1`),
        conv2: await linear(`${module}.ffn.conv2`)
      }
      if (inWidth !== settings.hiddenSize) {
        layer.residual = await loader.conv1dLinear({ name: `${module}.residual`, weightTensor: useTensors.residualKernel(block), biasTensor: useTensors.residualBias(block), inFeatures: inWidth, outFeatures: settings.hiddenSize })
      }
      layers.push(layer)
    }
    const embeddings = await loader.table(useTensors.embeddings, settings.inputWidths[0]!)
    const scales = await loader.values(useTensors.timingScales, [1, settings.inputWidths[0]! / 2], 'the timing signal')
    const pool = await loader.conv1dLinear({ name: 'pool', weightTensor: useTensors.poolKernel, biasTensor: useTensors.poolBias, inFeatures: settings.hiddenSize, outFeatures: settings.hiddenSize })
    loader.loaded()
    const made = await headLinear(loader, useHeadName, numLabels, settings.hiddenSize, headInitStd, options.seed ?? 0)
    headVariables.push(...made.variables)
    return new UseModel(settings, embeddings, scales, layers, pool, made.linear, loader, headVariables, { created: made.created, tensors: made.tensors })
  } catch (error) {
    loader.dispose()
    for (const variable of headVariables) variable.dispose()
    throw error
  }
}
