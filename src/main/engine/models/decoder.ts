import * as tf from '@tensorflow/tfjs'
import { causalLmLoss, type OutputEmbedding } from './lmLoss'
import { matMul, seededNormal } from './ops'
import type { BuildOptions, ModelInputs, ModelTask } from './types'
import { variableOf, type CheckpointWeights } from './weights'

/**
 * What every decoder family shares (GPT-2, Llama/Mistral/Qwen2): the input checks and the two task heads.
 */

export interface CheckedInputs {
  batch: number
  length: number
  ids: Int32Array
  mask?: Int32Array
}

/**
 * Shapes and id ranges, checked before any tensor is made: an id past the table would read garbage or crash
 * the backend. `maxPositions` bounds the length for a family with learned positions (GPT-2); rotary families
 * pass Infinity, as transformers sets them no hard limit.
 */
export function checkTokenInputs(inputs: ModelInputs, vocab: number, maxPositions: number, family: string): CheckedInputs {
  const ids = inputs.inputIds
  if (!ids) throw new Error(`${family}: the inputs have no inputIds (a text model needs token ids)`)
  const batch = inputs.batchSize
  const length = inputs.length ?? (batch > 0 ? ids.length / batch : 0)
  if (!Number.isInteger(length) || length < 1 || batch < 1 || ids.length !== batch * length) {
    throw new Error(`${family}: inputIds holds ${ids.length} ids, not batchSize ${batch} × length ${inputs.length ?? '?'}`)
  }
  if (length > maxPositions) throw new Error(`${family}: sequences of ${length} tokens are longer than the checkpoint's ${maxPositions} positions (use shorter inputs)`)
  const mask = inputs.attentionMask
  if (mask && mask.length !== ids.length) throw new Error(`${family}: attentionMask holds ${mask.length} values, inputIds ${ids.length}`)
  const badId = ids.find((value) => value < 0 || value >= vocab)
  if (badId !== undefined) throw new Error(`${family}: token id ${badId} is outside the vocabulary (${vocab} embeddings)`)
  return { batch, length, ids, mask }
}

/**
 * The two task heads (GPT-2, Llama/Mistral/Qwen2). Causal LM: transformers'
 * *LMHeadModel / *ForCausalLM, whose lm_head is tied to the token embeddings (unless tie_word_embeddings is
 * false and the checkpoint has its own lm_head.weight). Classification and regression:
 * *ForSequenceClassification, a `score` linear without bias applied to the hidden state of each row's last
 * real token.
 */
export interface DecoderHead {
  /** hidden: [batch, length, hidden] after ln_f; mask: [batch·length] of 1/0 (absent: all real). */
  logits(hidden: tf.Tensor3D, mask: Int32Array | undefined): tf.Tensor
  /**
   * The task's loss from the same hidden states, where the head computes it without its full logits (the LM
   * head: chunked, see lmLoss.ts). Absent: the loss is taken from logits().
   */
  loss?(hidden: tf.Tensor3D, labels: tf.Tensor): tf.Scalar
  variables: tf.Variable[]
  tensors: string[]
  created: boolean
}

/**
 * x Wᵀ for a frozen W kept in both layouts: the forward pass multiplies by Wᵀ and the gradient by W, so
 * neither needs a transpose per step (for GPT-2's 50257-row vocabulary that transpose is the size of the
 * embedding table).
 */
function frozenProjection(weight: tf.Tensor2D, weightT: tf.Tensor2D): (x: tf.Tensor2D) => tf.Tensor2D {
  const project = tf.customGrad(((x: tf.Tensor2D) => ({
    value: tf.matMul(x, weightT),
    gradFunc: (dy: tf.Tensor2D) => [tf.matMul(dy, weight)]
  })) as unknown as Parameters<typeof tf.customGrad>[0])
  return project as unknown as (x: tf.Tensor2D) => tf.Tensor2D
}

/** What the heads need of a family's settings, and its name for messages. */
export interface HeadSettings {
  family: string
  hiddenSize: number
  /** Standard deviation of a new head's weights (`initializer_range`). */
  initializerRange: number
}

/** The LM head: logits [batch, length, vocab] from the tied (or the checkpoint's own) output embedding. */
export async function languageModelHead(weights: CheckpointWeights, tokenEmbeddings: tf.Tensor2D, tieWordEmbeddings: boolean, settings: HeadSettings, lossChunkTokens?: number): Promise<DecoderHead> {
  const [vocab] = tokenEmbeddings.shape
  let output = tokenEmbeddings
  // Tied, transformers overwrites any stored lm_head.weight with wte; untied, the stored one is the head.
  if (!tieWordEmbeddings) {
    if (!weights.shapeOf('lm_head.weight')) {
      throw new Error(`${weights.source.source}: config.json sets tie_word_embeddings to false but there is no tensor lm_head.weight to predict tokens with`)
    }
    output = (await weights.read('lm_head.weight', [vocab, settings.hiddenSize], 'the LM head')) as tf.Tensor2D
  }
  // Frozen (the usual case, also with SiVA), the output embedding is laid out transposed once; a variable
  // (full fine-tuning) is transposed as it runs, so its gradient reaches it.
  const outputEmbedding: OutputEmbedding = weights.trainAll ? { weight: output, trainable: true } : { weight: output, weightT: weights.keep(tf.transpose(output)), trainable: false }
  const project = outputEmbedding.weightT ? frozenProjection(output, outputEmbedding.weightT) : (x: tf.Tensor2D) => matMul(x, tf.transpose(output))
  return {
    logits(hidden) {
      const [batch, length, size] = hidden.shape
      return project(hidden.reshape([batch * length, size]) as tf.Tensor2D).reshape([batch, length, vocab])
    },
    loss(hidden, labels) {
      return causalLmLoss(hidden, labels, outputEmbedding, lossChunkTokens)
    },
    variables: [],
    tensors: [],
    created: false
  }
}

/** Classes for classification (options, then config, then the checkpoint's head); 1 for regression. */
export function labelCount(task: ModelTask, options: BuildOptions, configLabels: number | undefined, storedRows: number | undefined, family = 'gpt2'): number {
  if (task === 'regression') {
    if (options.numLabels !== undefined && options.numLabels !== 1) throw new Error(`${family}: regression predicts one value; numLabels ${options.numLabels} does not fit`)
    return 1
  }
  const count = options.numLabels ?? configLabels ?? storedRows
  if (count === undefined) throw new Error(`${family}: how many classes? Neither the options nor config.json (id2label/num_labels) say`)
  if (!Number.isInteger(count) || count < 2) throw new Error(`${family}: classification needs at least 2 classes, got ${count}`)
  return count
}

/**
 * [batch, 1, length] one-hot rows picking each row's last real token: the last position whose attention
 * mask is 1, or the last position when there is no mask.
 *
 * transformers finds that token from `pad_token_id` instead: older versions take the position before the
 * first pad id, newer ones the last non-pad id. With right padding and a pad id that never occurs in the
 * text the three agree. They differ where GPT-2 pads with its end-of-text token (pad = eos) and a row
 * ends in a real end-of-text token: the pad-id rule skips that token, the mask does not, since the mask
 * says what is padding. With left padding, the mask rule still finds the last token.
 */
export function lastTokenSelection(mask: Int32Array | undefined, batch: number, length: number, family = 'gpt2'): tf.Tensor3D {
  const selection = new Float32Array(batch * length)
  for (let row = 0; row < batch; row++) {
    let last = length - 1
    if (mask) {
      while (last >= 0 && mask[row * length + last] === 0) last--
      if (last < 0) throw new Error(`${family}: row ${row} of the batch has no token with attention mask 1`)
    }
    selection[row * length + last] = 1
  }
  return tf.tensor3d(selection, [batch, 1, length])
}

/**
 * *ForSequenceClassification's `score` ([numLabels, hidden], no bias): the checkpoint's own when it has
 * that shape, else new as transformers initialises it: normal(0, initializer_range) from the seed.
 */
export async function sequenceClassificationHead(weights: CheckpointWeights, numLabels: number, settings: HeadSettings, options: BuildOptions): Promise<DecoderHead> {
  const name = 'score.weight'
  const shape = [numLabels, settings.hiddenSize]
  const fits = weights.fits(name, shape)
  const values = fits ? await weights.values(name, shape, 'the classification head') : seededNormal(numLabels * settings.hiddenSize, settings.initializerRange, options.seed ?? 0)
  const score = variableOf(values, shape) as tf.Variable<tf.Rank.R2>
  return {
    logits(hidden, mask) {
      const [batch, length, size] = hidden.shape
      // A one-hot matmul rather than a gather: the wasm backend has no gradient for gather.
      const last = matMul(lastTokenSelection(mask, batch, length, settings.family), hidden).reshape([batch, size]) as tf.Tensor2D
      return matMul(last, tf.transpose(score))
    },
    variables: [score],
    tensors: [name],
    created: !fits
  }
}
