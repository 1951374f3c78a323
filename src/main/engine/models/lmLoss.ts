import * as tf from '@tensorflow/tfjs'

/**
 * The causal-LM loss straight from the final hidden states, without ever holding the [tokens, vocab]
 * logits: the product with the output embedding, the log-sum-exp and its gradient run a chunk of tokens at
 * a time, and the backward pass computes each chunk's logits again instead of keeping them.
 *
 * Why: taped as ordinary ops, the LM head's output, the shift's slice, log-softmax, the one-hot labels and
 * the gradient of each stay alive together — about 28 vocabulary-wide copies per token. With Qwen2's
 * 151,936 entries that is 70 GB at batch 8 × 512 tokens, while the rest of a 0.5B model's activations are a
 * few GB. Here the loss keeps the hidden states and the labels, and a chunk's few copies at a time.
 *
 * The value is transformers' causal-LM loss: position t predicts token t + 1, labels of -100 (prompt,
 * padding, untaught chat turns) count for nothing, and the mean is over the rest (0 when none is left).
 */

/**
 * Logits held at once by one chunk (tokens × vocab): 16 M values, 64 MiB a copy; a pass holds about 3 at
 * once. Smaller chunks cost time on the wasm backend (bench/lm-loss.ts at Qwen2's head, a busy machine:
 * 8 M 2.2× the full logits' time, 16 M 1.4×, 32 M 1.1×), larger ones memory.
 */
export const lossChunkValues = 2 ** 24

/** The output embedding as the LM head holds it. */
export interface OutputEmbedding {
  /** [vocab, hidden]: a variable in full fine-tuning (its gradient is returned), frozen otherwise. */
  weight: tf.Tensor2D
  /** [hidden, vocab], laid out once for a frozen weight, so the forward product needs no transpose. */
  weightT?: tf.Tensor2D
  trainable: boolean
}

/** Tokens per chunk: as many as keep one chunk's logits within `lossChunkValues`, at least one. */
export function lossChunkTokens(vocab: number, values = lossChunkValues): number {
  return Math.max(1, Math.floor(values / Math.max(1, vocab)))
}

/**
 * Mean next-token cross-entropy of `hidden` [batch, length, size] (after the final norm) against `labels`
 * [batch, length] (int32 ids, -100 ignored), with logits hidden · weightᵀ. `chunkTokens` overrides how many
 * positions a chunk holds (tests use it to cut uneven chunks).
 */
export function causalLmLoss(hidden: tf.Tensor3D, labels: tf.Tensor, output: OutputEmbedding, chunkTokens?: number): tf.Scalar {
  const [batch, length, size] = hidden.shape
  const [vocab] = output.weight.shape
  if (length < 2) return tf.scalar(0)
  if (labels.shape[0] !== batch || labels.shape[1] !== length) throw new Error(`causal-LM labels of shape [${labels.shape.join(', ')}] do not match the inputs' [${batch}, ${length}]`)
  // Position t predicts token t + 1; both sides cut before the chunks, so each chunk is plain rows.
  const states = hidden.slice([0, 0, 0], [batch, length - 1, size]).reshape([-1, size]) as tf.Tensor2D
  const targets = tf.cast(labels.slice([0, 1], [batch, length - 1]).reshape([-1]), 'int32') as tf.Tensor1D
  const rows = states.shape[0]
  const step = Math.max(1, Math.floor(chunkTokens ?? lossChunkTokens(vocab)))
  const chunks: [number, number][] = []
  for (let start = 0; start < rows; start += step) chunks.push([start, Math.min(step, rows - start)])

  const logitsOf = (x: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D => (output.weightT && !output.trainable ? tf.matMul(x, output.weightT) : tf.matMul(x, weight, false, true))

  // tf.gradients disposes what the forward pass made once it returns, except what a kernel saved: what the
  // backward pass reads goes through `save` — but not the weight, which outlives the step (a variable, or a
  // tensor the model keeps); saved, tfjs's own wasm Identity would copy it (544 MB for Qwen2; ours shares
  // the data, backend/wasmKernels.ts, but other backends need not).
  const run = (x: tf.Tensor2D, weight: tf.Tensor2D, save: tf.GradSaveFunc): { value: tf.Scalar; gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => tf.Tensor[] } => {
    const kept = tf.notEqual(targets, -100)
    const keep = tf.cast(kept, 'float32') as tf.Tensor1D
    const safe = tf.where(kept, targets, tf.zerosLike(targets)) as tf.Tensor1D
    const count = tf.maximum(tf.sum(keep), 1) as tf.Scalar
    save([x, keep, safe, count])
    // Forward: per chunk the sum over its kept rows of logsumexp(logits) − logits[label].
    let total = tf.scalar(0)
    for (const [start, n] of chunks) {
      const part = tf.tidy(() => {
        const logits = logitsOf(x.slice([start, 0], [n, size]), weight)
        // Each row's logit of its label, by (row, id) pairs: a reshape for a flat gather would copy the chunk.
        const picked = tf.gatherND(logits, tf.stack([tf.range(0, n, 1, 'int32'), safe.slice([start], [n])], 1))
        // log Σ exp, each vocabulary-wide intermediate freed as soon as the next exists (at most three at once).
        const top = tf.max(logits, 1, true)
        const shifted = tf.sub(logits, top)
        logits.dispose()
        const exps = tf.exp(shifted)
        shifted.dispose()
        const sums = tf.sum(exps, 1)
        exps.dispose()
        const lse = tf.add(tf.log(sums), top.reshape([n]))
        return tf.sum(tf.mul(tf.sub(lse, picked), keep.slice([start], [n])))
      })
      const sum = tf.add(total, part) as tf.Scalar
      tf.dispose([total, part])
      total = sum
    }
    const value = tf.div(total, count) as tf.Scalar
    tf.dispose([total, kept])
    return {
      value,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => {
        const [x, keep, safe, count] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Scalar]
        // d loss / d logits = (softmax − one-hot) · keep · dy / count, row by row; logits made again per chunk.
        const scale = tf.div(tf.mul(keep, dy), count) as tf.Tensor1D
        const parts: tf.Tensor2D[] = []
        let weightGrad: tf.Tensor2D | undefined
        for (const [start, n] of chunks) {
          const [dx, dw] = tf.tidy(() => {
            const rowsOf = x.slice([start, 0], [n, size])
            const logits = logitsOf(rowsOf, weight)
            const probs = tf.softmax(logits)
            logits.dispose()
            // Made int32 and cast: the wasm backend's OneHot writes int32 whatever dtype it is asked for.
            const ids = tf.oneHot(safe.slice([start], [n]), vocab)
            const oneHot = tf.cast(ids, 'float32')
            ids.dispose()
            const diff = tf.sub(probs, oneHot)
            tf.dispose([probs, oneHot])
            const dLogits = tf.mul(diff, scale.slice([start], [n]).reshape([n, 1])) as tf.Tensor2D
            diff.dispose()
            const dx = tf.matMul(dLogits, weight)
            return output.trainable ? [dx, tf.matMul(dLogits, rowsOf, true, false)] : [dx]
          })
          parts.push(dx as tf.Tensor2D)
          if (dw) {
            const sum = weightGrad ? (tf.add(weightGrad, dw) as tf.Tensor2D) : (dw as tf.Tensor2D)
            if (weightGrad) tf.dispose([weightGrad, dw])
            weightGrad = sum
          }
        }
        const dx = parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor2D)
        if (parts.length > 1) tf.dispose(parts)
        scale.dispose()
        return output.trainable ? [dx, weightGrad!] : [dx]
      }
    }
  }

  // tf.customGrad differentiates with respect to its inputs: the weight is one only when it trains.
  if (output.trainable) {
    const loss = tf.customGrad(((x: tf.Tensor2D, weight: tf.Tensor2D, save: tf.GradSaveFunc) => run(x, weight, save)) as unknown as Parameters<typeof tf.customGrad>[0])
    return (loss as unknown as (x: tf.Tensor2D, weight: tf.Tensor2D) => tf.Scalar)(states, output.weight)
  }
  const loss = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => run(x, output.weight, save)) as unknown as Parameters<typeof tf.customGrad>[0])
  return (loss as unknown as (x: tf.Tensor2D) => tf.Scalar)(states)
}
