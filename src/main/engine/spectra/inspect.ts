import { performance } from 'node:perf_hooks'
import type { TensorSource } from '../io'
import { firstNonFinite } from '../linalg/finite'
import type { InspectReport, LayerSpectrum } from '../../../shared/spectra'
import { spectralMetrics } from './metrics'
import { columnBlock, planMatrices, type MatrixPlan } from './targets'
import type { NamePattern } from '../../../shared/pattern/safePattern'

/** One SVD to run; the host decides where (a worker pool in the app and the CLI). */
export interface SvdJob {
  /** What the matrix is, as error messages name it ("tensor NAME", "block k of tensor NAME (columns a–b)"). */
  name: string
  m: number
  n: number
  /** Row-major float64; owned by the job (it may be transferred to another thread). */
  matrix: Float64Array
  vectors: boolean
  returnVectors?: boolean
  /** [start, end) in descending σ: every σ, but only this band's vectors (linalg/svdBand.ts). */
  band?: [number, number]
}

export interface SvdJobResult {
  s: Float64Array
  u?: Float64Array
  vt?: Float64Array
  /** The band u (m×k) and vt (k×n) hold, when the job asked for one. */
  band?: [number, number]
  seconds: number
}

export type SvdRunner = (job: SvdJob, signal?: AbortSignal) => Promise<SvdJobResult>

export interface InspectProgress {
  /** Matrices finished so far, of `total`. */
  done: number
  total: number
  /** The matrix just finished. */
  name: string
  shape: [number, number]
  /** Seconds its SVD took, or undefined when there is none (NaN/Inf values, a failed SVD: see `error`). */
  seconds?: number
  error?: string
  /** The finished matrix's spectrum (the UI fills its table as they come). */
  layer?: LayerSpectrum
}

export interface InspectOptions {
  runSvd: SvdRunner
  /** Matrices in flight at once: bounds memory (each holds its matrix). Default 4. */
  concurrency?: number
  /** Fraction of singular values SiVA would train, for the bottom-k energy share. Default 0.1. */
  perc?: number
  /** Singular values only: much cheaper, for spectra of matrices nobody trains. */
  valuesOnly?: boolean
  layers?: NamePattern
  includeEmbeddings?: boolean
  signal?: AbortSignal
  onProgress?: (progress: InspectProgress) => void
}

/**
 * Reads each plan's matrix. A fused tensor is read once for all its blocks (kept until its last block
 * is cut out), not once per block.
 */
class MatrixReader {
  private readonly shared = new Map<string, { data?: Promise<Float64Array>; remaining: number }>()

  constructor(
    private readonly source: TensorSource,
    plans: readonly MatrixPlan[]
  ) {
    for (const plan of plans) {
      if (!plan.columns) continue
      const entry = this.shared.get(plan.tensor.name)
      if (entry) entry.remaining++
      else this.shared.set(plan.tensor.name, { remaining: 1 })
    }
  }

  async read(plan: MatrixPlan): Promise<Float64Array> {
    if (!plan.columns) {
      const data = await this.source.readFloat64(plan.tensor.name)
      // Own the buffer outright: it is transferred to a worker.
      return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice()
    }
    const entry = this.shared.get(plan.tensor.name)!
    entry.data ??= this.source.readFloat64(plan.tensor.name)
    // The stored matrix: the last two axes (a 1×1 convolution kernel has unit axes in front).
    const [rows, cols] = plan.tensor.shape.slice(-2) as [number, number]
    try {
      return columnBlock(await entry.data, rows, cols, plan.columns[0], plan.columns[1])
    } finally {
      if (--entry.remaining === 0) this.shared.delete(plan.tensor.name)
    }
  }
}

/**
 * SVD failures that belong to one matrix (its values, its size): reported on that matrix, and the
 * inspection goes on. Told by name, as errors cross from a worker as name and message. Cancelling, a
 * closed pool or a bug still end the inspection.
 */
const matrixFailures = new Set(['SvdInputError', 'SvdConvergenceError', 'SvdMemoryError', 'WorkerCrashedError'])

/** The matrix as messages name it: the tensor, and for a block of a fused one which block and columns. */
function describePlan(plan: MatrixPlan): string {
  if (!plan.columns) return `tensor ${plan.tensor.name}`
  const part = plan.name.slice(plan.tensor.name.length + 1)
  return `block ${part} of tensor ${plan.tensor.name} (columns ${plan.columns[0]}–${plan.columns[1]})`
}

/**
 * The spectra of every 2-D weight of a checkpoint: singular values and their summaries, one matrix per
 * SVD task, results in file order whatever order they finish in. A matrix that cannot be analysed
 * (NaN/Inf weights, an SVD that fails) is reported on that matrix, with the file and tensor named, and
 * the others are analysed all the same.
 */
export async function inspectSource(source: TensorSource, options: InspectOptions): Promise<InspectReport> {
  const start = performance.now()
  const perc = options.perc ?? 0.1
  const valuesOnly = options.valuesOnly ?? false
  const { matrices, skipped } = planMatrices(source.tensors, {
    layers: options.layers,
    includeEmbeddings: options.includeEmbeddings,
    modelType: source.config?.modelType
  })
  for (const t of source.unreadable) skipped.push({ name: t.name, shape: [...t.shape], dtype: t.dtype, reason: t.reason })
  const results: LayerSpectrum[] = new Array(matrices.length)
  const reader = new MatrixReader(source, matrices)
  let done = 0
  let next = 0

  const analyse = async (index: number): Promise<void> => {
    const plan = matrices[index]!
    const base = { name: plan.name, tensor: plan.tensor.name, shape: plan.shape, dtype: plan.tensor.dtype }
    const matrix = await reader.read(plan)
    const what = describePlan(plan)
    const bad = firstNonFinite(matrix, plan.shape[1])
    let seconds: number | undefined
    if (bad) {
      results[index] = { ...base, ...emptyMetrics(), error: `${source.source}: ${what} holds ${bad}` }
    } else {
      let result: SvdJobResult | undefined
      try {
        result = await options.runSvd({ name: what, m: plan.shape[0], n: plan.shape[1], matrix, vectors: !valuesOnly }, options.signal)
      } catch (error) {
        if (!(error instanceof Error && matrixFailures.has(error.name))) throw error
        results[index] = { ...base, ...emptyMetrics(), error: `${source.source}: ${error.message}` }
      }
      if (result) {
        seconds = result.seconds
        const metrics = spectralMetrics(result.s, perc)
        results[index] = {
          ...base,
          singularValues: Array.from(result.s),
          ...metrics,
          conditionNumber: Number.isFinite(metrics.conditionNumber) ? metrics.conditionNumber : null
        }
      }
    }
    done++
    options.onProgress?.({ done, total: matrices.length, name: plan.name, shape: plan.shape, seconds, error: results[index]!.error, layer: results[index]! })
  }

  let failed = false
  const lane = async (): Promise<void> => {
    while (next < matrices.length && !failed) {
      options.signal?.throwIfAborted()
      try {
        await analyse(next++)
      } catch (error) {
        failed = true // the other lanes stop taking work; the first error is the one reported
        throw error
      }
    }
  }
  const lanes = Math.max(1, Math.min(options.concurrency ?? 4, matrices.length))
  await Promise.all(Array.from({ length: lanes }, lane))

  return {
    source: source.source,
    format: source.format,
    modelType: source.config?.modelType,
    perc,
    valuesOnly,
    tensors: results,
    skipped,
    seconds: (performance.now() - start) / 1000
  }
}

function emptyMetrics(): Omit<LayerSpectrum, 'name' | 'tensor' | 'shape' | 'dtype' | 'error'> {
  return { singularValues: [], effectiveRank: NaN, stableRank: NaN, spectralNorm: NaN, conditionNumber: null, bottomK: 0, bottomEnergyShare: NaN }
}
