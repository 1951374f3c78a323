import * as tf from '@tensorflow/tfjs'
import type { ModelDescription, TensorSource } from '../../io'
import { checkTokenInputs, labelCount, languageModelHead, sequenceClassificationHead, type DecoderHead, type HeadSettings } from '../decoder'
import { activation, applyLinear, attention, Dropout, embed, rmsNorm } from '../ops'
import type { BuildOptions, BuiltModel, LinearFn, ModelInputs } from '../types'
import { CheckpointWeights } from '../weights'
import { RotaryEmbedding } from './rope'
import { checkDecoderTensors, decoderSettings, type DecoderSettings } from './settings'
import { decoderTargets, prefixFromTensors } from './targets'
import { cachedAttention, extendCache, type CachedDecoder, type CachedStep, type KvCache } from '../../generate/kvCache'

/**
 * transformers' LlamaModel / MistralModel / Qwen2Model (4.44, eager attention) in eval mode: token
 * embeddings, then per layer RMSNorm, self-attention with rotary q and k and grouped key/value heads
 * (causal, padding skipped, Mistral's sliding window), residual; RMSNorm, the SwiGLU MLP
 * down(act(gate(x)) · up(x)), residual; a final RMSNorm and the task head. Positions are 0..length−1
 * whatever the padding, as transformers numbers them when no position_ids are given.
 */

interface Layer {
  inputNorm: tf.Tensor1D
  query: LinearFn
  key: LinearFn
  value: LinearFn
  output: LinearFn
  postNorm: tf.Tensor1D
  gate: LinearFn
  up: LinearFn
  down: LinearFn
}

interface Decoder {
  tokens: tf.Tensor2D
  layers: Layer[]
  finalNorm: tf.Tensor1D
}

async function loadDecoder(weights: CheckpointWeights, settings: DecoderSettings, prefix: string, options: BuildOptions): Promise<Decoder> {
  const size = settings.hiddenSize
  const family = settings.family
  const tokens = await weights.table(`${prefix}embed_tokens.weight`, size)
  const targets = decoderTargets(settings, prefix)
  const known = new Set(targets.map((t) => t.name))
  for (const name of options.linears?.keys() ?? []) {
    if (!known.has(name)) throw new Error(`${family}: an adapted projection is named ${name}, which is not one of this model's targets (such as ${targets[0]?.name})`)
  }
  const linears = new Map<string, LinearFn>()
  for (const target of targets) {
    linears.set(target.name, options.linears?.get(target.name) ?? (await weights.linear(target.weightTensor, target.biasTensor, [target.outFeatures, target.inFeatures], target.name)))
  }
  const norm = async (name: string): Promise<tf.Tensor1D> => (await weights.read(`${name}.weight`, [size], name)) as tf.Tensor1D
  const layers: Layer[] = []
  for (let i = 0; i < settings.numLayers; i++) {
    const get = (path: string): LinearFn => linears.get(`model.layers.${i}.${path}`)!
    const stored = `${prefix}layers.${i}`
    layers.push({
      inputNorm: await norm(`${stored}.input_layernorm`),
      query: get('self_attn.q_proj'),
      key: get('self_attn.k_proj'),
      value: get('self_attn.v_proj'),
      output: get('self_attn.o_proj'),
      postNorm: await norm(`${stored}.post_attention_layernorm`),
      gate: get('mlp.gate_proj'),
      up: get('mlp.up_proj'),
      down: get('mlp.down_proj')
    })
  }
  const finalNorm = await norm(`${prefix}norm`)
  weights.loaded()
  return { tokens, layers, finalNorm }
}

export async function buildDecoderModel(source: TensorSource, config: ModelDescription, options: BuildOptions): Promise<DecoderModel> {
  const settings = decoderSettings(config)
  const task = options.task
  if (task !== 'causal-lm' && task !== 'classification' && task !== 'regression') {
    throw new Error(`${settings.family}: task "${task}" is not supported; a ${settings.family} model does causal-lm, classification or regression`)
  }
  const prefix = prefixFromTensors(source.tensors, source.source)
  checkDecoderTensors(config, settings, source.tensors, prefix)
  const weights = new CheckpointWeights(source, options.trainAll ?? false)
  const headSettings: HeadSettings = { family: settings.family, hiddenSize: settings.hiddenSize, initializerRange: settings.initializerRange }
  let head: DecoderHead | undefined
  try {
    const decoder = await loadDecoder(weights, settings, prefix, options)
    if (task === 'causal-lm') {
      head = await languageModelHead(weights, decoder.tokens, settings.tieWordEmbeddings, headSettings, options.lossChunkTokens)
    } else {
      const numLabels = labelCount(task, options, config.numLabels, weights.shapeOf('score.weight')?.[0], settings.family)
      head = await sequenceClassificationHead(weights, numLabels, headSettings, options)
    }
    return new DecoderModel(decoder, head, weights, settings)
  } catch (error) {
    weights.dispose()
    for (const variable of head?.variables ?? []) variable.dispose()
    throw error
  }
}

/**
 * The built model; `baseTensors[i]` names the checkpoint tensor `baseVariables[i]` holds and
 * `headVariables[i]` is exported as `head.tensors[i]`. Causal LM has no head variables: its head is the
 * (frozen) lm_head or tied embedding, trained only with trainAll.
 */
export class DecoderModel implements BuiltModel, CachedDecoder {
  readonly headVariables: tf.Variable[]
  readonly head: { created: boolean; tensors: string[] }
  private readonly activate: (x: tf.Tensor) => tf.Tensor
  private readonly rotary: RotaryEmbedding

  constructor(
    private readonly decoder: Decoder,
    private readonly taskHead: DecoderHead,
    private readonly weights: CheckpointWeights,
    readonly settings: DecoderSettings
  ) {
    this.headVariables = taskHead.variables
    this.head = { created: taskHead.created, tensors: taskHead.tensors }
    const headLoss = taskHead.loss
    if (headLoss) this.loss = (inputs, labels) => headLoss(this.hiddenStates(inputs).hidden, labels)
    this.activate = activation(settings.activation)
    this.rotary = new RotaryEmbedding(settings)
  }

  get baseVariables(): tf.Variable[] {
    return this.weights.baseVariables
  }

  get baseTensors(): string[] {
    return this.weights.baseTensors
  }

  forward(inputs: ModelInputs): tf.Tensor {
    const { hidden, mask } = this.hiddenStates(inputs)
    return this.taskHead.logits(hidden, mask)
  }

  /** The causal-LM loss without the full logits (the LM head computes it in chunks); undefined for the other heads. */
  readonly loss?: (inputs: ModelInputs, labels: tf.Tensor) => tf.Scalar

  /** The final norm's output [batch, length, hidden], what the task head reads, and the attention mask. */
  private hiddenStates(inputs: ModelInputs): { hidden: tf.Tensor3D; mask: Int32Array | undefined } {
    const { tokens, layers, finalNorm } = this.decoder
    const settings = this.settings
    const { batch, length, ids, mask } = checkTokenInputs(inputs, tokens.shape[0], Infinity, settings.family)
    const eps = settings.rmsNormEps
    const dropout = new Dropout(inputs.dropoutSeed)
    let hidden = embed(tokens, tf.tensor2d(ids, [batch, length], 'int32'), this.weights.trainAll) as tf.Tensor3D
    // Without padding the mask changes nothing: leave it out and save the work.
    const padding = mask && mask.some((value) => value === 0) ? tf.tensor2d(mask, [batch, length], 'int32') : undefined
    const attentionOptions = {
      heads: settings.numHeads,
      kvHeads: settings.numKvHeads,
      headSize: settings.headDim,
      mask: padding,
      causal: true,
      maskedOnce: true,
      ...(settings.slidingWindow !== undefined && { window: settings.slidingWindow }),
      dropout: { stream: dropout, rate: settings.attentionDropout }
    }
    for (const layer of layers) {
      const normed = rmsNorm(hidden, layer.inputNorm, eps)
      const q = this.rotary.apply(applyLinear(layer.query, normed) as tf.Tensor3D, settings.numHeads)
      const k = this.rotary.apply(applyLinear(layer.key, normed) as tf.Tensor3D, settings.numKvHeads)
      const v = applyLinear(layer.value, normed) as tf.Tensor3D
      hidden = tf.add(hidden, applyLinear(layer.output, attention(q, k, v, attentionOptions)))
      const mlpIn = rmsNorm(hidden, layer.postNorm, eps)
      const inner = tf.mul(this.activate(applyLinear(layer.gate, mlpIn)), applyLinear(layer.up, mlpIn))
      hidden = tf.add(hidden, applyLinear(layer.down, inner))
    }
    hidden = rmsNorm(hidden, finalNorm, eps) as tf.Tensor3D
    return { hidden, mask }
  }

  /** Rotary positions have no table to run out of; transformers sets no hard limit either. */
  readonly maxPositions = Infinity

  /**
   * Incremental decoding (causal LM, one sequence, no dropout): `ids` at positions cache.length…, q and k
   * rotated at those absolute positions, keys and values appended to the cache's (all of them kept: Mistral's
   * window is a mask here, as in transformers' DynamicCache), the last one's logits. Equals forward() over
   * the whole sequence at its last position.
   */
  forwardCached(ids: readonly number[], cache?: KvCache): CachedStep {
    const { tokens, layers, finalNorm } = this.decoder
    const settings = this.settings
    const start = cache?.length ?? 0
    const { length } = checkTokenInputs({ batchSize: 1, inputIds: Int32Array.from(ids) }, tokens.shape[0], Infinity, settings.family)
    const eps = settings.rmsNormEps
    const attentionOptions = {
      heads: settings.numHeads,
      kvHeads: settings.numKvHeads,
      headSize: settings.headDim,
      start,
      ...(settings.slidingWindow !== undefined && { window: settings.slidingWindow })
    }
    return tf.tidy(() => {
      let hidden = embed(tokens, tf.tensor2d([...ids], [1, length], 'int32'), false) as tf.Tensor3D
      const keys: tf.Tensor3D[] = []
      const values: tf.Tensor3D[] = []
      layers.forEach((layer, i) => {
        const normed = rmsNorm(hidden, layer.inputNorm, eps)
        const q = this.rotary.apply(applyLinear(layer.query, normed) as tf.Tensor3D, settings.numHeads, start)
        const k = this.rotary.apply(applyLinear(layer.key, normed) as tf.Tensor3D, settings.numKvHeads, start)
        const all = extendCache(cache, i, k, applyLinear(layer.value, normed) as tf.Tensor3D)
        keys.push(all.keys)
        values.push(all.values)
        hidden = tf.add(hidden, applyLinear(layer.output, cachedAttention(q, all.keys, all.values, attentionOptions)))
        const mlpIn = rmsNorm(hidden, layer.postNorm, eps)
        hidden = tf.add(hidden, applyLinear(layer.down, tf.mul(this.activate(applyLinear(layer.gate, mlpIn)), applyLinear(layer.up, mlpIn))))
      })
      const last = tf.slice(hidden, [0, length - 1, 0], [1, 1, hidden.shape[2]])
      const logits = this.taskHead.logits(rmsNorm(last, finalNorm, eps) as tf.Tensor3D, undefined)
      if (logits.rank !== 3) throw new Error(`${settings.family}: generation needs the causal-lm model (this one was built for classification or regression)`)
      return { logits: logits.reshape([-1]) as tf.Tensor1D, cache: { keys, values, length: start + length } }
    })
  }

  dispose(): void {
    this.weights.dispose()
    for (const variable of this.headVariables) variable.dispose()
    this.headVariables.length = 0
  }
}
