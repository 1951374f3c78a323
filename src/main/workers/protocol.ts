/**
 * Messages between a pool and its workers. Nothing here cares whether the other side is a thread, a
 * utilityProcess or a child process: only that messages are structured-cloneable.
 */
export interface TaskMessage<T> {
  type: 'task'
  id: number
  payload: T
}

export type WorkerMessage<R, P = unknown> =
  | { type: 'result'; id: number; payload: R }
  | { type: 'progress'; id: number; payload: P }
  | { type: 'error'; id: number; name: string; message: string }

/** Analysis task: the SVD of one matrix. */
export interface SvdTask {
  name: string
  m: number
  n: number
  /** Row-major m×n, float64; transferred, so the sender must not use it afterwards. */
  matrix: Float64Array
  vectors: boolean
  /** Return U and Vᵀ to the caller (otherwise the worker drops them after computing). */
  returnVectors: boolean
  /**
   * [start, end) in descending σ: all σ, but the singular vectors of this band only (svdBand; SiVA's
   * bottom k is [r − k, r)). `vectors` is then implied; u is m×k, vt k×n.
   */
  band?: [number, number]
}

export interface SvdTaskResult {
  name: string
  s: Float64Array
  u?: Float64Array
  vt?: Float64Array
  /** The band u and vt hold (m×k and k×n), when the task asked for one. */
  band?: [number, number]
  /** Seconds spent in the SVD itself, inside the worker. */
  seconds: number
}
