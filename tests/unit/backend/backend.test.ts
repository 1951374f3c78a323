import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'

describe('backend selection', () => {
  it('falls back past the native packages that are not installed here, saying why, and lands on wasm', async () => {
    const choice = await selectBackend()
    const native = ['tensorflow-gpu', 'tensorflow']
    // Between the two native packages, WebGPU: here no adapter (no GPU, no VK_ICD_FILENAMES in this test).
    // Here the native packages are absent (their install cannot download libtensorflow); where they exist, the first wins.
    if (choice.name === 'wasm') {
      expect(choice.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow'])
      for (const skip of choice.skipped) expect(skip.reason).toMatch(/not installed|cannot|libtensorflow|CUDA|cuda|GPU|adapter/i)
    } else {
      expect(native).toContain(choice.name)
    }
    expect(tf.getBackend()).toBe(choice.tfBackend)
    expect(await selectBackend()).toBe(choice)
    await expect(selectBackend(choice.name === 'cpu' ? 'wasm' : 'cpu')).rejects.toThrow(/already running/)
  })
})
