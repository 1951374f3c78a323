import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { openCheckpoint } from '../../../src/main/engine/io'
import { familyFor } from '../../../src/main/engine/models/registry'
import type { ModelInputs, ModelTask } from '../../../src/main/engine/models/types'
import { repoRoot, tinyGpt2 } from '../../helpers/paths'

beforeAll(async () => {
  await selectBackend('wasm')
})

const text = (batch: number, length: number, vocab: number): ModelInputs => ({
  batchSize: batch,
  length,
  inputIds: Int32Array.from({ length: batch * length }, (_, i) => 5 + ((i * 37) % (vocab - 5))),
  attentionMask: new Int32Array(batch * length).fill(1),
  tokenTypeIds: new Int32Array(batch * length)
})

describe.each([
  ['gpt2', tinyGpt2, 'causal-lm' as ModelTask],
  ['bert', join(repoRoot, 'tests/fixtures/models/tiny-bert'), 'classification' as ModelTask],
  ['roberta', join(repoRoot, 'tests/fixtures/models/tiny-roberta'), 'classification' as ModelTask],
  ['vit', join(repoRoot, 'tests/fixtures/models/tiny-vit'), 'image-classification' as ModelTask]
])('%s dropout while training', (_name, dir, task) => {
  it('is off without a seed, seeded with one: same seed same output, another seed another', async () => {
    const source = await openCheckpoint(dir)
    const config = source.config!
    // Dropout rates as the fixtures' configs give them; ViT's are 0, so give it some to see it act.
    if (config.modelType === 'vit') Object.assign(config.raw, { hidden_dropout_prob: 0.2, attention_probs_dropout_prob: 0.2 })
    const model = await familyFor(config).build(source, config, { task, numLabels: 3, seed: 1 })
    const inputs: ModelInputs = config.modelType === 'vit' ? { batchSize: 2, pixels: Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i)) } : text(2, 6, config.vocabSize!)
    const run = (seed?: number): Float32Array => tf.tidy(() => model.forward(seed === undefined ? inputs : { ...inputs, dropoutSeed: seed }).dataSync() as Float32Array)
    const plain = run()
    expect(run()).toEqual(plain)
    const a = run(7)
    expect(run(7)).toEqual(a)
    expect(a).not.toEqual(plain)
    expect(run(8)).not.toEqual(a)
    model.dispose()
    await source.close()
  })
})
