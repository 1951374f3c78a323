import * as tf from '@tensorflow/tfjs'
import { transposedMatMulIsFast } from '../backend/fastMatMul'
import { geluExact } from '../backend/fastGelu'
import { requireFiniteWeights, type TensorInfo, type TensorSource } from '../io'
import type { AdaptableLinear, LinearFn } from './types'

/**
 * The building blocks every family shares, written once: weight loading in nn.Linear terms, a matmul whose
 * gradient stays fast on the wasm backend, layer norm, GELU in both of transformers' forms, multi-head
 * attention, and the losses.
 */

/** Swap the last two axes. */
function transposeLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i)
  const n = perm.length
  ;[perm[n - 2], perm[n - 1]] = [perm[n - 1]!, perm[n - 2]!]
  return tf.transpose(x, perm)
}

/**
 * a @ b for tensors of rank ≥ 2 (batched over the leading axes). Where a transposed product costs the same
 * as a plain one (our wasm kernel, the native backends) this is tf.matMul itself, whose gradient is computed
 * per input and only for inputs on the way to a trainable variable: a frozen weight costs no product in
 * the backward pass. On tfjs's own wasm matmul, whose transposed product is about 8× slower (measured), a
 * custom gradient multiplies by explicitly transposed operands instead (it cannot skip the frozen side).
 */
const customMatMul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b])
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [x, y] = saved as [tf.Tensor, tf.Tensor]
      return [tf.matMul(dy, transposeLast(y)), tf.matMul(transposeLast(x), dy)]
    }
  }
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as <T extends tf.Tensor>(a: T, b: tf.Tensor) => T

export function matMul<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  return transposedMatMulIsFast() ? (tf.matMul(a, b) as T) : customMatMul(a, b)
}

/** A linear's weight as the forward pass uses it: Wᵀ, [in, out] float32, plus its bias. */
export interface LinearWeights {
  weightT: Float32Array
  bias?: Float32Array
  inFeatures: number
  outFeatures: number
}

/** A target's weight exactly as the checkpoint holds it, in nn.Linear orientation: W [out, in] float64, plus its bias. */
export async function readTargetWeights(
  source: TensorSource,
  target: AdaptableLinear,
  read: (name: string) => Promise<Float64Array> = (name) => source.readFloat64(name)
): Promise<{ weight: Float64Array; bias?: Float64Array }> {
  const info = source.tensors.find((t) => t.name === target.weightTensor)
  if (!info) throw new Error(`${source.source}: no tensor ${target.weightTensor} (needed for ${target.name})`)
  const stored = await read(target.weightTensor)
  requireFiniteWeights(info, stored)
  // 1×1 convolution kernels ([1, 1, in, out]) are matrices with two unit axes in front.
  const leading = info.shape.slice(0, -2)
  if (info.shape.length < 2 || leading.some((size) => size !== 1)) throw new Error(`${target.weightTensor}: shape [${info.shape.join(', ')}] is not a matrix`)
  const [rows, cols] = info.shape.slice(-2) as [number, number]
  const { inFeatures, outFeatures } = target
  const [start] = target.slice ?? [0, outFeatures]
  const weight = new Float64Array(outFeatures * inFeatures)
  if (target.conv1d) {
    // Stored [in, total out]: take columns [start, start + out), transposed.
    if (rows !== inFeatures) throw new Error(`${target.weightTensor}: expected ${inFeatures} rows, found ${rows}`)
    for (let i = 0; i < inFeatures; i++) for (let o = 0; o < outFeatures; o++) weight[o * inFeatures + i] = stored[i * cols + start + o]!
  } else {
    // Stored [total out, in]: take rows [start, start + out).
    if (cols !== inFeatures) throw new Error(`${target.weightTensor}: expected ${inFeatures} columns, found ${cols}`)
    weight.set(stored.subarray(start * cols, (start + outFeatures) * cols))
  }
  if (!target.biasTensor) return { weight }
  const bias = await read(target.biasTensor)
  requireFiniteWeights(tensorInfo(source, target.biasTensor), bias)
  return { weight, bias: bias.slice(start, start + outFeatures) }
}

/** Read a target's weight and lay it out as Wᵀ [in, out] float32, the layout x Wᵀ multiplies with. */
export async function readLinear(source: TensorSource, target: AdaptableLinear): Promise<LinearWeights> {
  const { weight, bias } = await readTargetWeights(source, target)
  const { inFeatures, outFeatures } = target
  const weightT = new Float32Array(inFeatures * outFeatures)
  for (let o = 0; o < outFeatures; o++) for (let i = 0; i < inFeatures; i++) weightT[i * outFeatures + o] = weight[o * inFeatures + i]!
  const weights: LinearWeights = { weightT, inFeatures, outFeatures }
  if (bias) weights.bias = Float32Array.from(bias)
  return weights
}

/** Read any tensor as float32; a weight with NaN or ±∞ in it is refused (requireFiniteWeights). */
export async function readFloat32(source: TensorSource, name: string): Promise<Float32Array> {
  const values = Float32Array.from(await source.readFloat64(name))
  requireFiniteWeights(tensorInfo(source, name), values)
  return values
}

function tensorInfo(source: TensorSource, name: string): Pick<TensorInfo, 'name' | 'file' | 'shape'> {
  return source.tensors.find((t) => t.name === name) ?? { name, file: source.source, shape: [] }
}

/** The plain linear: x Wᵀ + b with Wᵀ already laid out [in, out]. */
export function plainLinear(weightT: tf.Tensor2D, bias?: tf.Tensor1D): LinearFn {
  return (x) => {
    const y = matMul(x, weightT)
    return bias ? tf.add(y, bias) : y
  }
}

/** Apply a LinearFn to [..., in], keeping the leading axes. */
export function applyLinear(linear: LinearFn, x: tf.Tensor): tf.Tensor {
  const shape = x.shape
  const inFeatures = shape[shape.length - 1]!
  const flat = x.reshape([-1, inFeatures]) as tf.Tensor2D
  const y = linear(flat)
  return y.reshape([...shape.slice(0, -1), y.shape[1]])
}

/** RMS norm over the last axis, as Llama's LlamaRMSNorm: x / √(mean(x²) + ε) · γ (no centring, no bias). */
export function rmsNorm(x: tf.Tensor, gamma: tf.Tensor1D, eps: number): tf.Tensor {
  const meanSquare = tf.mean(tf.square(x), x.rank - 1, true)
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), gamma)
}

/** Layer norm over the last axis, as torch.nn.functional.layer_norm (biased variance). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const axis = x.rank - 1
  const mean = tf.mean(x, axis, true)
  const centered = tf.sub(x, mean)
  const variance = tf.mean(tf.square(centered), axis, true)
  return tf.add(tf.mul(tf.div(centered, tf.sqrt(tf.add(variance, eps))), gamma), beta)
}

/**
 * The activations transformers' configs name that SiVA runs: exact GELU ('gelu'), its tanh form ('gelu_new',
 * 'gelu_pytorch_tanh', 'gelu_fast'), 'relu', 'tanh', and SiLU ('silu', also called 'swish'), the gate of
 * Llama-style MLPs.
 */
export const activations: readonly string[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'relu', 'tanh', 'silu', 'swish']

export function activation(name: string): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'gelu':
      return geluExact
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))))
    case 'relu':
      return (x) => tf.relu(x)
    case 'tanh':
      return (x) => tf.tanh(x)
    case 'silu':
    case 'swish':
      return (x) => tf.mul(x, tf.sigmoid(x))
    default:
      throw new Error(`activation "${name}" is not supported (${activations.join(', ')})`)
  }
}

/**
 * Dropout as transformers applies it while training, drawn from a seed so that a run and its resumption
 * draw the same masks: each call takes the next seed of the stream. Without a seed (evaluation, or a
 * forward pass outside training) it passes values through.
 */
export class Dropout {
  private calls = 0

  constructor(private readonly seed: number | undefined) {}

  get active(): boolean {
    return this.seed !== undefined
  }

  apply<T extends tf.Tensor>(x: T, rate: number): T {
    if (this.seed === undefined || !(rate > 0)) return x
    this.calls++
    return tf.dropout(x, rate, undefined, (this.seed + Math.imul(this.calls, 0x9e3779b1)) >>> 0) as T
  }
}

export interface AttentionOptions {
  heads: number
  /**
   * Grouped-query attention (Llama, Mistral, Qwen2): k and v have this many heads, each shared by
   * heads / kvHeads consecutive query heads (transformers' repeat_kv). Default: heads.
   */
  kvHeads?: number
  /** Width of one head; default hidden / heads (Mistral's config may set head_dim otherwise). */
  headSize?: number
  /** Training: dropout on the attention probabilities, with its rate. */
  dropout?: { stream: Dropout; rate: number }
  /** [batch, length] of 1 (attend) and 0 (padding), or undefined when every position is real. */
  mask?: tf.Tensor2D
  /** Causal LM: position i attends only to positions ≤ i. */
  causal?: boolean
  /** With causal: position i attends only to the last `window` positions (i − window, i] (Mistral's sliding_window). */
  window?: number
  /**
   * How the causal and padding masks combine. Off (GPT-2's attention): each adds its own minimum, so a key
   * both in the future and padding gets −∞ in float32. On (Llama, Mistral, Qwen2: transformers'
   * _update_causal_mask): a key gets one minimum when either mask excludes it, so a query with every key
   * excluded (padding past Mistral's window) spreads evenly over all of them, as there.
   */
  maskedOnce?: boolean
}

/**
 * Scaled dot-product attention over `heads` heads. q: [batch, length, heads·headSize]; k, v: [batch, length,
 * kvHeads·headSize]; returns [batch, length, heads·headSize] (heads concatenated, before the output
 * projection). Masked scores get the float32 minimum, as transformers does, so a fully masked row stays
 * finite. With grouped heads, the queries that share a key/value head are stacked along the query axis
 * ([batch, kvHeads, group·length, headSize]), so k and v are never copied per query head.
 */
export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, options: AttentionOptions): tf.Tensor3D {
  const [batch, length, width] = q.shape
  const heads = options.heads
  const kvHeads = options.kvHeads ?? heads
  const size = options.headSize ?? width / heads
  const group = heads / kvHeads
  const split = (x: tf.Tensor3D, count: number): tf.Tensor4D => tf.transpose(x.reshape([batch, length, count, size]) as tf.Tensor4D, [0, 2, 1, 3])
  // [batch, heads, length, size] → [batch, kvHeads, group·length, size]: query head j reads key/value head ⌊j / group⌋.
  const qh = group === 1 ? split(q, heads) : (split(q, heads).reshape([batch, kvHeads, group * length, size]) as tf.Tensor4D)
  const kh = split(k, kvHeads)
  const vh = split(v, kvHeads)
  let scores = tf.mul(matMul(qh, transposeLast(kh)), 1 / Math.sqrt(size)) as tf.Tensor4D
  // Masks are added as (1 − allowed)·min, broadcast over heads and queries, as transformers does.
  const minimum = -3.4028234663852886e38
  let bias: tf.Tensor | undefined
  let causal: tf.Tensor | undefined
  if (options.causal) {
    const lower = options.window === undefined || options.window >= length ? -1 : Math.max(0, options.window - 1)
    causal = tf.linalg.bandPart(tf.ones([length, length]), lower, 0)
    if (group > 1) causal = tf.tile(causal, [group, 1])
    causal = causal.reshape([1, 1, group * length, length])
  }
  const keys = options.mask && tf.cast(options.mask, 'float32').reshape([batch, 1, 1, length])
  if (options.maskedOnce && causal && keys) bias = tf.mul(tf.sub(1, tf.mul(causal, keys)), minimum)
  else {
    if (causal) bias = tf.mul(tf.sub(1, causal), minimum)
    if (keys) {
      const padding = tf.mul(tf.sub(1, keys), minimum)
      bias = bias ? tf.add(bias, padding) : padding
    }
  }
  if (bias) scores = tf.add(scores, bias)
  let weights = tf.softmax(scores) as tf.Tensor4D
  if (options.dropout) weights = options.dropout.stream.apply(weights, options.dropout.rate)
  let context = matMul(weights, vh)
  if (group > 1) context = context.reshape([batch, heads, length, size])
  return tf.transpose(context, [0, 2, 1, 3]).reshape([batch, length, heads * size])
}

/**
 * Mean cross-entropy of logits [n, classes] against integer labels [n]; labels equal to `ignoreIndex`
 * (-100, transformers' convention) count for nothing. Returns 0 when every label is ignored.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, ignoreIndex = -100): tf.Scalar {
  const classes = logits.shape[1]
  const keep = tf.cast(tf.notEqual(labels, ignoreIndex), 'float32')
  const safe = tf.where(tf.notEqual(labels, ignoreIndex), labels, tf.zerosLike(labels))
  const logProbs = tf.logSoftmax(logits)
  const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.cast(safe, 'int32'), classes)), 1)
  const count = tf.maximum(tf.sum(keep), 1)
  return tf.div(tf.neg(tf.sum(tf.mul(picked, keep))), count) as tf.Scalar
}

/** Mean squared error, as transformers' regression heads use. */
export function meanSquaredError(predictions: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.mean(tf.square(tf.sub(predictions.reshape([-1]), targets.reshape([-1])))) as tf.Scalar
}

/** Normal(0, std) values from a seed: how transformers initialises a new head (with a zero bias). */
export function seededNormal(count: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(count)
  let state = seed >>> 0 || 1
  const uniform = (): number => {
    // xorshift32: reproducible across machines; quality is ample for an initialisation.
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return (state + 0.5) / 4294967296
  }
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()))
    const angle = 2 * Math.PI * uniform()
    out[i] = std * r * Math.cos(angle)
    if (i + 1 < count) out[i + 1] = std * r * Math.sin(angle)
  }
  return out
}

/**
 * Rows of an embedding table for integer ids, as a gather. The embedding itself is never trained except
 * in full fine-tuning; then a one-hot matmul is used instead, since the wasm backend has no gradient for
 * gather (UnsortedSegmentSum).
 */
export function embed(table: tf.Tensor2D, ids: tf.Tensor, trainable: boolean): tf.Tensor {
  if (!trainable) return tf.gather(table, ids)
  const flat = ids.reshape([-1])
  const oneHot = tf.oneHot(tf.cast(flat, 'int32'), table.shape[0])
  return matMul(oneHot, table).reshape([...ids.shape, table.shape[1]])
}
