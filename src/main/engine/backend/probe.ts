import { createRequire } from 'node:module'
import { listNvidiaGpus, scanCudaLibraries } from './cudaLibraries'
import { cpuPackage, gpuPackage, missingCudaReason, notInstalledReason, type GpuEvidence } from './reasons'

/**
 * The backend training would pick, said without loading TensorFlow (the app's main thread does no tensor
 * work): which native packages resolve and, for tfjs-node-gpu, whether the driver and CUDA libraries are
 * there. It follows selectBackend's order; only a GPU that TensorFlow itself then refuses can make the
 * two differ, and the run's 'started' event says what was really used.
 */
export interface BackendProbe {
  name: 'tensorflow-gpu' | 'tensorflow' | 'wasm'
  skipped: { name: string; reason: string }[]
  matmul?: string
}

/** The decision alone: `installed` says whether a package resolves, `cuda` gathers the GPU evidence (asked only when tfjs-node-gpu is installed). */
export function predictBackend(installed: (specifier: string) => boolean, cuda: () => GpuEvidence): BackendProbe {
  const skipped: BackendProbe['skipped'] = []
  if (installed(gpuPackage)) {
    const reason = missingCudaReason(cuda())
    if (reason === undefined) return { name: 'tensorflow-gpu', skipped }
    // selectBackend then keeps tfjs-node-gpu's libtensorflow, on the CPU, as the 'tensorflow' backend.
    return { name: 'tensorflow', skipped: [{ name: 'tensorflow-gpu', reason }] }
  }
  skipped.push({ name: 'tensorflow-gpu', reason: notInstalledReason(gpuPackage) })
  if (installed(cpuPackage)) return { name: 'tensorflow', skipped }
  skipped.push({ name: 'tensorflow', reason: notInstalledReason(cpuPackage) })
  return { name: 'wasm', skipped, matmul: 'siva' }
}

let probed: BackendProbe | undefined

/** predictBackend on this machine, once per process (TensorFlow too reads the CUDA libraries once, at start). */
export function probeBackend(): BackendProbe {
  if (probed) return { ...probed, skipped: [...probed.skipped] }
  const require = createRequire(import.meta.url)
  const installed = (specifier: string): boolean => {
    try {
      require.resolve(specifier)
      return true
    } catch {
      return false
    }
  }
  probed = predictBackend(installed, () => ({
    platform: process.platform,
    arch: process.arch,
    libraries: scanCudaLibraries().libraries,
    visibleDevices: process.env['CUDA_VISIBLE_DEVICES'],
    gpus: listNvidiaGpus()
  }))
  return { ...probed, skipped: [...probed.skipped] }
}
