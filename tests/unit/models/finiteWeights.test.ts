import { copyFile, cp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { CheckpointFormatError, openCheckpoint, openSafetensors, writeSafetensors, type TensorToWrite } from '../../../src/main/engine/io'
import { bertFamily } from '../../../src/main/engine/models/bert'
import { defaultTrainConfig, trainRun } from '../../../src/main/engine/training/loop'
import type { TrainEvent } from '../../../src/shared/training'
import { inProcessDecompose as decompose } from '../../helpers/decompose'
import { repoRoot, tempDir } from '../../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../../helpers/tinyModels'

/**
 * A NaN or infinity in any weight the model uses is refused when the model is loaded, naming the file,
 * the tensor and the first bad element. Before, a NaN in a frozen weight (a LayerNorm scale, an embedding)
 * trained silently to the end: every loss NaN, every checkpoint NaN, exit 0.
 */

const tinyBertSharded = join(repoRoot, 'tests/fixtures/models/tiny-bert-bf16-sharded')

/** Rewrite `file` (a real safetensors file) with element `index` of `tensor` set to `value`, through the project's writer. */
async function poison(file: string, tensor: string, index: number, value: number): Promise<void> {
  const source = await openSafetensors(file)
  const tensors: TensorToWrite[] = []
  for (const info of source.tensors) {
    const raw = Uint8Array.from(await source.readRaw(info.name))
    if (info.name === tensor) {
      const view = new DataView(raw.buffer)
      if (info.dtype === 'F32') view.setFloat32(index * 4, value, true)
      else if (info.dtype === 'BF16') view.setUint16(index * 2, Number.isNaN(value) ? 0x7fc0 : value > 0 ? 0x7f80 : 0xff80, true)
      else throw new Error(`poison: ${info.dtype} not handled`)
    }
    tensors.push({ name: info.name, dtype: info.dtype, shape: info.shape, data: raw })
  }
  const metadata = source.metadata
  await source.close()
  await writeSafetensors(file, tensors, metadata)
}

/** A copy of tiny-bert (with its tokenizer) whose `tensor` holds `value` at `index`. */
async function poisonedTinyBert(label: string, tensor: string, index: number, value: number): Promise<string> {
  const dir = tinyBertWithTokenizer(join(tempDir(label), 'tiny-bert'))
  await poison(join(dir, 'model.safetensors'), tensor, index, value)
  return dir
}

async function rejection(promise: Promise<unknown>): Promise<CheckpointFormatError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the load to be refused, but it succeeded')
    },
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(CheckpointFormatError)
  return error as CheckpointFormatError
}

beforeAll(async () => {
  await selectBackend('wasm')
})

describe('weights are checked for NaN and infinity when the model is loaded', () => {
  it('refuses a NaN in a frozen LayerNorm scale, naming the file, the tensor and the element', async () => {
    const dir = await poisonedTinyBert('nan-norm', 'bert.embeddings.LayerNorm.weight', 5, Number.NaN)
    const source = await openCheckpoint(dir)
    try {
      const error = await rejection(bertFamily.build(source, source.config!, { task: 'classification' }))
      expect(error.file).toBe(join(dir, 'model.safetensors'))
      expect(error.tensor).toBe('bert.embeddings.LayerNorm.weight')
      expect(error.message).toBe(`${join(dir, 'model.safetensors')}: tensor "bert.embeddings.LayerNorm.weight": element [5] is NaN; a weight must be a finite number (the file is damaged)`)
    } finally {
      await source.close()
    }
  })

  it('refuses an infinity in a word embedding, with its row and column', async () => {
    // Row 7, column 3 of the [120, 32] table.
    const dir = await poisonedTinyBert('inf-embedding', 'bert.embeddings.word_embeddings.weight', 7 * 32 + 3, -Infinity)
    const source = await openCheckpoint(dir)
    try {
      const error = await rejection(bertFamily.build(source, source.config!, { task: 'classification', trainAll: true }))
      expect(error.tensor).toBe('bert.embeddings.word_embeddings.weight')
      expect(error.message).toContain('element [7, 3] is -Infinity')
    } finally {
      await source.close()
    }
  })

  it('names the shard that holds the bad value in a sharded bfloat16 checkpoint', async () => {
    const dir = join(tempDir('nan-shard'), 'tiny-bert')
    await cp(tinyBertSharded, dir, { recursive: true })
    const shard = join(dir, 'model-00002-of-00002.safetensors')
    await poison(shard, 'bert.encoder.layer.1.output.LayerNorm.weight', 30, Number.NaN)
    const source = await openCheckpoint(dir)
    try {
      const error = await rejection(bertFamily.build(source, source.config!, { task: 'classification' }))
      expect(error.file).toBe(shard)
      expect(error.message).toContain('tensor "bert.encoder.layer.1.output.LayerNorm.weight": element [30] is NaN')
    } finally {
      await source.close()
    }
  })

  describe('siva train', () => {
    let data: string
    beforeAll(() => {
      data = sentimentCsv(join(tempDir('finite-data'), 'sentiment.csv'), 24)
    })

    async function train(model: string): Promise<{ error: unknown; events: TrainEvent[]; runDir: string }> {
      const runDir = join(tempDir('finite-run'), 'run')
      const events: TrainEvent[] = []
      const config = defaultTrainConfig({ model, data, task: 'classify', method: 'siva', epochs: 1, batchSize: 8, seed: 1, backend: 'wasm' })
      try {
        for await (const event of trainRun(config, runDir, { decompose })) events.push(event)
      } catch (error) {
        return { error, events, runDir }
      }
      return { error: undefined, events, runDir }
    }

    it('stops before the first step on a NaN in a weight that is not adapted, and logs why', async () => {
      const model = await poisonedTinyBert('train-nan', 'bert.encoder.layer.0.output.LayerNorm.weight', 0, Number.NaN)
      const { error, events, runDir } = await train(model)
      expect(error).toBeInstanceOf(CheckpointFormatError)
      const message = `${join(model, 'model.safetensors')}: tensor "bert.encoder.layer.0.output.LayerNorm.weight": element [0] is NaN; a weight must be a finite number (the file is damaged)`
      expect((error as Error).message).toBe(message)
      expect(events.some((e) => e.type === 'step')).toBe(false)
      expect(events.at(-1)).toMatchObject({ type: 'error', message })
      const logged = (await readFile(join(runDir, 'events.jsonl'), 'utf8')).trim().split('\n').at(-1)!
      expect(JSON.parse(logged)).toMatchObject({ type: 'error', message })
    })

    it('refuses an infinity in an adapted projection before its SVD', async () => {
      // SiVA's default BERT targets are query and value: element [2, 9] of layer 1's value weight [32, 32].
      const model = await poisonedTinyBert('train-inf', 'bert.encoder.layer.1.attention.self.value.weight', 2 * 32 + 9, Infinity)
      const { error, events } = await train(model)
      expect(error).toBeInstanceOf(CheckpointFormatError)
      expect((error as Error).message).toContain('tensor "bert.encoder.layer.1.attention.self.value.weight": element [2, 9] is Infinity')
      expect(events.some((e) => e.type === 'step')).toBe(false)
    })

    it('trains the same checkpoint without the bad value (the check refuses nothing finite)', async () => {
      const model = tinyBertWithTokenizer(join(tempDir('train-clean'), 'tiny-bert'))
      await copyFile(join(repoRoot, 'tests/fixtures/models/tiny-bert/model.safetensors'), join(model, 'model.safetensors'))
      const { error, events } = await train(model)
      expect(error).toBeUndefined()
      expect(events.at(-1)?.type).toBe('finished')
    })
  })
})
