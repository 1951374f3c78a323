import { availableParallelism } from 'node:os'
import { startGemmHelpers } from '../engine/backend/fastMatMul'
import { spawnWorker, workerEntry } from './spawn'

/**
 * Threads for the wasm backend's matmul: helpers that take a share of each large product, so training uses
 * every core (tfjs's wasm backend itself runs on one thread in Node). SIVA_GEMM_THREADS sets the total,
 * the calling thread included (1: no helpers); the default is one per core, at most 8.
 */
export function gemmThreadCount(): number {
  const set = Number(process.env['SIVA_GEMM_THREADS'])
  if (Number.isInteger(set) && set >= 1) return Math.min(set, 16)
  return Math.max(1, Math.min(availableParallelism(), 8))
}

/** Start the helper threads; returns the function that stops them (waiting for each to exit). */
export function startGemmThreads(threads = gemmThreadCount()): () => Promise<void> {
  return startGemmHelpers(threads - 1, (data) => {
    const worker = spawnWorker(workerEntry('gemmWorker', import.meta.url), { workerData: data })
    let running = true
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    void exited.then(() => (running = false))
    // A helper that fails is noticed by the multiply (it stops using helpers); the error needs no other handler.
    worker.on('error', () => (running = false))
    worker.unref()
    return {
      alive: () => running,
      stop: async () => {
        // The helper returns on its own once it sees the stop flag; terminate() is only the backstop.
        const timer = setTimeout(() => void worker.terminate(), 2000)
        await exited
        clearTimeout(timer)
      }
    }
  })
}
