import { describe, expect, it } from 'vitest'
import { backendNotice } from '../../../src/main/commands/backendNotice'
import { doctorReport, formatDoctor } from '../../../src/main/commands/doctor'
import { defaultTrainConfig } from '../../../src/main/engine/training/loop'
import { cudaLibrariesFor } from '../../../src/main/engine/backend/cudaLibraries'
import type { TrainEvent } from '../../../src/shared/training'

type Started = Extract<TrainEvent, { type: 'started' }>
const config = defaultTrainConfig({ model: '/m', data: '/d.csv', task: 'classify' })
const started = (backend: Started['backend'], extra: Partial<Started> = {}): Started => ({ type: 'started', index: 0, time: '2026-12-01T00:00:00Z', config, backend, ...extra })
const notInstalled = '@tensorflow/tfjs-node-gpu is not installed (an optional dependency: its install downloads libtensorflow); install it with: npm i @tensorflow/tfjs-node-gpu@4.22.0'

describe("siva train's backend line", () => {
  it('keeps the progress format and adds why the GPU is not training', () => {
    expect(backendNotice(started({ name: 'wasm', threads: 8, skipped: [{ name: 'tensorflow-gpu', reason: notInstalled }, { name: 'tensorflow', reason: 'x' }] }))).toBe(`siva train: backend wasm (8 threads); GPU not used: tensorflow-gpu: ${notInstalled}`)
    expect(backendNotice(started({ name: 'tensorflow', threads: 1, skipped: [{ name: 'tensorflow-gpu', reason: 'CUDA libraries missing: libcudnn.so.8 (cuDNN 8)' }] }, { resumedFrom: 4 }))).toBe(
      'siva train: backend tensorflow, resuming from step 4; GPU not used: tensorflow-gpu: CUDA libraries missing: libcudnn.so.8 (cuDNN 8)'
    )
    const noVulkan = 'no WebGPU adapter: Dawn found no Vulkan driver'
    expect(backendNotice(started({ name: 'wasm', threads: 2, skipped: [{ name: 'tensorflow-gpu', reason: notInstalled }, { name: 'webgpu', reason: noVulkan }, { name: 'tensorflow', reason: 'x' }] }))).toBe(
      `siva train: backend wasm (2 threads); GPU not used: tensorflow-gpu: ${notInstalled}; webgpu: ${noVulkan}`
    )
  })

  it('webgpu names its adapter, and a software one as slow', () => {
    const adapter = { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200', fallback: false, host: 'dawn' as const, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 31 }
    expect(backendNotice(started({ name: 'webgpu', threads: 1, skipped: [{ name: 'tensorflow-gpu', reason: notInstalled }], adapter }))).toBe('siva train: backend webgpu on nvidia hopper (NVIDIA H200)')
    expect(backendNotice(started({ name: 'webgpu', skipped: [], adapter: { ...adapter, vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', fallback: true } }, { config: { ...config, backend: 'webgpu' } }))).toBe(
      'siva train: backend webgpu on google swiftshader (SwiftShader driver 5.0.0), a software adapter: slow, for testing'
    )
  })

  it('says when --backend chose something else, and nothing more when the GPU trains', () => {
    expect(backendNotice(started({ name: 'wasm', threads: 2, skipped: [] }, { config: { ...config, backend: 'wasm' } }))).toBe('siva train: backend wasm (2 threads); GPU not used: --backend wasm was asked for')
    expect(backendNotice(started({ name: 'tensorflow-gpu', skipped: [] }))).toBe('siva train: backend tensorflow-gpu')
  })
})

describe('siva doctor, formatted', () => {
  const facts = { platform: 'linux' as const, arch: 'x64', node: '20.19.0', tfjs: '4.22.0', gemmThreads: 4, gpus: [{ name: 'NVIDIA H200', driver: '550.54.15' }], visibleDevices: undefined, tokenizer: { engine: 'js' as const, detail: 'the native addon cannot be used here: no binary for linux-riscv64' } }
  const scan = { platform: 'linux' as const, libraries: cudaLibrariesFor('linux').map((l) => ({ ...l, path: `/usr/local/cuda/lib64/${l.file}` })), searched: ['/usr/local/cuda/lib64', 'the ldconfig cache'] }

  it('the GPU used: CUDA on the named GPU, the later backends not tried, libtensorflow threading on its own', () => {
    const report = doctorReport({ name: 'tensorflow-gpu', tfBackend: 'tensorflow', skipped: [], gpu: 'NVIDIA H200', nativePackage: '@tensorflow/tfjs-node-gpu' }, { ...facts, scan })
    expect(report.backends.map((b) => b.status)).toEqual(['used', 'not tried', 'not tried', 'not tried', 'not tried'])
    expect(report.matmulThreads).toBeNull()
    const text = formatDoctor(report)
    expect(text).toContain('tensorflow-gpu  used: CUDA on NVIDIA H200 (@tensorflow/tfjs-node-gpu)')
    expect(text).toContain('Matmul: libtensorflow, its own thread pool')
    expect(text).toContain('NVIDIA GPUs: NVIDIA H200 (driver 550.54.15)')
    expect(text).toContain('libraries: 9 of 9 found')
    expect(text).toMatch(/libcudnn\.so\.8 +cuDNN 8 +\/usr\/local\/cuda\/lib64\/libcudnn\.so\.8/)
  })

  it('wasm used after both native packages were skipped: each reason, and our kernel on its threads', () => {
    const report = doctorReport({ name: 'wasm', tfBackend: 'wasm', matmul: 'siva simd', skipped: [{ name: 'tensorflow-gpu', reason: notInstalled }, { name: 'tensorflow', reason: 'y' }] }, { ...facts, gpus: undefined, scan: { ...scan, libraries: scan.libraries.map((l) => ({ file: l.file, provides: l.provides })) } })
    const text = formatDoctor(report)
    expect(text).toContain(`tensorflow-gpu  skipped: ${notInstalled}`)
    expect(text).toContain('wasm            used: WebAssembly with SIMD')
    expect(text).toContain('cpu             not tried')
    expect(text).toContain('Matmul: siva simd, 4 threads (SIVA_GEMM_THREADS sets how many)')
    expect(text).toContain('Tokenizer: JavaScript, the native addon cannot be used here: no binary for linux-riscv64')
    expect(text).toContain('NVIDIA GPUs: unknown (nvidia-smi did not run)')
    expect(text).toContain('libraries: 0 of 9 found')
  })

  it('webgpu used: the adapter, how it is reached, its largest storage buffer', () => {
    const adapter = { vendor: 'apple', architecture: 'metal-3', description: 'Apple M3', fallback: false, host: 'dawn' as const, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 }
    const report = doctorReport({ name: 'webgpu', tfBackend: 'webgpu', adapter, skipped: [{ name: 'tensorflow-gpu', reason: notInstalled }] }, { ...facts, platform: 'darwin', arch: 'arm64', scan: { platform: 'darwin', libraries: [], searched: [] } })
    expect(report.backends.map((b) => b.status)).toEqual(['skipped', 'used', 'not tried', 'not tried', 'not tried'])
    expect(formatDoctor(report)).toContain('webgpu          used: WebGPU on apple metal-3 (Apple M3) through Dawn (the webgpu package); largest storage buffer 2 GiB')
    expect(report.matmul).toBe('tfjs webgpu')
  })

  it('macOS: no CUDA section to fill', () => {
    const report = doctorReport({ name: 'cpu', tfBackend: 'cpu', skipped: [] }, { ...facts, platform: 'darwin', arch: 'arm64', scan: { platform: 'darwin', libraries: [], searched: [] } })
    expect(report.matmulThreads).toBe(1)
    expect(formatDoctor(report)).toContain('none on darwin-arm64: tfjs-node-gpu has CUDA builds for Linux and Windows on x64 only')
  })
})
