import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import type { TrainEvent } from '../../src/shared/training'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'
import { inProcessDecompose as decompose } from '../helpers/decompose'

/**
 * A run that fails while it is being prepared (after the data and the checkpoint are open) gives back what it
 * took: the back end behind `siva serve` and the app lives for days and starts many runs, and each failed one
 * kept its checkpoint's and data's file handles open.
 */
describe('a run that fails before its first step', () => {
  it('closes its files and frees its tensors', async () => {
    if (process.platform !== 'linux') return console.warn('[skipped] counts open descriptors in /proc/self/fd (Linux only)')
    const dir = tempDir('train-failures')
    const model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
    const data = sentimentCsv(join(dir, 'sentiment.csv'), 40)
    const fail = async (i: number): Promise<TrainEvent | undefined> => {
      // A target pattern that matches no matrix fails once the checkpoint is open and the data encoded.
      const config = defaultTrainConfig({ model, data, task: 'classify', targets: '^no such layer$', epochs: 1, batchSize: 8, seed: 1, backend: 'wasm' })
      let last: TrainEvent | undefined
      await expect(async () => {
        for await (const event of trainRun(config, join(dir, `run-${i}`), { decompose })) last = event
      }).rejects.toThrow(/no such layer/)
      return last
    }
    // One run first: modules, the backend and the tokenizer cache load once and stay.
    await fail(0)
    const descriptors = readdirSync('/proc/self/fd').length
    const tensors = tf.memory().numTensors
    for (let i = 1; i <= 5; i++) expect((await fail(i))?.type).toBe('error')
    expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(descriptors)
    expect(tf.memory().numTensors).toBe(tensors)
  })
})
