import type { Dtype } from './dtypes'
import type { ModelDescription } from './hfConfig'

/** Where one tensor lives and what it holds. */
export interface TensorInfo {
  name: string
  /** Element type as read: a quantised tfjs weight reports the dtype it dequantises to. */
  dtype: Dtype
  shape: number[]
  /** The file holding its first byte. */
  file: string
  /** Absolute position of its first byte in `file`. */
  byteOffset: number
  /** Bytes as stored (for a quantised tfjs weight: the quantised bytes; a tfjs weight may run on into the next shard). */
  byteLength: number
  /** Set for a tfjs weight stored quantised: readFloat64/readRaw dequantise it. */
  quantization?: TfjsQuantization
}

export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16' | 'float16'
  /** value = q·scale + min for uint8/uint16. */
  scale?: number
  min?: number
}

/** A tensor a source lists but cannot turn into numbers (a tfjs string or complex64 weight). */
export interface UnreadableTensor {
  name: string
  dtype: string
  shape: number[]
  reason: string
}

/** One interface over every weights source the engine reads (safetensors, sharded or not; tfjs). */
export interface TensorSource {
  /** The path the user gave. */
  readonly source: string
  readonly format: 'safetensors' | 'tfjs'
  /** Readable tensors, in file order. */
  readonly tensors: readonly TensorInfo[]
  /** Tensors listed in the file that cannot be read as numbers, with the reason. */
  readonly unreadable: readonly UnreadableTensor[]
  readonly metadata: Record<string, string>
  /** When a config.json sits beside the weights. */
  readonly config?: ModelDescription
  /** Bytes of the tensor as little-endian elements of its `dtype`. */
  readRaw(name: string): Promise<Uint8Array>
  readFloat64(name: string): Promise<Float64Array>
  close(): Promise<void>
}
