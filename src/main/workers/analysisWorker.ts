// Worker entry for the analysis pool: one SVD per task, nothing else. Thin on purpose: the math lives
// in the engine, the scheduling in the pool.
import { parentPort } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { releaseSvdKernel, svd, svdBand, svdKernelMemoryBytes } from '../engine/linalg'
import type { SvdTask, SvdTaskResult, TaskMessage, WorkerMessage } from './protocol'

/** A typed array that owns its whole buffer, safe to transfer (never a view into wasm memory). */
function owned(a: Float64Array): Float64Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && !(a.buffer instanceof SharedArrayBuffer) ? a : a.slice()
}

/** WebAssembly memory never shrinks: past this, a long-lived worker drops its kernel after a task. */
const keepKernelBytes = 512 * 1024 * 1024

if (!parentPort) throw new Error('analysisWorker must run in a worker thread')
const port = parentPort

port.on('message', (message: TaskMessage<SvdTask>) => {
  const { id, payload: task } = message
  try {
    const start = performance.now()
    const result = task.band
      ? svdBand(task.matrix, task.m, task.n, { band: task.band, name: task.name })
      : svd(task.matrix, task.m, task.n, { vectors: task.vectors, name: task.name })
    const s = owned(result.s)
    const payload: SvdTaskResult = { name: task.name, s, seconds: (performance.now() - start) / 1000 }
    if (task.band) payload.band = [task.band[0], task.band[1]]
    const transfer: ArrayBuffer[] = [s.buffer as ArrayBuffer]
    if (task.returnVectors && result.u && result.vt) {
      payload.u = owned(result.u)
      payload.vt = owned(result.vt)
      transfer.push(payload.u.buffer as ArrayBuffer, payload.vt.buffer as ArrayBuffer)
    }
    port.postMessage({ type: 'result', id, payload } satisfies WorkerMessage<SvdTaskResult>, transfer)
    if (svdKernelMemoryBytes() > keepKernelBytes) releaseSvdKernel()
  } catch (error) {
    releaseSvdKernel() // a failed call (out of memory) leaves nothing worth keeping
    const e = error instanceof Error ? error : new Error(String(error))
    port.postMessage({ type: 'error', id, name: e.name, message: e.message } satisfies WorkerMessage<SvdTaskResult>)
  }
})
