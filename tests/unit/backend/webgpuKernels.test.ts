import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { useSoftwareVulkan } from '../../helpers/softwareVulkan'

// Dawn on SwiftShader (no GPU here): the device tfjs-webgpu asks for keeps WebGPU's default of 8 storage
// buffers per shader stage, as most devices would.
useSoftwareVulkan()

beforeAll(async () => {
  await selectBackend('webgpu')
}, 120_000)

describe("tfjs-webgpu's failures, put right (backend/webgpu/kernels.ts)", () => {
  it('addN of up to 40 tensors equals the sum taken by hand, leaving no tensor or GPU buffer behind', async () => {
    const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number }
    for (const count of [1, 2, 7, 8, 11, 23, 40]) {
      const values = Array.from({ length: count }, (_, i) => Float32Array.from({ length: 3000 }, (_, j) => Math.sin(i * 7 + j) * (i + 1)))
      const tensors = values.map((v) => tf.tensor1d(v))
      const sum = tf.addN(tensors)
      const got = await sum.data()
      tf.dispose([...tensors, sum])
      for (let j = 0; j < 3000; j += 97) {
        const want = values.reduce((total, v) => total + v[j]!, 0)
        expect(Math.abs(got[j]! - want), `${count} tensors, element ${j}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)) * count)
      }
    }
    // Deferred frees happen at the next submit: one op of 4096 elements (a smaller one runs on the CPU) submits.
    const flush = tf.tidy(() => tf.add(tf.zeros([4096]), 1))
    await flush.data()
    flush.dispose()
    const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number }
    expect(after.numTensors).toBe(before.numTensors)
    expect(after.numBytesInGPU).toBe(before.numBytesInGPU)
  })

  // Last in this file: after a device error the backend refuses every read, as it should.
  it('a device error (a tensor over the one-buffer limit) makes the next read throw with its message, instead of reading zeros', async () => {
    const limit = (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } }).device.limits.maxStorageBufferBindingSize
    const sum = tf.tidy(() => tf.sum(tf.fill([(limit + 4096) / 4], 1)))
    await expect(sum.data()).rejects.toThrow(/^the WebGPU device reported an error, so results computed since cannot be trusted: .*(exceeds|larger|maxStorageBufferBindingSize|limit)/i)
    sum.dispose()
  })
})
