import { describe, expect, it } from 'vitest'
import { cudaLibrariesFor } from '../../../src/main/engine/backend/cudaLibraries'
import { predictBackend, probeBackend } from '../../../src/main/engine/backend/probe'
import type { GpuEvidence } from '../../../src/main/engine/backend/reasons'
import { probeWebGpuInWorker } from '../../../src/main/workers/webgpuProbe'
import type { GpuAdapterSummary } from '../../../src/shared/training'

const noAdapter = { reason: 'no WebGPU adapter: Dawn found no Vulkan driver' }
const adapter = (vendor: string, architecture: string, fallback: boolean): { adapter: GpuAdapterSummary } => ({ adapter: { vendor, architecture, description: '', fallback, host: 'dawn', maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30 } })

const complete: GpuEvidence = { platform: 'linux', arch: 'x64', libraries: cudaLibrariesFor('linux').map((l) => ({ ...l, path: `/usr/lib/${l.file}` })), gpus: [{ name: 'NVIDIA H200', driver: '550.54.15' }] }
const noCudnn: GpuEvidence = { ...complete, libraries: complete.libraries.map((l) => (l.file === 'libcudnn.so.8' ? { file: l.file, provides: l.provides } : l)) }
const installed = (...packages: string[]) => (specifier: string) => packages.includes(specifier)

describe("the app's backend probe (no TensorFlow loaded)", () => {
  it('nothing native installed: wasm, both native packages skipped with the install command', () => {
    let asked = 0
    const probe = predictBackend(installed(), () => (asked++, complete), noAdapter)
    expect(probe.name).toBe('wasm')
    expect(probe.matmul).toBe('siva')
    expect(probe.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow'])
    expect(probe.skipped[0]!.reason).toContain('npm i @tensorflow/tfjs-node-gpu@4.22.0')
    expect(probe.skipped[1]!.reason).toBe(noAdapter.reason)
    expect(asked).toBe(0) // no CUDA scan without tfjs-node-gpu
  })

  it('tfjs-node-gpu and every CUDA library: the GPU', () => {
    expect(predictBackend(installed('@tensorflow/tfjs-node-gpu'), () => complete, noAdapter)).toEqual({ name: 'tensorflow-gpu', skipped: [] })
  })

  it("tfjs-node-gpu without cuDNN: its libtensorflow on the CPU, as selection then picks, with the GPU's reason", () => {
    const probe = predictBackend(installed('@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'), () => noCudnn, noAdapter)
    expect(probe.name).toBe('tensorflow')
    expect(probe.skipped).toEqual([{ name: 'tensorflow-gpu', reason: expect.stringMatching(/^CUDA libraries missing: libcudnn\.so\.8 \(cuDNN 8\);/) }, { name: 'webgpu', reason: noAdapter.reason }])
  })

  it('only tfjs-node: libtensorflow on the CPU, the GPU package not installed', () => {
    const probe = predictBackend(installed('@tensorflow/tfjs-node'), () => complete, noAdapter)
    expect(probe.name).toBe('tensorflow')
    expect(probe.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'webgpu'])
  })

  it('a hardware WebGPU adapter comes before libtensorflow on the CPU, also when tfjs-node-gpu finds no CUDA', () => {
    const metal = adapter('apple', 'metal-3', false)
    expect(predictBackend(installed(), () => complete, metal)).toEqual({ name: 'webgpu', skipped: [expect.objectContaining({ name: 'tensorflow-gpu' })], adapter: metal.adapter })
    const probe = predictBackend(installed('@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'), () => noCudnn, metal)
    expect(probe.name).toBe('webgpu')
    expect(probe.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu'])
    // CUDA first where it works.
    expect(predictBackend(installed('@tensorflow/tfjs-node-gpu'), () => complete, metal).name).toBe('tensorflow-gpu')
  })

  it('a software adapter is passed over with its name, and still described', () => {
    const swiftshader = adapter('google', 'swiftshader', true)
    const probe = predictBackend(installed(), () => complete, swiftshader)
    expect(probe.name).toBe('wasm')
    expect(probe.adapter).toEqual(swiftshader.adapter)
    expect(probe.skipped[1]).toEqual({ name: 'webgpu', reason: 'only a software adapter, google swiftshader: it runs on the CPU, where wasm is faster (choose the webgpu backend to use it anyway)' })
  })

  it('here: what the packages in node_modules and Dawn, asked in a real worker thread, say; the same answer each time', async () => {
    const probe = await probeBackend(() => probeWebGpuInWorker())
    expect(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm']).toContain(probe.name)
    // Here the native packages are absent (their install cannot download libtensorflow), and with no GPU and no
    // VK_ICD_FILENAMES in this test's environment Dawn finds no Vulkan driver (see webgpu.test.ts for SwiftShader).
    if (probe.name === 'wasm' && process.env['VK_ICD_FILENAMES'] === undefined && process.platform === 'linux') {
      expect(probe.skipped.map((s) => s.reason)).toEqual([expect.stringContaining('tfjs-node-gpu is not installed'), expect.stringMatching(/^no WebGPU adapter: Dawn found no Vulkan driver/), expect.stringContaining('tfjs-node is not installed')])
    }
    probe.skipped.push({ name: 'x', reason: 'a caller changing its copy' })
    let asked = false
    expect((await probeBackend(async () => ((asked = true), noAdapter))).skipped).not.toContainEqual({ name: 'x', reason: 'a caller changing its copy' })
    expect(asked).toBe(false)
  })
})
