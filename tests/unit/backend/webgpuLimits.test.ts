import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { checkTensorsFit, checkWebGpuFits, gpuBytes, oversizedTensorReason, stepActivations, webGpuTensorLimit } from '../../../src/main/engine/backend/webgpu/limits'
import { openCheckpoint } from '../../../src/main/engine/io'
import type { GpuAdapterSummary } from '../../../src/shared/training'
import { tinyGpt2 } from '../../helpers/paths'
import { useSoftwareVulkan } from '../../helpers/softwareVulkan'

// Before Dawn starts: SwiftShader, whose one-buffer limit is 1 GiB.
useSoftwareVulkan()

let adapter: GpuAdapterSummary
beforeAll(async () => {
  adapter = (await selectBackend('webgpu')).adapter!
  expect(adapter).toMatchObject({ architecture: 'swiftshader', maxStorageBufferBindingSize: 2 ** 30 })
}, 120_000)

describe('one GPU buffer per tensor: what fits, and a clear error for what does not', () => {
  it("GPT-2's 50257×768 embedding table (147 MiB) fits SwiftShader's 1 GiB, as does every tensor of a real checkpoint", async () => {
    expect(webGpuTensorLimit(adapter)).toBe(2 ** 30)
    expect(gpuBytes([50257, 768])).toBe(50257 * 768 * 4)
    expect(oversizedTensorReason([{ name: 'transformer.wte.weight', shape: [50257, 768] }], adapter)).toBeUndefined()
    const source = await openCheckpoint(tinyGpt2)
    try {
      expect(() => checkTensorsFit(source.tensors, adapter, tinyGpt2)).not.toThrow()
    } finally {
      await source.close()
    }
  })

  it('a 150k×4096 table (2.29 GiB) is refused, naming the tensor, its size, the adapter and the limit', () => {
    const tensors = [
      { name: 'model.layers.0.mlp.up_proj.weight', shape: [14336, 4096] },
      { name: 'model.embed_tokens.weight', shape: [150000, 4096] }
    ]
    expect(() => checkTensorsFit(tensors, adapter, 'big-model')).toThrow(
      /^big-model: model\.embed_tokens\.weight \[150000, 4096\] needs 2\.29 GiB as float32 in one GPU buffer, and google swiftshader \(SwiftShader driver [\d.]+\) allows 1\.00 GiB \(maxStorageBufferBindingSize\); train it on another backend/
    )
    // A GPU that offers only WebGPU's default 128 MiB refuses GPT-2's table itself; the largest offender is named.
    const small = { ...adapter, maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 }
    expect(oversizedTensorReason([{ name: 'transformer.wpe.weight', shape: [1024, 768] }, { name: 'transformer.wte.weight', shape: [50257, 768] }], small)).toMatch(/^transformer\.wte\.weight \[50257, 768\] needs 147\.2 MiB .* allows 128\.0 MiB \(maxStorageBufferBindingSize\)/)
  })

  it("a step's activations count too: GPT-2's logits at batch 8 × 1024 tokens (1.53 GiB) are refused, at 8 × 128 they fit", () => {
    const gpt2 = { heads: 12, hiddenSize: 768, intermediateSize: 3072, vocabSize: 50257 }
    expect(() => checkTensorsFit(stepActivations({ batchSize: 8, length: 1024, ...gpt2 }), adapter, 'this step')).toThrow(/^this step: the logits \[8192, 50257\] needs 1\.53 GiB/)
    expect(oversizedTensorReason(stepActivations({ batchSize: 8, length: 128, ...gpt2 }), adapter)).toBeUndefined()
  })
})

describe("a run's check before anything is uploaded (checkWebGpuFits, called by the training loop on webgpu)", () => {
  // The real tiny GPT-2 checkpoint against an adapter whose limit is set small, so each case is one that matters.
  const small = (bytes: number): GpuAdapterSummary => ({ ...adapter, maxStorageBufferBindingSize: bytes, maxBufferSize: 2 ** 30 })

  it('names the checkpoint tensor that does not fit, then the activation, at the batch and length asked for', async () => {
    const source = await openCheckpoint(tinyGpt2)
    try {
      const c = source.config!
      const largest = [...source.tensors].sort((a, b) => gpuBytes(b.shape) - gpuBytes(a.shape))[0]!
      expect(() => checkWebGpuFits({ batchSize: 8, maxLength: 32, task: 'causal-lm' }, source, small(gpuBytes(largest.shape) - 4))).toThrow(new RegExp(`^${source.source.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${largest.name.replace(/\./g, '\\.')} \\[${largest.shape.join(', ')}\\] needs`))
      // Every weight fits; logits of 64 × 128 tokens over the vocabulary do not.
      const logits = gpuBytes([64 * 128, c.vocabSize!])
      const limit = Math.max(gpuBytes(largest.shape), gpuBytes([64, c.numHeads!, 128, 128]), gpuBytes([64 * 128, c.intermediateSize ?? 4 * c.hiddenSize!])) + 4
      expect(logits).toBeGreaterThan(limit)
      expect(() => checkWebGpuFits({ batchSize: 64, maxLength: 128, task: 'causal-lm' }, source, small(limit))).toThrow(/^a step at batch 64 × 128 tokens: the logits \[8192, \d+\] needs/)
      // The same step classifying has no logits over the vocabulary.
      expect(() => checkWebGpuFits({ batchSize: 64, maxLength: 128, task: 'classify' }, source, small(limit))).not.toThrow()
    } finally {
      await source.close()
    }
  })
})
