import { totalmem } from 'node:os'
import type { ModelDescription, TensorInfo } from '../io'
import { lossChunkTokens } from '../models/lmLoss'
import type { AdaptableLinear } from '../models/types'
import type { MemoryEstimate } from '../../../shared/training'

/**
 * About how much memory a run needs, said before any SVD or weight is computed, and the refusal of a run
 * that cannot fit. The engine holds tensors in float32 whatever the checkpoint stores, so the parts are:
 *
 * - weights: every tensor the model reads, 4 bytes a value (an F16 / BF16 checkpoint doubles in memory),
 *   and the output embedding a second time, laid out transposed for the LM head;
 * - SVD bands: per target, U_b and V_b in float32 for the pass and float64 for the export (12 bytes per
 *   entry of (m + n)·k), and while decomposing, each worker's float64 copy of the matrix and its workspace;
 * - activations: what tfjs holds per layer at the run's batch × token limit — every intermediate of the
 *   forward pass stays alive until the loss is computed (about 110 hidden widths and 45 MLP widths per token
 *   with SiVA on every projection, 16 copies of the attention scores) — and for a causal LM a few
 *   vocabulary-wide rows per position of one loss chunk (models/lmLoss.ts computes the LM head and its loss a
 *   chunk of positions at a time, never the [tokens, vocab] logits);
 * - optimizer: AdamW's two moments and the gradient of every trainable value.
 *
 * It is an estimate (at or above what tfjs allocates at its peak and within 3× of it, on the fixtures'
 * shapes), meant to catch the run that cannot fit before it spends minutes on SVDs.
 */
export interface MemoryFacts {
  config: ModelDescription | undefined
  tensors: readonly TensorInfo[]
  targets: readonly AdaptableLinear[]
  /** Band size per target (spectral methods); 0 for none. */
  bandOf: (target: AdaptableLinear) => number
  /** Trainable values besides the bands: LoRA's factors, the head, or every weight in full fine-tuning. */
  trainable: number
  batchSize: number
  /** The token limit batches are cut to (images: patches + 1). */
  length: number
  causalLm: boolean
  /** Workers decomposing at once (their float64 copies coexist). */
  svdWorkers: number
  backend: string
}

const f32 = 4
const f64 = 8

export function estimateMemory(facts: MemoryFacts): MemoryEstimate {
  const c = facts.config
  const count = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1)
  const values = facts.tensors.reduce((sum, t) => sum + count(t), 0)
  const hidden = c?.hiddenSize ?? 0
  const vocab = c?.vocabSize ?? facts.tensors.find((t) => /(embed_tokens|wte|word_embeddings)\.weight$/.test(t.name))?.shape[0] ?? 0
  const outputEmbedding = facts.causalLm ? vocab * hidden : 0
  const weights = (values + outputEmbedding) * f32

  let bands = 0
  let largestMatrix = 0
  for (const target of facts.targets) {
    const k = facts.bandOf(target)
    bands += 12 * (target.outFeatures + target.inFeatures) * k
    largestMatrix = Math.max(largestMatrix, target.outFeatures * target.inFeatures)
  }
  // The matrix, its transposed working copy and the SVD's workspace, per worker at once.
  const svd = facts.targets.some((t) => facts.bandOf(t) > 0) ? 3 * largestMatrix * f64 * Math.max(1, facts.svdWorkers) : 0

  const tokens = facts.batchSize * facts.length
  const layers = c?.numLayers ?? 0
  const heads = c?.numHeads ?? 0
  const inner = c?.intermediateSize ?? 4 * hidden
  // Fitted to tf.profile's peak on the wasm backend at two widths (hidden 32 and 128, tests/unit/training/
  // memoryEstimate.test.ts; the peak is at the loss, after the whole forward pass). tf.profile counts a
  // reshape or a saved copy that shares its data as a tensor of its own, so these constants err high. For a
  // causal LM the loss holds about 4 chunk-sized copies of the logits at once (logits, softmax, one-hot and
  // their difference; tests/unit/models/lmLoss.test.ts), whatever the batch.
  const perLayer = tokens * (110 * hidden + 45 * inner) + 16 * facts.batchSize * heads * facts.length * facts.length
  const logits = facts.causalLm ? 4 * Math.min(tokens, lossChunkTokens(vocab)) * vocab : 0
  const activations = (layers * perLayer + logits) * f32
  const optimizer = 3 * facts.trainable * f32

  const total = weights + Math.max(bands, 0) + svd + activations + optimizer
  const estimate: MemoryEstimate = { total, weights, bands: bands + svd, activations, optimizer, batchSize: facts.batchSize, length: facts.length }
  const limit = memoryLimit(facts.backend)
  if (limit) estimate.limit = limit
  return estimate
}

/**
 * What a backend can hold: the WebAssembly backend keeps every tensor in one wasm32 memory (4 GiB at most),
 * the CPU backend in this process's memory (the machine's); WebGPU and tfjs-node keep them in GPU or native
 * memory this process cannot measure, so nothing is refused there.
 */
export function memoryLimit(backend: string): { bytes: number; what: string } | undefined {
  if (backend === 'wasm') return { bytes: 4 * 2 ** 30, what: 'the WebAssembly backend holds every tensor in one 4 GiB memory' }
  if (backend === 'cpu') return { bytes: totalmem(), what: `this machine has ${formatBytes(totalmem())} of memory` }
  return undefined
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(bytes >= 10 * 2 ** 30 ? 0 : 1)} GiB`
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(bytes >= 10 * 2 ** 20 ? 0 : 1)} MiB`
  return `${Math.max(1, Math.round(bytes / 2 ** 10))} KiB`
}

/** One line: "about 3.1 GiB (weights 2.0 GiB, SVD bands 12 MiB, activations at batch 8 × 512 tokens 1.0 GiB, optimizer 4 KiB)". */
export function describeMemory(estimate: MemoryEstimate): string {
  return `about ${formatBytes(estimate.total)} (weights ${formatBytes(estimate.weights)}, SVD bands ${formatBytes(estimate.bands)}, activations at batch ${estimate.batchSize} × ${estimate.length} tokens ${formatBytes(estimate.activations)}, optimizer ${formatBytes(estimate.optimizer)})`
}

/** The refusal of a run whose estimate is above what its backend holds, with what to change. */
export function checkMemoryFits(estimate: MemoryEstimate): void {
  if (!estimate.limit || estimate.total <= estimate.limit.bytes) return
  throw new Error(
    `this run needs ${describeMemory(estimate)}, more than ${formatBytes(estimate.limit.bytes)}: ${estimate.limit.what}. ` +
      'Use a smaller --batch-size (with --grad-accum to keep the effective batch) or --max-length, fewer targets, or another backend (webgpu, tensorflow-gpu)'
  )
}
