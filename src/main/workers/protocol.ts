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
}

export interface SvdTaskResult {
  name: string
  s: Float64Array
  u?: Float64Array
  vt?: Float64Array
  /** Seconds spent in the SVD itself, inside the worker. */
  seconds: number
}
