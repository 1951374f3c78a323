import * as tf from '@tensorflow/tfjs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'

// tfjs-node-gpu as it behaves without CUDA: importing it registers its kernel backend as 'tensorflow' and
// loads fine, but TensorFlow's device list holds no GPU, so the backend's isUsingGpuDevice is false
// (tfjs-node/src/nodejs_kernel_backend.ts). The stand-in is a CPU backend carrying the same flags.
const imported: string[] = []
vi.mock('@tensorflow/tfjs-node-gpu', async () => {
  const tfjs = await import('@tensorflow/tfjs')
  imported.push('@tensorflow/tfjs-node-gpu')
  tfjs.registerBackend('tensorflow', () => Object.assign(tfjs.findBackendFactory('cpu')!() as tf.KernelBackend, { isUsingGpuDevice: false, isGPUPackage: true }))
  return {}
})
vi.mock('@tensorflow/tfjs-node', () => {
  imported.push('@tensorflow/tfjs-node')
  return {}
})

afterEach(() => vi.unstubAllEnvs())

describe('tfjs-node-gpu that loads but finds no GPU', () => {
  it('is refused when asked for by name, and in auto falls back to its own libtensorflow on the CPU, saying why', async () => {
    vi.stubEnv('CUDA_VISIBLE_DEVICES', '-1')
    const here = `${process.platform}-${process.arch}`
    const why = here === 'linux-x64' || here === 'win32-x64' ? "CUDA_VISIBLE_DEVICES='-1' hides every GPU from TensorFlow" : expect.any(String)

    await expect(selectBackend('tensorflow-gpu')).rejects.toThrow(here === 'linux-x64' ? "the tensorflow-gpu backend cannot start: CUDA_VISIBLE_DEVICES='-1' hides every GPU from TensorFlow" : /the tensorflow-gpu backend cannot start/)

    const choice = await selectBackend()
    expect(choice.name).toBe('tensorflow')
    expect(choice.nativePackage).toBe('@tensorflow/tfjs-node-gpu')
    expect(choice.gpu).toBeUndefined()
    // WebGPU comes between them in auto's order; here it finds no adapter, or only a software one.
    expect(choice.skipped).toEqual([{ name: 'tensorflow-gpu', reason: why }, { name: 'webgpu', reason: expect.any(String) }])
    expect(tf.getBackend()).toBe('tensorflow')
    // One libtensorflow per process: tfjs-node's is never loaded beside the GPU package's.
    expect(imported).toEqual(['@tensorflow/tfjs-node-gpu'])
  })
})
