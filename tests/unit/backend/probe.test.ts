import { describe, expect, it } from 'vitest'
import { cudaLibrariesFor } from '../../../src/main/engine/backend/cudaLibraries'
import { predictBackend, probeBackend } from '../../../src/main/engine/backend/probe'
import type { GpuEvidence } from '../../../src/main/engine/backend/reasons'

const complete: GpuEvidence = { platform: 'linux', arch: 'x64', libraries: cudaLibrariesFor('linux').map((l) => ({ ...l, path: `/usr/lib/${l.file}` })), gpus: [{ name: 'NVIDIA H200', driver: '550.54.15' }] }
const noCudnn: GpuEvidence = { ...complete, libraries: complete.libraries.map((l) => (l.file === 'libcudnn.so.8' ? { file: l.file, provides: l.provides } : l)) }
const installed = (...packages: string[]) => (specifier: string) => packages.includes(specifier)

describe("the app's backend probe (no TensorFlow loaded)", () => {
  it('nothing native installed: wasm, both native packages skipped with the install command', () => {
    let asked = 0
    const probe = predictBackend(installed(), () => (asked++, complete))
    expect(probe.name).toBe('wasm')
    expect(probe.matmul).toBe('siva')
    expect(probe.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow'])
    expect(probe.skipped[0]!.reason).toContain('npm i @tensorflow/tfjs-node-gpu@4.22.0')
    expect(asked).toBe(0) // no CUDA scan without tfjs-node-gpu
  })

  it('tfjs-node-gpu and every CUDA library: the GPU', () => {
    expect(predictBackend(installed('@tensorflow/tfjs-node-gpu'), () => complete)).toEqual({ name: 'tensorflow-gpu', skipped: [] })
  })

  it("tfjs-node-gpu without cuDNN: its libtensorflow on the CPU, as selection then picks, with the GPU's reason", () => {
    const probe = predictBackend(installed('@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'), () => noCudnn)
    expect(probe.name).toBe('tensorflow')
    expect(probe.skipped).toEqual([{ name: 'tensorflow-gpu', reason: expect.stringMatching(/^CUDA libraries missing: libcudnn\.so\.8 \(cuDNN 8\);/) }])
  })

  it('only tfjs-node: libtensorflow on the CPU, the GPU package not installed', () => {
    const probe = predictBackend(installed('@tensorflow/tfjs-node'), () => complete)
    expect(probe.name).toBe('tensorflow')
    expect(probe.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu'])
  })

  it('here: what the packages in node_modules say, the same answer each time', () => {
    const probe = probeBackend()
    expect(['tensorflow-gpu', 'tensorflow', 'wasm']).toContain(probe.name)
    // Here the native packages are absent (their install cannot download libtensorflow).
    if (probe.name === 'wasm') expect(probe.skipped.map((s) => s.reason)).toEqual([expect.stringContaining('tfjs-node-gpu is not installed'), expect.stringContaining('tfjs-node is not installed')])
    probe.skipped.push({ name: 'x', reason: 'a caller changing its copy' })
    expect(probeBackend().skipped).not.toContainEqual({ name: 'x', reason: 'a caller changing its copy' })
  })
})
