import type { WebGpuProbe } from '../engine/backend/probe'
import { spawnWorker, workerEntry } from './spawn'

/**
 * The WebGPU adapter this machine offers Node, asked in a short-lived worker thread (webgpuProbeWorker.ts)
 * so the host's thread stays free of Dawn; bounded in time, since a wedged driver must not hang appInfo.
 */
export function probeWebGpuInWorker(timeoutMs = 20_000): Promise<WebGpuProbe> {
  const worker = spawnWorker(workerEntry('webgpuProbeWorker', import.meta.url))
  return new Promise<WebGpuProbe>((resolve) => {
    const timer = setTimeout(() => resolve({ reason: `the WebGPU adapter probe did not answer within ${timeoutMs / 1000} s` }), timeoutMs)
    worker.once('message', (result: WebGpuProbe) => resolve(result))
    worker.once('error', (error) => resolve({ reason: `the WebGPU adapter probe failed: ${error.message}` }))
    worker.once('exit', (code) => resolve({ reason: `the WebGPU adapter probe stopped (exit code ${code}) before answering` }))
    const done = (): void => {
      clearTimeout(timer)
      void worker.terminate()
    }
    worker.once('message', done)
    worker.once('error', done)
    worker.once('exit', () => clearTimeout(timer))
  })
}
