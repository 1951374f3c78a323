import * as tf from '@tensorflow/tfjs'
import { describe, expect, it, vi } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'

// tfjs-node-gpu where TensorFlow registered a CUDA device: the binding's isUsingGpuDevice() is true.
vi.mock('@tensorflow/tfjs-node-gpu', async () => {
  const tfjs = await import('@tensorflow/tfjs')
  tfjs.registerBackend('tensorflow', () => Object.assign(tfjs.findBackendFactory('cpu')!() as tf.KernelBackend, { isUsingGpuDevice: true, isGPUPackage: true }))
  return {}
})

describe('tfjs-node-gpu that finds a GPU', () => {
  it('is chosen first, with nothing skipped', async () => {
    const choice = await selectBackend()
    expect(choice.name).toBe('tensorflow-gpu')
    expect(choice.tfBackend).toBe('tensorflow')
    expect(choice.nativePackage).toBe('@tensorflow/tfjs-node-gpu')
    expect(choice.skipped).toEqual([])
    expect(choice.gpu).toEqual(expect.any(String))
    expect(tf.getBackend()).toBe('tensorflow')
  })
})
