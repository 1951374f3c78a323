import type { WebGpuProbe } from '../engine/backend/probe'
import { spawnWorker, workerEntry } from './spawn'

/**
 * The WebGPU adapter this machine offers Node, asked in a short-lived worker thread (webgpuProbeWorker.ts)
 * so the host's thread stays free of Dawn; bounded in time, since a wedged driver must not hang appInfo.
 */
export function probeWebGpuInWorker(timeoutMs = 20_000): Promise<WebGpuProbe> {
  const worker = spawnWorker(workerEntry('webgpuProbeWorker', import.meta.url))
  return new Promise<WebGpuProbe>((resolve) => {
    // The first answer wins: the worker's, its failure, its exit, or the time limit.
    const finish = (result: WebGpuProbe): void => {
      clearTimeout(timer)
      resolve(result)
      void worker.terminate()
    }
    const timer = setTimeout(() => finish({ reason: `the WebGPU adapter probe did not answer within ${timeoutMs / 1000} s` }), timeoutMs)
    worker.once('message', finish)
    worker.once('error', (error) => finish({ reason: `the WebGPU adapter probe failed: ${error.message}` }))
    worker.once('exit', (code) => finish({ reason: `the WebGPU adapter probe stopped (exit code ${code}) before answering` }))
  })
}
