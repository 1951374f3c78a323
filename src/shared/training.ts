/**
 * A training run as the engine, the CLI (`siva train --json-events`), the run folder (`events.jsonl`)
 * and the app's Train view all see it: one configuration and a stream of typed events.
 */

import type { MethodName } from './methods'

export type TrainTask = 'classify' | 'regress' | 'causal-lm' | 'image-classify'
/** A fine-tuning method: what each one is lives in the method catalogue (methods.ts). */
export type TrainMethod = MethodName
export type TrainBackend = 'auto' | 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu'

/** The WebGPU adapter a backend runs on, as the adapter describes itself (GPUAdapterInfo and two of its limits). */
export interface GpuAdapterSummary {
  vendor: string
  architecture: string
  description: string
  /** A software adapter (SwiftShader) or one the system calls a fallback: `auto` never trains on one. */
  fallback: boolean
  /** Where it runs: Dawn in Node, or Chromium's WebGPU in the app's GPU window. */
  host: 'dawn' | 'chromium'
  maxStorageBufferBindingSize: number
  maxBufferSize: number
}

/** The backend a run (or a probe) uses: its name, each faster one passed over with the reason, and its details. */
export interface BackendSummary {
  name: string
  skipped: { name: string; reason: string }[]
  matmul?: string
  threads?: number
  adapter?: GpuAdapterSummary
}
export type LearningRateSchedule = 'linear' | 'cosine' | 'constant'

export interface TrainConfig {
  /** Checkpoint folder (config.json + safetensors + tokenizer or preprocessor files). */
  model: string
  /** Training data: a file, or a folder of class folders for images. */
  data: string
  /** A separate validation set; otherwise `validationFraction` of the training data, stratified. */
  validation?: string
  validationFraction: number
  task: TrainTask
  method: TrainMethod
  /** Spectral methods: fraction of singular values trained, or k itself. */
  perc?: number
  k?: number
  /** LoRA rank and alpha. */
  rank?: number
  alpha?: number
  /** Regex over target names (`transformer.h.0.attn.c_attn.q`); the architecture's default when absent. */
  targets?: string
  /** Per-layer settings; the last matching pattern wins. */
  overrides?: { pattern: string; perc?: number; k?: number; rank?: number; skip?: boolean }[]
  /** Train for this many epochs, or stop after maxSteps optimiser steps, whichever comes first. */
  epochs: number
  maxSteps?: number
  batchSize: number
  gradientAccumulation: number
  /** Adapter (or full-model) learning rate, and the task head's. */
  lr: number
  headLr: number
  weightDecay: number
  schedule: LearningRateSchedule
  /** Warmup as a fraction of all optimiser steps. */
  warmupRatio: number
  maxGradNorm: number
  /** Apply the checkpoint's dropout while training, as transformers does (default true). */
  dropout?: boolean
  seed: number
  /** Text: token limit (default the tokenizer's, at most 512). */
  maxLength?: number
  /** Causal LM plain text: join texts into full blocks of maxLength. */
  pack?: boolean
  /** Evaluate every N optimiser steps (0: only at the end of each epoch). */
  evalEvery: number
  /** Emit adapted spectra every N optimiser steps. */
  spectraEvery: number
  /** Write a checkpoint every N optimiser steps (and at the end). */
  checkpointEvery: number
  backend: TrainBackend
  /** Which columns to read; `messages`: chat data's conversation column (causal LM). */
  columns?: { text?: string; textPair?: string; label?: string; prompt?: string; path?: string; messages?: string }
}

export interface TargetSummary {
  name: string
  shape: [number, number]
  /** Trainable parameters this target adds. */
  trainable: number
  /** Spectral methods: the trained band [start, end) of the descending singular values. */
  band?: [number, number]
}

export interface ParameterCounts {
  /** Parameters the method adds or frees across its targets. */
  adapter: number
  /** The task head's parameters (always trainable). */
  head: number
  total: number
  /** For comparison, on the same targets: LoRA r = 8 and full fine-tuning of the whole model. */
  lora8: number
  full: number
}

/** About how much memory a run needs (engine/training/memoryEstimate.ts), in bytes, and what its backend holds. */
export interface MemoryEstimate {
  total: number
  weights: number
  /** The bands' singular vectors, and the SVDs' working copies while decomposing. */
  bands: number
  /** What the backward pass keeps, at `batchSize` × `length` tokens. */
  activations: number
  optimizer: number
  batchSize: number
  length: number
  /** The backend's limit, where it has one this process knows (wasm: 4 GiB). */
  limit?: { bytes: number; what: string }
}

export interface LayerSpectrumNow {
  name: string
  /** Descending singular values now (|σᵢ + δᵢ| in the band, the rest unchanged). */
  now: number[]
  band: [number, number]
  erankBefore: number
  erank: number
}

interface EventBase {
  /** Position in the run's event stream, from 0: a reconnecting view asks for events after the last it saw. */
  index: number
  /** ISO time. */
  time: string
}

/**
 * What a run is busy with, as its 'stage' events say (done of total where counted; a total of 0: not
 * counted). Preparing: 'data' (bytes checked or encoded), 'svd' (targets decomposed), 'model' (adapters
 * made, the model built); then 'training', 'evaluating' (validation batches), 'saving' (a checkpoint) and
 * 'finishing'. Logs written before the last four were added hold only the first three.
 */
export type TrainStage = 'data' | 'svd' | 'model' | 'training' | 'evaluating' | 'saving' | 'finishing'

export type TrainEvent = EventBase &
  (
    | { type: 'started'; config: TrainConfig; backend: BackendSummary; resumedFrom?: number }
    | { type: 'prepared'; parameters: ParameterCounts; targets: TargetSummary[]; data: { train: number; validation: number; labels?: string[] }; totalSteps: number; spectraBefore: { name: string; before: number[]; band: [number, number] }[]; warnings?: string[]; memory?: MemoryEstimate }
    | { type: 'stage'; stage: TrainStage; done: number; total: number; detail?: string; etaSeconds?: number }
    | { type: 'step'; step: number; epoch: number; loss: number; lr: number; gradNorm: number; samplesPerSecond: number; stepsPerSecond: number; etaSeconds: number }
    | { type: 'eval'; step: number; epoch: number; metrics: Record<string, number>; best: boolean }
    | { type: 'spectra'; step: number; layers: LayerSpectrumNow[] }
    | { type: 'checkpoint'; step: number; name: string }
    | { type: 'paused'; step: number }
    | { type: 'resumed'; step: number }
    | { type: 'cancelled'; step: number }
    | { type: 'finished'; step: number; best?: { step: number; metrics: Record<string, number> }; seconds: number }
    | { type: 'error'; message: string; /** Training turned NaN or ∞ at this step (its checkpoint was not written). */ step?: number }
  )

export type TrainEventType = TrainEvent['type']
