import { execFileSync } from 'node:child_process'
import { closeSync, constants, openSync } from 'node:fs'
import { copyFile, cp, mkdir, rm, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint, readModelConfig } from '../../../src/main/engine/io'
import { readLines } from '../../../src/main/engine/data/lines'
import { ImageReadError, readImageBytes } from '../../../src/main/engine/data/images'
import { TextTokenizer, TokenizerLoadError } from '../../../src/main/engine/data/tokenizer'
import { defaultTrainConfig, trainRun } from '../../../src/main/engine/training/loop'
import type { DataProblem } from '../../../src/main/engine/data/problems'
import { inProcessDecompose as decompose } from '../../helpers/decompose'
import { repoRoot } from '../../helpers/paths'
import { expectFormatError, ioFixtures, makeTempDir, removeTempDir } from './helpers'

/**
 * A named pipe (FIFO) where a checkpoint file, shard, config or data file should be: opening one for
 * reading waits for a writer that never comes, so a reader that does not refuse it hangs forever (and
 * pins a thread of libuv's pool). Every reader must refuse it at once, naming the file.
 */

const tinyBert = join(repoRoot, 'tests/fixtures/models/tiny-bert')
const tinyBertSharded = join(repoRoot, 'tests/fixtures/models/tiny-bert-bf16-sharded')
let tmp: string
const fifos: string[] = []

beforeAll(async () => {
  tmp = await makeTempDir('fifo')
})
afterEach(() => {
  // A reader stuck in open() (the bug under test) is released by a writer that opens and closes at once.
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
    } catch {
      // ENXIO: nobody is waiting on it, as it should be
    }
  }
})
afterAll(async () => {
  await removeTempDir(tmp)
})

/** A real FIFO made by mkfifo(1) (node:fs cannot make one). */
function mkfifo(path: string): string {
  execFileSync('mkfifo', [path])
  fifos.push(path)
  return path
}

async function folder(name: string, from?: string): Promise<string> {
  const dir = join(tmp, name)
  if (from) await cp(from, dir, { recursive: true })
  else await mkdir(dir, { recursive: true })
  return dir
}

/** Settle within two seconds or fail the test: a hang is the defect. */
function promptly<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('still waiting after 2 s: the reader blocked on the FIFO')), 2000)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

const notAFile = /named pipe \(FIFO\)/

describe('a FIFO in place of a file is refused at once', () => {
  it('as a .safetensors file given by path', async () => {
    const dir = await folder('direct')
    const fifo = mkfifo(join(dir, 'weights.safetensors'))
    await expectFormatError(promptly(openCheckpoint(fifo)), { file: fifo, message: notAFile })
  })

  it('as a device behind a symlink (/dev/zero would never end)', async () => {
    const dir = await folder('device')
    const link = join(dir, 'model.safetensors')
    await symlink('/dev/zero', link)
    await expectFormatError(promptly(openCheckpoint(link)), { file: link, message: /cannot open: a character device, not a regular file/ })
  })

  it("as a folder's model.safetensors", async () => {
    const dir = await folder('single')
    await copyFile(join(tinyBert, 'config.json'), join(dir, 'config.json'))
    const fifo = mkfifo(join(dir, 'model.safetensors'))
    await expectFormatError(promptly(openCheckpoint(dir)), { file: fifo, message: notAFile })
  })

  it('as config.json beside real weights', async () => {
    const dir = await folder('config')
    await copyFile(join(tinyBert, 'model.safetensors'), join(dir, 'model.safetensors'))
    const fifo = mkfifo(join(dir, 'config.json'))
    await expectFormatError(promptly(openCheckpoint(dir)), { file: fifo, message: notAFile })
    await expectFormatError(promptly(readModelConfig(dir)), { file: fifo, message: notAFile })
  })

  it('as the shard index, and as one shard of a sharded checkpoint', async () => {
    const indexDir = await folder('index', tinyBertSharded)
    await rm(join(indexDir, 'model.safetensors.index.json'))
    const index = mkfifo(join(indexDir, 'model.safetensors.index.json'))
    await expectFormatError(promptly(openCheckpoint(indexDir)), { file: index, message: notAFile })

    const shardDir = await folder('shard', tinyBertSharded)
    await rm(join(shardDir, 'model-00002-of-00002.safetensors'))
    const shard = mkfifo(join(shardDir, 'model-00002-of-00002.safetensors'))
    await expectFormatError(promptly(openCheckpoint(shardDir)), { file: shard, message: notAFile })
  })

  it("as a TensorFlow.js model's model.json, and as one of its weights files", async () => {
    const jsonDir = await folder('tfjs-json', join(ioFixtures, 'tfjs'))
    await rm(join(jsonDir, 'model.json'))
    const modelJson = mkfifo(join(jsonDir, 'model.json'))
    await expectFormatError(promptly(openCheckpoint(modelJson)), { file: modelJson, message: notAFile })

    const binDir = await folder('tfjs-bin', join(ioFixtures, 'tfjs'))
    await rm(join(binDir, 'group2-shard1of1.bin'))
    const bin = mkfifo(join(binDir, 'group2-shard1of1.bin'))
    const error = await expectFormatError(promptly(openCheckpoint(binDir)), { file: join(binDir, 'model.json'), message: notAFile })
    expect(error.message).toContain(bin)
  })

  it("as a checkpoint's tokenizer.json or tokenizer_config.json", async () => {
    for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
      const dir = await folder(`tokenizer-${name}`, tinyBert)
      await rm(join(dir, name))
      const fifo = mkfifo(join(dir, name))
      const error = await promptly(TextTokenizer.load(dir)).then(
        () => new Error('the tokenizer loaded'),
        (e: unknown) => e as Error
      )
      expect(error).toBeInstanceOf(TokenizerLoadError)
      expect(error.message).toBe(`${fifo}: a named pipe (FIFO), not a regular file`)
    }
  })

  it('as an image named by an image dataset; a folder keeps its own message', async () => {
    const dir = await folder('image')
    const fifo = mkfifo(join(dir, 'cat.png'))
    const error = await promptly(readImageBytes(fifo)).then(
      () => new Error('the image was read'),
      (e: unknown) => e as Error
    )
    expect(error).toBeInstanceOf(ImageReadError)
    expect(error).toMatchObject({ code: 'file-unreadable', message: 'cat.png cannot be read: a named pipe (FIFO), not a regular file' })
    await mkdir(join(dir, 'dog.png'))
    await expect(readImageBytes(join(dir, 'dog.png'))).rejects.toMatchObject({ code: 'image-missing', message: 'dog.png is a folder, not an image file' })
  })

  it('as a data file (CSV, TSV or JSONL are all read as lines)', async () => {
    const dir = await folder('data')
    const fifo = mkfifo(join(dir, 'train.csv'))
    const problems: DataProblem[] = []
    const lines = await promptly(
      (async () => {
        const read: string[] = []
        for await (const line of readLines(fifo, { onProblem: (p) => problems.push(p) })) read.push(line.text)
        return read
      })()
    )
    expect(lines).toEqual([])
    expect(problems).toHaveLength(1)
    // Data messages name the file as a spreadsheet user knows it; the problem carries the full path.
    expect(problems[0]).toMatchObject({ file: fifo, code: 'file-unreadable', severity: 'error' })
    expect(problems[0]!.message).toMatch(/^train\.csv: /)
    expect(problems[0]!.message).toMatch(notAFile)
  })

  it('as the data file given to siva train (its fingerprint is taken first)', async () => {
    const dir = await folder('train')
    const fifo = mkfifo(join(dir, 'train.csv'))
    const runDir = join(dir, 'run')
    const config = defaultTrainConfig({ model: tinyBert, data: fifo, task: 'classify', method: 'siva', epochs: 1, batchSize: 8, seed: 1, backend: 'wasm' })
    const run = (async () => {
      for await (const event of trainRun(config, runDir, { decompose })) void event
    })()
    const error = await promptly(run).then(
      () => new Error('the run succeeded'),
      (e: unknown) => e as Error
    )
    expect(error.message).toBe(`${fifo}: a named pipe (FIFO), not a regular file`)
  })
})
