import type * as tf from '@tensorflow/tfjs'
import type { AdaptableLinear, LinearFn } from '../models/types'
import type { MethodName } from '../../../shared/methods'

export type { MethodKind, MethodName } from '../../../shared/methods'

/** A target's frozen weight, exactly as the checkpoint holds it, in nn.Linear orientation. */
export interface TargetWeights {
  target: AdaptableLinear
  /** W, [out, in] row-major, float64. */
  weight: Float64Array
  bias?: Float64Array
}

/**
 * A thin SVD of W = U·diag(s)·Vᵀ ([out, in]): all r singular values, and u out×r, vt r×in (row-major); or,
 * with `band` [start, end), only that band's vectors: u out×k, vt k×in (k = end − start). Read a band's
 * vectors with bandVectorsOf (decomposition.ts), which takes either.
 */
export interface Decomposition {
  s: Float64Array
  u: Float64Array
  vt: Float64Array
  band?: [number, number]
}

/**
 * Computes (or fetches from a cache) the SVD of a target's weight. Given a band, the answer must hold at least
 * that band's vectors (a whole SVD does); methods that train a band ask for theirs, so a large matrix's SVD
 * can skip the rest.
 */
export type Decompose = (weights: TargetWeights, band?: [number, number]) => Promise<Decomposition>

export interface AdaptOptions {
  /** Spectral methods: the fraction of singular values trained (the catalogue's bandSize, shared/methods.ts). */
  perc?: number
  /** Spectral methods: k itself (wins over perc). */
  k?: number
  /** LoRA: rank r (the catalogue's loraRank) and alpha (scaling alpha / r). */
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
  /** σ now, descending, from the variables' current values (read asynchronously: see Adapter). */
  now(): Promise<Float64Array>
}

/**
 * ΔW = B·A as a product of two thin factors, float64: B [out, rank] and A [rank, in], row-major. Every
 * adapter method's update has this form (SiVA: B = U_b diag(δ), A = V_bᵀ; LoRA: B = (alpha/r)·B, A = A),
 * which is what the merged export accumulates and what a PEFT LoRA adapter stores.
 */
export interface LowRank {
  rank: number
  b: Float64Array
  a: Float64Array
}

/**
 * What a method saves in an adapter file for one target: its own parameters (δ, LoRA's A and B) and the
 * settings they need. Tensors marked `derived` come from the base weight's SVD; an adapter written
 * compact leaves them out and loading recomputes them from the base.
 */
export interface StoredParameters {
  settings: { k?: number; band?: [number, number]; rank?: number; alpha?: number }
  tensors: { name: string; shape: number[]; values: Float32Array | Float64Array; derived?: boolean }[]
}

/**
 * A target after a method took it over. Everything that reads the variables' values is asynchronous:
 * WebGPU in Node has no synchronous read path at all, and on any GPU a synchronous read stalls the thread
 * until the queue drains (lint forbids dataSync and its kin in src/main).
 */
export interface Adapter {
  target: AdaptableLinear
  linear: LinearFn
  variables: tf.Variable[]
  trainableParameters: number
  /** ΔW = W' − W, [out, in] row-major float64, from the variables' current values (for export and checks). */
  deltaWeight(): Promise<Float64Array>
  /** ΔW as two thin factors, from the variables' current values. */
  lowRank(): Promise<LowRank>
  /** The method's parameters as an adapter file stores them, from the variables' current values. */
  stored(): Promise<StoredParameters>
  spectrum?: LiveSpectrum
  dispose(): void
}

interface MethodBase {
  name: MethodName
  /** Whether the method calls `decompose` (so the host can run SVDs ahead, in its worker pool): the spectral ones. */
  needsSvd: boolean
}

/** A method that wraps each chosen target in an adapter (siva, svdiff, topk, lora). */
export interface AdapterMethod extends MethodBase {
  kind: 'adapter'
  adapt(weights: TargetWeights, options: AdaptOptions): Promise<Adapter>
  /**
   * ΔW's factors from parameters an adapter file stored (`stored()` of a trained adapter). Tensors marked
   * derived may be missing (a compact adapter): then `decompose` gives them back from the base weight.
   */
  restore(stored: StoredParameters, weights: TargetWeights, decompose: Decompose): Promise<LowRank>
}

/**
 * A method that wraps no target: 'head' trains only the task head; 'full' trains every weight (the model
 * is built with trainAll). It has nothing to adapt and no adapter parameters to restore.
 */
export interface WholeModelMethod extends MethodBase {
  kind: 'head' | 'full'
  adapt?: undefined
  restore?: undefined
}

/** A method's engine side; its `kind` is the method catalogue's (shared/methods.ts). */
export type PeftMethod = AdapterMethod | WholeModelMethod
