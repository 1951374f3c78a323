import * as tf from '@tensorflow/tfjs'
import { listNvidiaGpus, scanCudaLibraries } from './cudaLibraries'
import { installFastMatMul } from './fastMatMul'
import { installWasmKernels } from './wasmKernels'
import { installFastGelu } from './fastGelu'
import { cpuPackage, gpuDeviceSeen, gpuPackage, importFailureReason, noGpuReason } from './reasons'
import { startWebGpu } from './webgpu'
import type { GpuAdapterSummary } from '../../../shared/training'

export { probeBackend } from './probe'

/**
 * Which TensorFlow.js backend runs training, chosen once per process: CUDA through tfjs-node-gpu, else
 * WebGPU on a hardware adapter (Metal, D3D12, Vulkan: webgpu.ts), else libtensorflow on the CPU through
 * tfjs-node, else WebAssembly (SIMD), else plain JavaScript. The two native packages are optional
 * dependencies that fail to install where libtensorflow cannot be downloaded; each step down says why, so
 * the app and the CLI can show it.
 */
export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu'

export const backendOrder: readonly BackendName[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']

export interface BackendChoice {
  name: BackendName
  /** tfjs's own name for it ('tensorflow' for both native packages). */
  tfBackend: string
  /** Each backend tried before the chosen one, and why it was passed over. */
  skipped: { name: BackendName; reason: string }[]
  /** CUDA devices seen (tfjs-node-gpu only): the names nvidia-smi gives, where it runs. */
  gpu?: string
  /** The native backends: which npm package's libtensorflow runs. */
  nativePackage?: string
  /** wasm only: which matrix multiply runs (ours, see fastMatMul.ts, unless SIVA_TFJS_MATMUL=1). */
  matmul?: 'siva relaxed-simd' | 'siva simd' | 'tfjs'
  /** webgpu only: the adapter it runs on. */
  adapter?: GpuAdapterSummary
}

let chosen: BackendChoice | undefined
/** tfjs-node-gpu was imported; it registers the 'tensorflow' backend whether or not it finds a GPU. */
let gpuPackageLoaded = false

/**
 * Choose and initialise the backend. `preferred` 'auto' (default) walks the order above (less `without`); a named backend
 * is required, and failing to start it is an error that says why. Calling again returns the first choice:
 * tfjs holds one backend per process.
 */
export async function selectBackend(preferred: BackendName | 'auto' = 'auto', options: { without?: readonly BackendName[] } = {}): Promise<BackendChoice> {
  if (chosen) {
    if (preferred !== 'auto' && preferred !== chosen.name) throw new Error(`the ${chosen.name} backend is already running in this process; cannot switch to ${preferred}`)
    return chosen
  }
  // `without`: work too small to want a device (restoring a run for export) leaves WebGPU out of `auto`.
  const candidates = preferred === 'auto' ? backendOrder.filter((name) => !options.without?.includes(name)) : [preferred]
  const skipped: BackendChoice['skipped'] = []
  for (const name of candidates) {
    try {
      const choice = await start(name, preferred !== 'auto')
      chosen = { ...choice, skipped }
      return chosen
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error)
      if (preferred !== 'auto') throw new Error(`the ${name} backend cannot start: ${reason}`, { cause: error })
      skipped.push({ name, reason })
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`)
}

async function start(name: BackendName, forced: boolean): Promise<Omit<BackendChoice, 'skipped'>> {
  switch (name) {
    case 'webgpu': {
      // Asked for by name, a software adapter is accepted: it is how the WebGPU path is tested without a GPU.
      const adapter = await startWebGpu({ allowSoftware: forced, platform: process.platform })
      return { name, tfBackend: 'webgpu', adapter }
    }
    case 'tensorflow-gpu': {
      await importOptional(gpuPackage)
      gpuPackageLoaded = true
      await activate('tensorflow')
      // tfjs-node-gpu loads without CUDA and then runs on the CPU, saying so only in TensorFlow's log: ask it.
      const seen = gpuDeviceSeen(tf.backend())
      if (seen === undefined) throw new Error(`${gpuPackage} loaded, but its backend does not say whether TensorFlow found a GPU (no isUsingGpuDevice)`)
      const gpus = listNvidiaGpus()
      if (!seen) {
        const { libraries } = scanCudaLibraries()
        throw new Error(noGpuReason({ platform: process.platform, arch: process.arch, libraries, visibleDevices: process.env['CUDA_VISIBLE_DEVICES'], gpus }))
      }
      return { name, tfBackend: 'tensorflow', gpu: gpus && gpus.length > 0 ? gpus.map((gpu) => gpu.name).join(', ') : 'a CUDA device', nativePackage: gpuPackage }
    }
    case 'tensorflow':
      // After tfjs-node-gpu found no GPU, its libtensorflow is the CPU one we want: loading tfjs-node's too
      // would put a second libtensorflow in the process for the same backend name.
      if (gpuPackageLoaded) {
        await activate('tensorflow')
        return { name, tfBackend: 'tensorflow', nativePackage: gpuPackage }
      }
      await importOptional(cpuPackage)
      await activate('tensorflow')
      return { name, tfBackend: 'tensorflow', nativePackage: cpuPackage }
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm')
      await activate('wasm')
      if (process.env['SIVA_TFJS_KERNELS'] !== '1') {
        installWasmKernels()
        installFastGelu()
      }
      const matmul = process.env['SIVA_TFJS_MATMUL'] === '1' ? 'tfjs' : (`siva ${installFastMatMul()}` as const)
      return { name, tfBackend: 'wasm', matmul }
    }
    case 'cpu':
      await activate('cpu')
      return { name, tfBackend: 'cpu' }
  }
}

async function importOptional(specifier: string): Promise<void> {
  try {
    await import(specifier)
  } catch (error) {
    throw new Error(importFailureReason(specifier, error), { cause: error })
  }
}

async function activate(backend: string): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') refused`)
  await tf.ready()
}
