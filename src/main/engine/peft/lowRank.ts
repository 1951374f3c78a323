import type { LowRank } from './types'

/** ΔW = B·A, [out, in] row-major float64, from its factors. */
export function lowRankProduct(factors: LowRank, outFeatures: number, inFeatures: number): Float64Array {
  const { rank, b, a } = factors
  if (b.length !== outFeatures * rank || a.length !== rank * inFeatures) throw new Error(`low-rank factors do not fit a ${outFeatures}×${inFeatures} matrix at rank ${rank}`)
  const out = new Float64Array(outFeatures * inFeatures)
  for (let i = 0; i < outFeatures; i++) {
    const row = i * inFeatures
    for (let j = 0; j < rank; j++) {
      const scale = b[i * rank + j]!
      if (scale === 0) continue
      const aRow = j * inFeatures
      for (let c = 0; c < inFeatures; c++) out[row + c] += scale * a[aRow + c]!
    }
  }
  return out
}

/** Columns [start, end) of a row-major [rows, cols] matrix, as [rows, end − start]. */
export function columns(matrix: Float64Array, rows: number, cols: number, start: number, end: number): Float64Array {
  const width = end - start
  const out = new Float64Array(rows * width)
  for (let i = 0; i < rows; i++) for (let j = 0; j < width; j++) out[i * width + j] = matrix[i * cols + start + j]!
  return out
}

/** A stored tensor by name, or a clear error naming what is missing. */
export function storedTensor(stored: { tensors: { name: string; values: Float32Array | Float64Array }[] }, name: string, target: string): Float32Array | Float64Array {
  const found = stored.tensors.find((t) => t.name === name)
  if (!found) throw new Error(`${target}: the adapter holds no ${name}`)
  return found.values
}
