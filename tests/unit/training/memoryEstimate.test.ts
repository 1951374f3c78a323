import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { qwen2Family } from '../../../src/main/engine/models/llama'
import { lossOf } from '../../../src/main/engine/models/loss'
import { adaptTargets, countTrainable, methods } from '../../../src/main/engine/peft'
import { checkMemoryFits, describeMemory, estimateMemory } from '../../../src/main/engine/training/memoryEstimate'
import { inProcessDecompose } from '../../helpers/decompose'
import { hfFixture, hfReference } from '../../helpers/hfref'
import { tempDir } from '../../helpers/paths'

/**
 * The memory estimate against what tfjs itself reports (tf.profile's peakBytes: every tensor alive at the
 * worst moment of a real forward and backward pass with SiVA on the wasm backend), on hfref's qwen2-lm
 * at two batch shapes: the estimate must neither miss the peak nor inflate it beyond a factor of 3.
 */
let source: TensorSource
let wide: TensorSource
beforeAll(async () => {
  await selectBackend('wasm')
  source = await openCheckpoint(hfFixture('qwen2-lm'))
  // A second width, so the per-token constants are not fitted to one shape: hidden 128, MLP 344, 8 query heads on 2 kv heads.
  const wideDir = tempDir('wide-qwen2')
  const config = { model_type: 'qwen2', vocab_size: 1072, hidden_size: 128, intermediate_size: 344, num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-6, max_position_embeddings: 512, tie_word_embeddings: true }
  hfReference('hf_decoder.py', [], { jobs: [{ kind: 'save', out: wideDir, config, class: 'causal-lm', seed: 5 }] })
  wide = await openCheckpoint(wideDir)
}, 120_000)
afterAll(async () => {
  await source.close()
  await wide.close()
})

describe('memory estimate', () => {
  it.each([
    ['qwen2-lm', 2, 16],
    ['qwen2-lm', 4, 128],
    ['qwen2-lm', 1, 256],
    ['qwen2-lm', 16, 16],
    ['hidden 128', 2, 16],
    ['hidden 128', 4, 128],
    ['hidden 128', 1, 256]
  ])('%s, batch %i × %i tokens: within [1, 3]× of the peak tfjs measures for a SiVA step', async (which, batchSize, length) => {
    const checkpoint = which === 'qwen2-lm' ? source : wide
    const targets = qwen2Family.targets(checkpoint.config!, checkpoint.tensors)
    const { adapters, linears } = await adaptTargets(checkpoint, targets, methods.siva, { perc: 0.25, seed: 1, decompose: inProcessDecompose })
    const model = await qwen2Family.build(checkpoint, checkpoint.config!, { task: 'causal-lm', linears })
    const ids = Int32Array.from({ length: batchSize * length }, (_, i) => 5 + ((i * 37) % 1000))
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => lossOf('causal-lm', model, { batchSize, length, inputIds: ids }, tf.tensor2d(ids, [batchSize, length], 'int32')), adapters.map((a) => a.variables[0]!))
      tf.dispose([value, ...Object.values(grads)])
    })
    // peakBytes counts every tensor alive at the worst moment, the weights and adapters included.
    const measured = profile.peakBytes
    const estimate = estimateMemory({
      config: checkpoint.config,
      tensors: checkpoint.tensors,
      targets,
      bandOf: (t) => countTrainable('siva', [t], { perc: 0.25 }),
      trainable: 0,
      batchSize,
      length,
      causalLm: true,
      svdWorkers: 0,
      backend: 'wasm'
    })
    console.info(`${which}, batch ${batchSize} × ${length}: measured peak ${(measured / 2 ** 20).toFixed(2)} MiB, estimate ${describeMemory(estimate)}`)
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
