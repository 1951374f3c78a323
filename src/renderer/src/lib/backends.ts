import type { BackendSummary, GpuAdapterSummary, TrainBackend } from '@shared/training'
import { formatBinaryBytes } from './format'

/** A backend the Train step offers, in the user's words, with a line on what choosing it means. */
export interface BackendChoice {
  value: TrainBackend
  label: string
  hint: string
}

/** In the order the select lists them: the everyday ones first, the optional native packages last. */
export const backendChoices: readonly BackendChoice[] = [
  {
    value: 'auto',
    label: 'Auto (recommended)',
    hint: 'The fastest that starts here: a CUDA GPU, a hardware WebGPU adapter, libtensorflow, then WebAssembly; never a software WebGPU adapter.'
  },
  {
    value: 'webgpu',
    label: 'WebGPU',
    hint: 'Runs on the GPU through WebGPU (Metal, D3D12, Vulkan); a software adapter is used if no GPU is found — slow, for testing.'
  },
  { value: 'wasm', label: 'WebAssembly', hint: 'Runs on the CPU with WebAssembly and SiVA’s own matmul and GELU kernels; works on every system.' },
  { value: 'cpu', label: 'CPU (JavaScript)', hint: 'Plain JavaScript on the CPU: the slowest, for checking results against another backend.' },
  {
    value: 'tensorflow-gpu',
    label: 'TensorFlow GPU (CUDA)',
    hint: 'libtensorflow on an NVIDIA GPU: needs the optional @tensorflow/tfjs-node-gpu, Linux, CUDA 11.x and cuDNN 8.x.'
  },
  { value: 'tensorflow', label: 'TensorFlow CPU', hint: 'libtensorflow on the CPU: needs the optional @tensorflow/tfjs-node.' }
]

/** What a backend runs on, for the line beside its name; a WebGPU software adapter runs on the CPU. */
export function backendRunsOn(backend: BackendSummary): string | undefined {
  switch (backend.name) {
    case 'tensorflow-gpu':
      return 'GPU, CUDA'
    case 'webgpu':
      return backend.adapter?.fallback ? 'CPU, WebGPU software adapter' : 'GPU, WebGPU'
    case 'tensorflow':
      return 'CPU, libtensorflow'
    case 'wasm':
      return 'CPU, WebAssembly'
    case 'cpu':
      return 'CPU, plain JavaScript'
    default:
      return undefined
  }
}

/** "WebGPU · apple metal-3 (Apple M2)": the adapter as it names itself. */
export function adapterTitle(adapter: GpuAdapterSummary): string {
  const name = [adapter.vendor, adapter.architecture].filter((part) => part !== '').join(' ') || 'unnamed adapter'
  return `WebGPU · ${name}${adapter.description ? ` (${adapter.description})` : ''}`
}

/** The limits that decide which embeddings fit (GPT-2's 50257-row table is about 147 MiB in float32). */
export function adapterLimits(adapter: GpuAdapterSummary): string {
  return `max storage buffer binding ${formatBinaryBytes(adapter.maxStorageBufferBindingSize)} · max buffer ${formatBinaryBytes(adapter.maxBufferSize)}`
}

/** Where the adapter is reached: Dawn in a Node host, Chromium's WebGPU in the app's GPU window. */
export function adapterHost(adapter: GpuAdapterSummary): string {
  return adapter.host === 'chromium' ? 'Chromium’s WebGPU' : 'Dawn'
}

/**
 * A skip reason's first clause, for a one-line headline: up to the first "; " outside parentheses (the
 * rest, an install command or the versions needed, stays in the full reason).
 */
export function reasonHeadline(reason: string): string {
  let depth = 0
  for (let i = 0; i < reason.length; i++) {
    const c = reason[i]
    if (c === '(') depth++
    else if (c === ')') depth = Math.max(0, depth - 1)
    else if (c === ';' && depth === 0 && reason[i + 1] === ' ') return reason.slice(0, i)
  }
  return reason
}
