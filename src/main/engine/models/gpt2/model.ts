import * as tf from '@tensorflow/tfjs'
import type { ModelDescription, TensorSource } from '../../io'
import { activation, applyLinear, attention, Dropout, embed, layerNorm } from '../ops'
import type { BuildOptions, BuiltModel, LinearFn, ModelInputs } from '../types'
import { checkTokenInputs, labelCount, languageModelHead, sequenceClassificationHead, type DecoderHead, type HeadSettings } from '../decoder'
import { checkGpt2Tensors, gpt2Settings, type Gpt2Settings } from './settings'
import { gpt2Targets, prefixFromTensors } from './targets'
import { CheckpointWeights } from '../weights'
import { cachedAttention, extendCache, type CachedDecoder, type CachedStep, type KvCache } from '../../generate/kvCache'

/**
 * transformers' GPT2Model in eval mode (dropout left out, in training too): token + learned position
 * embeddings (positions 0..length-1 whatever the padding, as transformers numbers them when no
 * position_ids are given), pre-LN blocks — ln_1, causal self-attention that also skips padding, residual;
 * ln_2, MLP with the config's activation, residual — then ln_f, and the task head.
 */

type Norm = [tf.Tensor1D, tf.Tensor1D]

interface Block {
  norm1: Norm
  query: LinearFn
  key: LinearFn
  value: LinearFn
  attentionOutput: LinearFn
  norm2: Norm
  mlpIn: LinearFn
  mlpOut: LinearFn
  /** Extra factor on the queries, for configs that scale attention scores differently (1 for GPT-2 itself). */
  queryScale: number
}

interface Transformer {
  tokens: tf.Tensor2D
  positions: tf.Tensor2D
  blocks: Block[]
  finalNorm: Norm
}

async function readNorm(weights: CheckpointWeights, module: string, size: number): Promise<Norm> {
  return [(await weights.read(`${module}.weight`, [size], module)) as tf.Tensor1D, (await weights.read(`${module}.bias`, [size], module)) as tf.Tensor1D]
}

/**
 * The factor on q that turns ops.attention's 1/√head_size into what the config asks for:
 * scale_attn_weights false drops the 1/√head_size, scale_attn_by_inverse_layer_idx adds 1/(block + 1).
 */
function queryScale(settings: Gpt2Settings, block: number): number {
  const headSize = settings.hiddenSize / settings.numHeads
  return (settings.scaleAttentionWeights ? 1 : Math.sqrt(headSize)) / (settings.scaleByInverseLayer ? block + 1 : 1)
}

async function loadTransformer(weights: CheckpointWeights, settings: Gpt2Settings, prefix: string, options: BuildOptions): Promise<Transformer> {
  const size = settings.hiddenSize
  const tokens = await weights.table(`${prefix}wte.weight`, size)
  const positions = await weights.table(`${prefix}wpe.weight`, size)
  const targets = gpt2Targets(settings, prefix)
  const known = new Set(targets.map((t) => t.name))
  for (const name of options.linears?.keys() ?? []) {
    if (!known.has(name)) throw new Error(`gpt2: an adapted projection is named ${name}, which is not one of this model's targets (such as ${targets[0]?.name})`)
  }
  const linears = new Map<string, LinearFn>()
  for (const target of targets) linears.set(target.name, options.linears?.get(target.name) ?? (await weights.conv1dLinear(target)))
  const blocks: Block[] = []
  for (let i = 0; i < settings.numLayers; i++) {
    const get = (path: string): LinearFn => linears.get(`transformer.h.${i}.${path}`)!
    const stored = `${prefix}h.${i}`
    blocks.push({
      norm1: await readNorm(weights, `${stored}.ln_1`, size),
      query: get('attn.c_attn.q'),
      key: get('attn.c_attn.k'),
      value: get('attn.c_attn.v'),
      attentionOutput: get('attn.c_proj'),
      norm2: await readNorm(weights, `${stored}.ln_2`, size),
      mlpIn: get('mlp.c_fc'),
      mlpOut: get('mlp.c_proj'),
      queryScale: queryScale(settings, i)
    })
  }
  const finalNorm = await readNorm(weights, `${prefix}ln_f`, size)
  weights.loaded()
  return { tokens, positions, blocks, finalNorm }
}

export async function buildGpt2Model(source: TensorSource, config: ModelDescription, options: BuildOptions): Promise<Gpt2Model> {
  const task = options.task
  if (task !== 'causal-lm' && task !== 'classification' && task !== 'regression') {
    throw new Error(`gpt2: task "${task}" is not supported; GPT-2 does causal-lm, classification or regression`)
  }
  const settings = gpt2Settings(config)
  const prefix = prefixFromTensors(source.tensors, source.source)
  checkGpt2Tensors(config, settings, source.tensors, prefix)
  const weights = new CheckpointWeights(source, options.trainAll ?? false)
  let head: DecoderHead | undefined
  const headSettings: HeadSettings = { family: 'gpt2', hiddenSize: settings.hiddenSize, initializerRange: settings.initializerRange }
  try {
    const transformer = await loadTransformer(weights, settings, prefix, options)
    if (task === 'causal-lm') {
      head = await languageModelHead(weights, transformer.tokens, config.tieWordEmbeddings, headSettings, options.lossChunkTokens)
    } else {
      const numLabels = labelCount(task, options, config.numLabels, weights.shapeOf('score.weight')?.[0])
      head = await sequenceClassificationHead(weights, numLabels, headSettings, options)
    }
    return new Gpt2Model(transformer, head, weights, settings)
  } catch (error) {
    weights.dispose()
    for (const variable of head?.variables ?? []) variable.dispose()
    throw error
  }
}

/**
 * The built model. `baseTensors[i]` names the checkpoint tensor `baseVariables[i]` holds and
 * `headVariables[i]` is exported as `head.tensors[i]`, all in the checkpoint's layout. Causal LM has no
 * head variables: its head is the (frozen) token embedding, trained only with trainAll.
 */
export class Gpt2Model implements BuiltModel, CachedDecoder {
  readonly headVariables: tf.Variable[]
  readonly head: { created: boolean; tensors: string[] }
  private readonly activate: (x: tf.Tensor) => tf.Tensor

  constructor(
    private readonly transformer: Transformer,
    private readonly taskHead: DecoderHead,
    private readonly weights: CheckpointWeights,
    private readonly settings: Gpt2Settings
  ) {
    this.headVariables = taskHead.variables
    this.head = { created: taskHead.created, tensors: taskHead.tensors }
    const headLoss = taskHead.loss
    if (headLoss) this.loss = (inputs, labels) => headLoss(this.hiddenStates(inputs).hidden, labels)
    this.activate = activation(settings.activation)
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
    const { tokens, positions, blocks, finalNorm } = this.transformer
    const { batch, length, ids, mask } = checkTokenInputs(inputs, tokens.shape[0], positions.shape[0], 'gpt2')
    const trainAll = this.weights.trainAll
    const eps = this.settings.layerNormEps
    const tokenEmbeddings = embed(tokens, tf.tensor2d(ids, [batch, length], 'int32'), trainAll)
    const positionEmbeddings = embed(positions, tf.range(0, length, 1, 'int32'), trainAll)
    const dropout = new Dropout(inputs.dropoutSeed)
    const { embeddings: embedDrop, attention: attnDrop, residual: residDrop } = this.settings.dropout
    let hidden = dropout.apply(tf.add(tokenEmbeddings, positionEmbeddings) as tf.Tensor3D, embedDrop)
    // Without padding the mask changes nothing: leave it out and save the work.
    const padding = mask && mask.some((value) => value === 0) ? tf.tensor2d(mask, [batch, length], 'int32') : undefined
    for (const block of blocks) {
      const normed = layerNorm(hidden, block.norm1[0], block.norm1[1], eps)
      let q = applyLinear(block.query, normed) as tf.Tensor3D
      if (block.queryScale !== 1) q = tf.mul(q, block.queryScale)
      const k = applyLinear(block.key, normed) as tf.Tensor3D
      const v = applyLinear(block.value, normed) as tf.Tensor3D
      const context = attention(q, k, v, { heads: this.settings.numHeads, mask: padding, causal: true, dropout: { stream: dropout, rate: attnDrop } })
      hidden = tf.add(hidden, dropout.apply(applyLinear(block.attentionOutput, context), residDrop))
      const inner = this.activate(applyLinear(block.mlpIn, layerNorm(hidden, block.norm2[0], block.norm2[1], eps)))
      hidden = tf.add(hidden, dropout.apply(applyLinear(block.mlpOut, inner), residDrop))
    }
    hidden = layerNorm(hidden, finalNorm[0], finalNorm[1], eps) as tf.Tensor3D
    return { hidden, mask }
  }

  get maxPositions(): number {
    return this.transformer.positions.shape[0]
  }

  /**
   * Incremental decoding (causal LM, one sequence, no dropout): `ids` at positions cache.length…, their
   * keys and values appended to the cache's, the last one's logits. Equals forward() over the whole
   * sequence at its last position.
   */
  forwardCached(ids: readonly number[], cache?: KvCache): CachedStep {
    const { tokens, positions, blocks, finalNorm } = this.transformer
    const start = cache?.length ?? 0
    const maxPositions = this.maxPositions
    if (start + ids.length > maxPositions) throw new Error(`gpt2: ${start + ids.length} tokens are more than the checkpoint's ${maxPositions} positions (n_positions)`)
    const { length } = checkTokenInputs({ batchSize: 1, inputIds: Int32Array.from(ids) }, tokens.shape[0], maxPositions, 'gpt2')
    const eps = this.settings.layerNormEps
    return tf.tidy(() => {
      const tokenEmbeddings = embed(tokens, tf.tensor2d([...ids], [1, length], 'int32'), false)
      const positionEmbeddings = embed(positions, tf.range(start, start + length, 1, 'int32'), false)
      let hidden = tf.add(tokenEmbeddings, positionEmbeddings) as tf.Tensor3D
      const keys: tf.Tensor3D[] = []
      const values: tf.Tensor3D[] = []
      blocks.forEach((block, i) => {
        const normed = layerNorm(hidden, block.norm1[0], block.norm1[1], eps)
        let q = applyLinear(block.query, normed) as tf.Tensor3D
        if (block.queryScale !== 1) q = tf.mul(q, block.queryScale)
        const all = extendCache(cache, i, applyLinear(block.key, normed) as tf.Tensor3D, applyLinear(block.value, normed) as tf.Tensor3D)
        keys.push(all.keys)
        values.push(all.values)
        const context = cachedAttention(q, all.keys, all.values, { heads: this.settings.numHeads, headSize: this.settings.hiddenSize / this.settings.numHeads, start })
        hidden = tf.add(hidden, applyLinear(block.attentionOutput, context))
        const inner = this.activate(applyLinear(block.mlpIn, layerNorm(hidden, block.norm2[0], block.norm2[1], eps)))
        hidden = tf.add(hidden, applyLinear(block.mlpOut, inner))
      })
      const last = tf.slice(hidden, [0, length - 1, 0], [1, 1, hidden.shape[2]])
      const logits = this.taskHead.logits(layerNorm(last, finalNorm[0], finalNorm[1], eps) as tf.Tensor3D, undefined)
      if (logits.rank !== 3) throw new Error('gpt2: generation needs the causal-lm model (this one was built for classification or regression)')
      return { logits: logits.reshape([-1]) as tf.Tensor1D, cache: { keys, values, length: start + length } }
    })
  }

  dispose(): void {
    this.weights.dispose()
    for (const variable of this.headVariables) variable.dispose()
    this.headVariables.length = 0
  }
}
