/**
 * What `siva inspect --json` prints and what the app's Layers and Inspect views receive: one entry per
 * analysed weight matrix (GPT-2's fused c_attn contributes one entry per q/k/v block).
 */
export interface LayerSpectrum {
  /** Tensor name as stored, with `.q`/`.k`/`.v` appended for a block of a fused attention matrix. */
  name: string
  /** The tensor the values came from (differs from `name` only for fused blocks). */
  tensor: string
  /** [rows, cols] of the analysed matrix, as stored (GPT-2 Conv1D stores [in, out]). */
  shape: [number, number]
  dtype: string
  /** Descending, min(m, n) values; empty when the matrix could not be analysed (see `error`). */
  singularValues: number[]
  effectiveRank: number
  stableRank: number
  spectralNorm: number
  /** σ_max / σ_min; Infinity (printed as null in JSON) when σ_min is 0. */
  conditionNumber: number | null
  /** k = max(1, round(perc · r)) for the perc used, and the share of Σσ² held by those bottom k. */
  bottomK: number
  bottomEnergyShare: number
  /** Set when the matrix could not be analysed (NaN/Inf values, a failed SVD); the numbers above are then absent. */
  error?: string
}

export interface SkippedTensor {
  name: string
  shape: number[]
  dtype: string
  reason: string
}

export interface InspectReport {
  source: string
  format: 'safetensors' | 'tfjs'
  modelType?: string
  perc: number
  valuesOnly: boolean
  tensors: LayerSpectrum[]
  skipped: SkippedTensor[]
  /** Wall-clock seconds for the whole analysis. */
  seconds: number
}
