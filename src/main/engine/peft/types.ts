import type * as tf from '@tensorflow/tfjs'
import type { AdaptableLinear, LinearFn } from '../models/types'

export type MethodName = 'siva' | 'svdiff' | 'topk' | 'lora' | 'full' | 'head'

/** A target's frozen weight, exactly as the checkpoint holds it, in nn.Linear orientation. */
export interface TargetWeights {
  target: AdaptableLinear
  /** W, [out, in] row-major, float64. */
  weight: Float64Array
  bias?: Float64Array
}

/** A thin SVD of W = U·diag(s)·Vᵀ ([out, in]); u is out×r, vt is r×in, both row-major. */
export interface Decomposition {
  s: Float64Array
  u: Float64Array
  vt: Float64Array
}

/** Computes (or fetches from a cache) the SVD of a target's weight. */
export type Decompose = (weights: TargetWeights) => Promise<Decomposition>

export interface AdaptOptions {
  /** Spectral methods: the fraction of singular values trained (k = max(1, round(perc · r))). */
  perc?: number
  /** Spectral methods: k itself (wins over perc). */
  k?: number
  /** LoRA: rank r and alpha (scaling alpha / r). */
  rank?: number
  alpha?: number
  seed: number
  decompose: Decompose
}

/** The singular values of an adapted matrix, known without a new SVD (spectral methods). */
export interface LiveSpectrum {
  /** σ before training, descending. */
  before: Float64Array
  /** Which indices of `before` train: [start, end). */
  band: [number, number]
  /** σ now, descending. */
  now(): Float64Array
}

/** A target after a method took it over. */
export interface Adapter {
  target: AdaptableLinear
  linear: LinearFn
  variables: tf.Variable[]
  trainableParameters: number
  /** ΔW = W' − W, [out, in] row-major float64, from the variables' current values (for export and checks). */
  deltaWeight(): Float64Array
  spectrum?: LiveSpectrum
  dispose(): void
}

export interface PeftMethod {
  name: MethodName
  /**
   * 'adapter': wraps each chosen target; 'head': trains only the task head; 'full': every weight trains
   * (the model is built with trainAll).
   */
  kind: 'adapter' | 'head' | 'full'
  /** Whether adapt() calls `decompose` (so the host can run SVDs ahead, in its worker pool). */
  needsSvd: boolean
  adapt(weights: TargetWeights, options: AdaptOptions): Promise<Adapter>
}
