import * as tf from '@tensorflow/tfjs'
import type { GpuAdapterSummary } from '../../../shared/training'
import { installWebGpuKernels } from './webgpu/kernels'

/**
 * WebGPU for TensorFlow.js, wherever this code runs: in a browser page or worker (Chromium's WebGPU, the
 * desktop app's GPU window) the platform's own `navigator.gpu`; in Node (`siva train`, `siva serve`, the
 * training worker thread) Dawn's bindings from the `webgpu` package, installed as `navigator.gpu` before
 * tfjs-backend-webgpu looks for it. Either way the adapter is asked for first and described, so that
 * `auto` can refuse a software one (SwiftShader runs Vulkan on the CPU, where our wasm kernels are
 * faster) and every refusal says which adapter it saw.
 */

/** The slice of the WebGPU API used here (the DOM typings are not part of the Node build). */
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
  isFallbackAdapter?: boolean
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<AdapterLike | null>
}

/** What a host without a platform WebGPU gives instead: Dawn's `create` and its globals (GPUBufferUsage and the rest). */
interface DawnModule {
  create(flags: string[]): GpuLike
  globals: Record<string, unknown>
}


let gpuPromise: Promise<{ gpu: GpuLike; host: GpuAdapterSummary['host'] }> | undefined

/** navigator.gpu, made once per process (Dawn's instance is process-wide; a second one would be a second Vulkan instance). */
function webGpu(): Promise<{ gpu: GpuLike; host: GpuAdapterSummary['host'] }> {
  gpuPromise ??= (async () => {
    const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator
    if (nav?.gpu) return { gpu: nav.gpu, host: 'chromium' as const }
    // Dawn's addon hands out external ArrayBuffers, which Electron's V8 memory cage forbids: it would crash the
    // process (dawn-gpu/node-webgpu#5). Inside Electron, WebGPU is Chromium's, in the app's GPU window.
    if (typeof process !== 'undefined' && process.versions?.['electron']) throw new Error("Dawn's WebGPU for Node cannot run inside Electron; the desktop app trains on WebGPU in its GPU window instead")
    let dawn: DawnModule
    try {
      dawn = (await import('webgpu')) as unknown as DawnModule
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error)
      throw new Error(`Dawn's WebGPU for Node (the webgpu package) did not load: ${message}`, { cause: error })
    }
    const gpu = dawn.create([])
    // tfjs-backend-webgpu uses the WebGPU globals (GPUBufferUsage, GPUMapMode, …) and navigator.gpu, as in a browser.
    for (const [name, value] of Object.entries(dawn.globals)) if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true })
    if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true })
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true })
    return { gpu, host: 'dawn' as const }
  })()
  return gpuPromise
}

/** Names that only software rasterisers give themselves, for adapters that do not set isFallbackAdapter. */
const softwareNames = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i

export function describeAdapter(adapter: AdapterLike, host: GpuAdapterSummary['host']): GpuAdapterSummary {
  const info = adapter.info ?? {}
  const vendor = info.vendor ?? ''
  const architecture = info.architecture ?? ''
  const description = info.description || info.device || ''
  const flagged = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false
  return {
    vendor,
    architecture,
    description,
    fallback: flagged || softwareNames.test(`${vendor} ${architecture} ${description}`),
    host,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize
  }
}

/** "google swiftshader (SwiftShader driver 5.0.0)", as messages name an adapter. */
export function adapterName(adapter: GpuAdapterSummary): string {
  const name = [adapter.vendor, adapter.architecture].filter((part) => part !== '').join(' ') || 'an unnamed adapter'
  return adapter.description ? `${name} (${adapter.description})` : name
}

/** Why no adapter came back, with what to install, per system. */
export function noAdapterReason(platform: string, host: GpuAdapterSummary['host']): string {
  if (host === 'chromium') return 'Chromium offered no WebGPU adapter (the GPU is blocklisted or WebGPU is disabled: see chrome://gpu)'
  switch (platform) {
    case 'linux':
      return 'no WebGPU adapter: Dawn found no Vulkan driver (install the Vulkan loader, libvulkan1 on Debian/Ubuntu, and your GPU vendor\'s Vulkan driver; docs/gpu.md shows how to test with the SwiftShader software driver)'
    case 'darwin':
      return 'no WebGPU adapter: Dawn found no Metal device'
    case 'win32':
      return 'no WebGPU adapter: Dawn found no D3D12 device (update the GPU driver)'
    default:
      return `no WebGPU adapter on ${platform}`
  }
}

/** The adapter WebGPU would train on, or why there is none; starts nothing of TensorFlow's. */
export async function probeWebGpuAdapter(platform: string): Promise<{ adapter: GpuAdapterSummary } | { reason: string }> {
  let gpu: GpuLike
  let host: GpuAdapterSummary['host']
  try {
    ;({ gpu, host } = await webGpu())
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) }
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  return adapter ? { adapter: describeAdapter(adapter, host) } : { reason: noAdapterReason(platform, host) }
}

/** Why `auto` passes over an adapter it could train on; undefined when it takes it. */
export function softwareAdapterReason(adapter: GpuAdapterSummary): string | undefined {
  if (!adapter.fallback) return undefined
  return `only a software adapter, ${adapterName(adapter)}: it runs on the CPU, where wasm is faster (choose the webgpu backend to use it anyway)`
}

/**
 * Start tfjs's webgpu backend. `allowSoftware` (a backend asked for by name) accepts a fallback adapter;
 * `auto` does not. Throws with the reason when it cannot start.
 */
export async function startWebGpu(options: { allowSoftware: boolean; platform: string }): Promise<GpuAdapterSummary> {
  const probe = await probeWebGpuAdapter(options.platform)
  if ('reason' in probe) throw new Error(probe.reason)
  const refusal = options.allowSoftware ? undefined : softwareAdapterReason(probe.adapter)
  if (refusal) throw new Error(refusal)
  await import('@tensorflow/tfjs-backend-webgpu')
  if (!(await tf.setBackend('webgpu'))) throw new Error(`tf.setBackend('webgpu') refused the adapter ${adapterName(probe.adapter)}`)
  await tf.ready()
  installWebGpuKernels()
  return probe.adapter
}
