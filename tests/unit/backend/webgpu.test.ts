import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { adapterName, describeAdapter, softwareAdapterReason, startWebGpu } from '../../../src/main/engine/backend/webgpu'
import { useSoftwareVulkan } from '../../helpers/softwareVulkan'

// The real WebGPU path: Dawn (the webgpu package) on SwiftShader, Chromium's software Vulkan driver, since
// this machine and CI have no GPU. A GPU machine runs the same code on its hardware adapter.
useSoftwareVulkan()

/** d/dX of sum(relu(X W)), by hand in float64: relu'(XW) Wᵀ. */
function reluMatmulGradient(x: Float32Array, w: Float32Array, m: number, k: number, n: number): Float64Array {
  const dx = new Float64Array(m * k)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let y = 0
      for (let p = 0; p < k; p++) y += x[i * k + p]! * w[p * n + j]!
      if (y > 0) for (let p = 0; p < k; p++) dx[i * k + p]! += w[p * n + j]!
    }
  }
  return dx
}

describe('the webgpu backend on Dawn', () => {
  it('auto refuses the software adapter, naming it', async () => {
    await expect(startWebGpu({ allowSoftware: false, platform: process.platform })).rejects.toThrow(/^only a software adapter, google swiftshader \(SwiftShader driver [\d.]+\): it runs on the CPU, where wasm is faster/)
    expect(tf.getBackend()).not.toBe('webgpu')
  })

  it('asked for by name, starts on SwiftShader and says so; its gradients match a float64 reference', async () => {
    const choice = await selectBackend('webgpu')
    expect(choice).toMatchObject({ name: 'webgpu', tfBackend: 'webgpu', skipped: [] })
    expect(choice.adapter).toMatchObject({ vendor: 'google', architecture: 'swiftshader', fallback: true, host: 'dawn' })
    expect(choice.adapter!.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20)
    expect(tf.getBackend()).toBe('webgpu')
    const [m, k, n] = [37, 65, 23]
    const x = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37))
    const w = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.11) * 0.5)
    const before = tf.memory().numTensors
    const W = tf.tensor2d(w, [k, n])
    const g = tf.grad((X: tf.Tensor) => tf.sum(tf.relu(tf.matMul(X, W))))(tf.tensor2d(x, [m, k]))
    const got = await g.data()
    tf.dispose([W, g])
    const want = reluMatmulGradient(x, w, m, k, n)
    const scale = Math.max(...want.map(Math.abs))
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * scale)
    expect(tf.memory().numTensors).toBe(before + 1) // the input tensor made inline above
    await expect(selectBackend('wasm')).rejects.toThrow(/the webgpu backend is already running/)
  })
})

describe('adapters described', () => {
  const limits = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 }
  it('a software rasteriser counts as a fallback by its name when the flag is missing', () => {
    const llvmpipe = describeAdapter({ info: { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, limits }, 'dawn')
    expect(llvmpipe.fallback).toBe(true)
    expect(softwareAdapterReason(llvmpipe)).toMatch(/^only a software adapter, mesa \(llvmpipe/)
    const nvidia = describeAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }, limits }, 'dawn')
    expect(nvidia).toEqual({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200', fallback: false, host: 'dawn', ...limits })
    expect(softwareAdapterReason(nvidia)).toBeUndefined()
    expect(adapterName(nvidia)).toBe('nvidia hopper (NVIDIA H200)')
    expect(describeAdapter({ info: { vendor: 'apple', architecture: 'metal-3', isFallbackAdapter: true }, limits }, 'chromium').fallback).toBe(true)
  })
})
