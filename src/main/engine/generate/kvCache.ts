import * as tf from '@tensorflow/tfjs'

/**
 * The key/value cache of incremental decoding (one sequence): per layer, the keys and values of every
 * position so far, [1, length, kvHeads·head_size], keys as attention reads them (rotated for the rotary
 * families). A step feeds only the new tokens; their queries attend to the cached positions and to each
 * other, causally, so the last position's logits equal those of a full forward over the whole sequence.
 */
export interface KvCache {
  keys: tf.Tensor3D[]
  values: tf.Tensor3D[]
  /** Positions held: the absolute position of the next token. */
  length: number
}

/** What a step of cached decoding returns: the last new position's logits [vocab] and the cache with the new positions. */
export interface CachedStep {
  logits: tf.Tensor1D
  cache: KvCache
}

/** A causal LM that can decode incrementally (GPT-2, Llama/Mistral/Qwen2). */
export interface CachedDecoder {
  /** How many positions the model can hold (GPT-2's learned n_positions; Infinity for rotary families). */
  readonly maxPositions: number
  /**
   * Runs `ids` (the prompt, then one token per step) after the positions in `cache` (none when absent).
   * The given cache is left as it is (the caller disposes it, usually right after); the returned tensors
   * are the caller's.
   */
  forwardCached(ids: readonly number[], cache?: KvCache): CachedStep
}

export function isCachedDecoder(model: object): model is CachedDecoder {
  return typeof (model as Partial<CachedDecoder>).forwardCached === 'function'
}

export function disposeCache(cache: KvCache | undefined): void {
  if (!cache) return
  for (const tensor of [...cache.keys, ...cache.values]) tensor.dispose()
}

/** A cache's keys and values with a step's new ones appended (inside the step's tidy). */
export function extendCache(cache: KvCache | undefined, layer: number, keys: tf.Tensor3D, values: tf.Tensor3D): { keys: tf.Tensor3D; values: tf.Tensor3D } {
  const oldKeys = cache?.keys[layer]
  const oldValues = cache?.values[layer]
  return {
    keys: oldKeys ? tf.concat([oldKeys, keys], 1) : keys,
    values: oldValues ? tf.concat([oldValues, values], 1) : values
  }
}

export interface CachedAttentionOptions {
  heads: number
  /** Key/value heads (grouped-query attention); default heads. */
  kvHeads?: number
  headSize: number
  /** Absolute position of the first query: the cache's length before this step. */
  start: number
  /** Mistral's sliding window: a query at position i sees keys (i − window, i]. */
  window?: number
}

/** The float32 minimum transformers puts on a masked score. */
const minimum = -3.4028234663852886e38

/**
 * Causal attention of n new queries q [1, n, heads·size] over every key and value so far, k and v
 * [1, total, kvHeads·size] (the cache's then the new ones'). Query j sits at position start + j. The same
 * arithmetic as ops.attention, which takes queries and keys of one length: scores scaled by 1/√size, masked
 * scores set to the float32 minimum, grouped query heads stacked along the query axis.
 */
export function cachedAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, options: CachedAttentionOptions): tf.Tensor3D {
  const [batch, length] = q.shape
  const total = k.shape[1]
  const { heads, headSize: size, start, window } = options
  const kvHeads = options.kvHeads ?? heads
  const group = heads / kvHeads
  if (batch !== 1) throw new Error(`cached attention decodes one sequence at a time, not a batch of ${batch}`)
  if (start + length !== total) throw new Error(`cached attention: ${length} new queries from position ${start} need ${start + length} keys, not ${total}`)
  const split = (x: tf.Tensor3D, count: number, rows: number): tf.Tensor4D => tf.transpose(x.reshape([batch, rows, count, size]) as tf.Tensor4D, [0, 2, 1, 3])
  const qh = split(q, heads, length).reshape([batch, kvHeads, group * length, size])
  const kh = split(k, kvHeads, total)
  const vh = split(v, kvHeads, total)
  let scores = tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(size))
  const allowed = (query: number, key: number): boolean => key <= start + query && (window === undefined || key > start + query - window)
  let masked = false
  const bias = new Float32Array(group * length * total)
  for (let g = 0; g < group; g++) {
    for (let j = 0; j < length; j++) {
      for (let key = 0; key < total; key++) {
        if (allowed(j, key)) continue
        bias[(g * length + j) * total + key] = minimum
        masked = true
      }
    }
  }
  // One new token with every earlier key in view (the usual step without a window) needs no mask at all.
  if (masked) scores = tf.add(scores, tf.tensor4d(bias, [1, 1, group * length, total]))
  const context = tf.matMul(tf.softmax(scores), vh).reshape([batch, heads, length, size])
  return tf.transpose(context, [0, 2, 1, 3]).reshape([batch, length, heads * size])
}
