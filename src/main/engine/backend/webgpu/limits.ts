import type { GpuAdapterSummary, TrainConfig } from '../../../../shared/training'
import type { TensorSource } from '../../io'
import { adapterName } from '../webgpu'

/**
 * What one WebGPU buffer can hold, checked before training starts. tfjs-webgpu puts each tensor in one
 * storage buffer and binds it whole; a tensor over the adapter's limit does not fail: Dawn logs a
 * validation error, the buffer is invalid, and every kernel reading it computes zeros (measured on
 * SwiftShader: the sum of a 1 GiB + 4 KiB tensor of ones read 0). So the engine refuses such a tensor by
 * name instead. Limits seen: SwiftShader 1 GiB; hardware adapters commonly 128 MiB (the WebGPU default
 * tfjs gets where the adapter offers no more) to 2–4 GiB.
 */

export interface SizedTensor {
  /** As messages name it: a checkpoint tensor's name, or an activation's description. */
  name: string
  shape: readonly number[]
}

/** The largest tensor, in bytes, one buffer can hold and a kernel can bind. */
export function webGpuTensorLimit(adapter: Pick<GpuAdapterSummary, 'maxStorageBufferBindingSize' | 'maxBufferSize'>): number {
  return Math.min(adapter.maxStorageBufferBindingSize, adapter.maxBufferSize)
}

/** Bytes on the GPU: every tensor the engine uploads is float32 or int32 (f16/bf16 weights are widened on reading). */
export function gpuBytes(shape: readonly number[]): number {
  return shape.reduce((size, n) => size * n, 4)
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`
}

/** Why the largest tensor over the limit cannot be trained on this adapter; undefined when all fit. */
export function oversizedTensorReason(tensors: readonly SizedTensor[], adapter: GpuAdapterSummary): string | undefined {
  const limit = webGpuTensorLimit(adapter)
  let worst: SizedTensor | undefined
  for (const tensor of tensors) if (gpuBytes(tensor.shape) > limit && (!worst || gpuBytes(tensor.shape) > gpuBytes(worst.shape))) worst = tensor
  if (!worst) return undefined
  const which = adapter.maxStorageBufferBindingSize <= adapter.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize'
  return `${worst.name} [${worst.shape.join(', ')}] needs ${formatBytes(gpuBytes(worst.shape))} as float32 in one GPU buffer, and ${adapterName(adapter)} allows ${formatBytes(limit)} (${which}); train it on another backend (wasm, tensorflow)`
}

/** Throws oversizedTensorReason's message, prefixed with `where` (the checkpoint, the step), when a tensor does not fit. */
export function checkTensorsFit(tensors: readonly SizedTensor[], adapter: GpuAdapterSummary, where: string): void {
  const reason = oversizedTensorReason(tensors, adapter)
  if (reason) throw new Error(`${where}: ${reason}`)
}

/** The shape of a training step's activations that grow fastest: what checkTensorsFit needs besides the checkpoint's tensors. */
export interface StepShape {
  batchSize: number
  length: number
  heads: number
  hiddenSize: number
  intermediateSize: number
  /** Causal LM: the vocabulary the logits span. */
  vocabSize?: number
}

/**
 * The largest activations of one step (forward and backward hold the same shapes): attention scores and
 * their softmax, the MLP's inner layer, and for causal LM the logits over the vocabulary (GPT-2 at batch
 * 8 × 1024 tokens: 1.53 GiB, more than the checkpoint's largest tensor).
 */
export function stepActivations(step: StepShape): SizedTensor[] {
  const tokens = step.batchSize * step.length
  const shapes: SizedTensor[] = [
    { name: 'the attention scores', shape: [step.batchSize, step.heads, step.length, step.length] },
    { name: "the MLP's inner activations", shape: [tokens, step.intermediateSize] },
    { name: 'the hidden states', shape: [tokens, step.hiddenSize] }
  ]
  if (step.vocabSize !== undefined) shapes.push({ name: 'the logits', shape: [tokens, step.vocabSize] })
  return shapes
}

/**
 * On WebGPU a tensor larger than one buffer may hold is not an error: Dawn logs it and kernels read zeros.
 * So before anything is uploaded, the checkpoint's tensors and the step's largest activations (at the
 * run's batch and token limit, the same cap the data is encoded with) are checked against the adapter.
 */
export function checkWebGpuFits(config: Pick<TrainConfig, 'batchSize' | 'maxLength' | 'task'>, source: Pick<TensorSource, 'tensors' | 'source' | 'config'>, adapter: GpuAdapterSummary): void {
  checkTensorsFit(source.tensors, adapter, source.source)
  const c = source.config
  if (!c?.hiddenSize || !c.numHeads) return
  const length = c.imageSize && c.patchSize ? (c.imageSize / c.patchSize) ** 2 + 1 : (config.maxLength ?? Math.min(512, c.maxPositions ?? 512))
  const step = { batchSize: config.batchSize, length, heads: c.numHeads, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize ?? 4 * c.hiddenSize, ...(config.task === 'causal-lm' && c.vocabSize !== undefined && { vocabSize: c.vocabSize }) }
  checkTensorsFit(stepActivations(step), adapter, `a step at batch ${config.batchSize} × ${length} tokens`)
}
