import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { qwen2Family } from '../../../src/main/engine/models/llama'
import { taskLoss } from '../../../src/main/engine/models/loss'
import { adaptTargets, countTrainable, methods } from '../../../src/main/engine/peft'
import { checkMemoryFits, describeMemory, estimateMemory } from '../../../src/main/engine/training/memoryEstimate'
import { inProcessDecompose } from '../../helpers/decompose'
import { hfFixture } from '../../helpers/hfref'

/**
 * The memory estimate against what tfjs itself reports (tf.profile's peakBytes: every tensor alive at the
 * worst moment of a real forward and backward pass with SiVA on the wasm backend), on hfref's qwen2-lm
 * at two batch shapes: the estimate must neither miss the peak nor inflate it beyond a factor of 3.
 */
let source: TensorSource
beforeAll(async () => {
  await selectBackend('wasm')
  source = await openCheckpoint(hfFixture('qwen2-lm'))
})
afterAll(async () => {
  await source.close()
})

describe('memory estimate', () => {
  it.each([
    [2, 16],
    [4, 128],
    [1, 256]
  ])('batch %i × %i tokens: within [1, 3]× of the peak tfjs measures for a SiVA step', async (batchSize, length) => {
    const targets = qwen2Family.targets(source.config!, source.tensors)
    const { adapters, linears } = await adaptTargets(source, targets, methods.siva, { perc: 0.25, seed: 1, decompose: inProcessDecompose })
    const model = await qwen2Family.build(source, source.config!, { task: 'causal-lm', linears })
    const ids = Int32Array.from({ length: batchSize * length }, (_, i) => 5 + ((i * 37) % 1000))
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => taskLoss('causal-lm', model.forward({ batchSize, length, inputIds: ids }), tf.tensor2d(ids, [batchSize, length], 'int32')), adapters.map((a) => a.variables[0]!))
      tf.dispose([value, ...Object.values(grads)])
    })
    // peakBytes counts every tensor alive at the worst moment, the weights and adapters included.
    const measured = profile.peakBytes
    const estimate = estimateMemory({
      config: source.config,
      tensors: source.tensors,
      targets,
      bandOf: (t) => countTrainable('siva', [t], { perc: 0.25 }),
      trainable: 0,
      batchSize,
      length,
      causalLm: true,
      svdWorkers: 0,
      backend: 'wasm'
    })
    console.info(`batch ${batchSize} × ${length}: measured peak ${(measured / 2 ** 20).toFixed(2)} MiB, estimate ${describeMemory(estimate)}`)
    expect(estimate.total).toBeGreaterThanOrEqual(measured)
    expect(estimate.total).toBeLessThanOrEqual(3 * measured)
    model.dispose()
    adapters.forEach((a) => a.dispose())
  })

  it('refuses what the backend cannot hold, naming the parts and what to change', () => {
    const estimate = estimateMemory({ config: source.config, tensors: source.tensors, targets: [], bandOf: () => 0, trainable: 0, batchSize: 64, length: 8192, causalLm: true, svdWorkers: 1, backend: 'wasm' })
    expect(() => checkMemoryFits(estimate)).toThrow(/^this run needs about \d+ GiB \(weights .*activations at batch 64 × 8192 tokens .*\), more than 4\.0 GiB: the WebAssembly backend holds every tensor in one 4 GiB memory\. Use a smaller --batch-size/)
    // WebGPU's memory is not this process's to measure: estimated, never refused.
    expect(() => checkMemoryFits(estimateMemory({ config: source.config, tensors: source.tensors, targets: [], bandOf: () => 0, trainable: 0, batchSize: 64, length: 8192, causalLm: true, svdWorkers: 1, backend: 'webgpu' }))).not.toThrow()
  })
})
