import { CheckpointFormatError } from './errors'
import type { TensorInfo } from './tensorSource'

/**
 * Refuse a weight holding NaN or ±∞, or a value float32 cannot hold (the model computes in float32, where
 * it would be ∞). One pass over values already read; an array already checked (the q, k and v blocks of
 * one fused tensor are cut from the same array) is not scanned again. The error names the tensor's file
 * (its shard, for a sharded checkpoint), the tensor and the first bad element by its indices.
 */
const checked = new WeakSet<object>()

export function requireFiniteWeights(info: Pick<TensorInfo, 'name' | 'file' | 'shape'>, values: Float32Array | Float64Array): void {
  if (checked.has(values)) return
  const bad = firstNotFloat32(values)
  if (bad >= 0) {
    const value = values[bad]!
    const what = Number.isNaN(value) || !Number.isFinite(value) ? String(value) : `${value}, beyond float32's range`
    throw new CheckpointFormatError(info.file, `element [${indicesOf(bad, info.shape).join(', ')}] is ${what}; a weight must be a finite number (the file is damaged)`, { tensor: info.name })
  }
  checked.add(values)
}

/** The first element that is not a finite float32 number, or -1. */
function firstNotFloat32(values: Float32Array | Float64Array): number {
  if (values instanceof Float32Array) {
    // x - x is 0 for every finite x, NaN for NaN and ±∞.
    for (let i = 0; i < values.length; i++) if (values[i]! - values[i]! !== 0) return i
    return -1
  }
  for (let i = 0; i < values.length; i++) {
    const rounded = Math.fround(values[i]!)
    if (rounded - rounded !== 0) return i
  }
  return -1
}

/** A flat row-major index as the tensor's own indices ([row, column] for a matrix). */
function indicesOf(flat: number, shape: readonly number[]): number[] {
  if (shape.length === 0) return [flat]
  const indices = new Array<number>(shape.length)
  let rest = flat
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const size = shape[axis]! || 1
    indices[axis] = rest % size
    rest = Math.floor(rest / size)
  }
  return indices
}
