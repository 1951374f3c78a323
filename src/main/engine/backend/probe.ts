import { createRequire } from 'node:module'
import { listNvidiaGpus, scanCudaLibraries } from './cudaLibraries'
import { cpuPackage, gpuPackage, missingCudaReason, notInstalledReason, type GpuEvidence } from './reasons'
import { softwareAdapterReason } from './webgpu'
import type { GpuAdapterSummary } from '../../../shared/training'

/**
 * The backend training would pick, said without loading TensorFlow (the app's main thread does no tensor
 * work): which native packages resolve, for tfjs-node-gpu whether the driver and CUDA libraries are there,
 * and which WebGPU adapter the system offers (asked by the host, away from its main thread). It follows
 * selectBackend's order; only a GPU that TensorFlow itself then refuses can make the two differ, and the
 * run's 'started' event says what was really used.
 */
export interface BackendProbe {
  name: 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm'
  skipped: { name: string; reason: string }[]
  matmul?: string
  /** The WebGPU adapter, whether or not `auto` would train on it (a software one it would not). */
  adapter?: GpuAdapterSummary
}

/** What asking for a WebGPU adapter gave: the adapter, or why there is none. */
export type WebGpuProbe = { adapter: GpuAdapterSummary } | { reason: string }

/**
 * The decision alone: `installed` says whether a package resolves, `cuda` gathers the GPU evidence (asked
 * only when tfjs-node-gpu is installed), `webgpu` is what the adapter probe found.
 */
export function predictBackend(installed: (specifier: string) => boolean, cuda: () => GpuEvidence, webgpu: WebGpuProbe): BackendProbe {
  const skipped: BackendProbe['skipped'] = []
  const adapter = 'adapter' in webgpu ? webgpu.adapter : undefined
  const withAdapter = (probe: BackendProbe): BackendProbe => (adapter ? { ...probe, adapter } : probe)
  const gpuInstalled = installed(gpuPackage)
  if (gpuInstalled) {
    const reason = missingCudaReason(cuda())
    if (reason === undefined) return withAdapter({ name: 'tensorflow-gpu', skipped })
    skipped.push({ name: 'tensorflow-gpu', reason })
  } else skipped.push({ name: 'tensorflow-gpu', reason: notInstalledReason(gpuPackage) })
  const webgpuReason = adapter ? softwareAdapterReason(adapter) : (webgpu as { reason: string }).reason
  if (webgpuReason === undefined) return withAdapter({ name: 'webgpu', skipped })
  skipped.push({ name: 'webgpu', reason: webgpuReason })
  // After tfjs-node-gpu found no GPU, selectBackend keeps its libtensorflow, on the CPU, as the 'tensorflow' backend.
  if (gpuInstalled || installed(cpuPackage)) return withAdapter({ name: 'tensorflow', skipped })
  skipped.push({ name: 'tensorflow', reason: notInstalledReason(cpuPackage) })
  return withAdapter({ name: 'wasm', skipped, matmul: 'siva' })
}

let probed: Promise<BackendProbe> | undefined

/**
 * predictBackend on this machine, once per process (TensorFlow too reads the CUDA libraries once, at
 * start); `probeWebGpu` asks for the adapter the way the host can (a worker thread in Node, the GPU window
 * in the app).
 */
export async function probeBackend(probeWebGpu: () => Promise<WebGpuProbe>): Promise<BackendProbe> {
  probed ??= (async () => predictOnThisMachine(await probeWebGpu().catch((error: unknown) => ({ reason: `the WebGPU probe failed: ${error instanceof Error ? error.message : String(error)}` }))))()
  const probe = await probed
  return { ...probe, skipped: [...probe.skipped] }
}

function predictOnThisMachine(webgpu: WebGpuProbe): BackendProbe {
  const require = createRequire(import.meta.url)
  const installed = (specifier: string): boolean => {
    try {
      require.resolve(specifier)
      return true
    } catch {
      return false
    }
  }
  return predictBackend(
    installed,
    () => ({
      platform: process.platform,
      arch: process.arch,
      libraries: scanCudaLibraries().libraries,
      visibleDevices: process.env['CUDA_VISIBLE_DEVICES'],
      gpus: listNvidiaGpus()
    }),
    webgpu
  )
}
