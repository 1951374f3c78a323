import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportRun, type ExportRequest } from '../../src/main/engine/export'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import { readCheckpoint } from '../../src/main/engine/training/runFolder'
import type { TrainConfig, TrainEvent } from '../../src/shared/training'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'
import { inProcessDecompose as decompose } from '../helpers/decompose'

/**
 * The engine reads tensors only asynchronously (issue 15). tfjs-webgpu in Node has no synchronous read
 * path (its dataSync goes through a canvas: "OffscreenCanvas is not defined"), and on a real GPU a
 * synchronous read blocks the thread until the queue drains. Here every synchronous read throws: the
 * engine's readSync, the one door dataSync, arraySync and bufferSync all go through, is replaced for the
 * duration of a run. That stands in for webgpu-in-Node's missing path, so the check runs on the fast wasm
 * backend too. The same run without the trap is the reference the trapped one must equal exactly.
 */

const blocked: string[] = []

async function withoutSyncReads<T>(work: () => Promise<T>): Promise<T> {
  const engine = tf.engine()
  const original = engine.readSync
  engine.readSync = () => {
    const error = new Error('synchronous read of a tensor (dataSync, arraySync or bufferSync) while they are forbidden')
    // Recorded as well as thrown: a caller that swallowed the error must not make the run look clean.
    blocked.push(error.stack ?? error.message)
    throw error
  }
  try {
    return await work()
  } finally {
    engine.readSync = original
  }
}

let model: string
let data: string
let scores: string
beforeAll(() => {
  const dir = tempDir('async-reads')
  model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
  data = sentimentCsv(join(dir, 'sentiment.csv'), 40)
  scores = join(dir, 'scores.csv')
  const rows = Array.from({ length: 40 }, (_, i) => `${['great', 'fine', 'poor'][i % 3]} item ${i},${[4.5, 2.5, 0.5][i % 3]}`)
  writeFileSync(scores, `text,label\n${rows.join('\n')}\n`)
})

/** Train into a fresh run and export it; what the two sides of the comparison hold. */
async function trainAndExport(prefix: string, config: TrainConfig, outputs: (keyof ExportRequest['outputs'])[]): Promise<{ events: TrainEvent[]; variables: Float32Array[]; files: Map<string, Buffer> }> {
  const root = tempDir(prefix)
  const runDir = join(root, 'run')
  const events: TrainEvent[] = []
  for await (const event of trainRun(config, runDir, { decompose })) events.push(event)
  const folders = Object.fromEntries(outputs.map((kind) => [kind, join(root, kind)]))
  const result = await exportRun({ runDir, checkpoint: 'last', outputs: folders }, { decompose })
  const files = new Map<string, Buffer>()
  for (const output of result.outputs) for (const file of output.files) if (file.endsWith('.safetensors')) files.set(`${output.kind}/${file}`, readFileSync(join(output.dir, file)))
  const variables = (await readCheckpoint(runDir))!.tensors.variables.map((v) => v.values)
  return { events, variables, files }
}

const common = { epochs: 1, maxSteps: 4, batchSize: 8, seed: 5, evalEvery: 2, checkpointEvery: 2, spectraEvery: 2, backend: 'wasm' as const }

describe('training and export with synchronous tensor reads forbidden', () => {
  it('the trap does catch a synchronous read', async () => {
    const t = tf.scalar(1)
    await expect(withoutSyncReads(async () => t.dataSync())).rejects.toThrow(/synchronous read/)
    await expect(withoutSyncReads(async () => (await t.data())[0])).resolves.toBe(1)
    expect(t.dataSync()[0]).toBe(1)
    blocked.length = 0
    t.dispose()
  })

  it.each([
    ['siva', 'classify', { gradientAccumulation: 2 }, ['merged', 'adapter', 'peft-lora']],
    ['svdiff', 'classify', {}, ['merged', 'adapter', 'peft-lora']],
    ['lora', 'regress', { rank: 2, lr: 0.01 }, ['merged', 'adapter', 'peft-lora']],
    ['full', 'classify', { lr: 1e-3 }, ['merged']]
  ] as const)('%s (%s): trains to the end and exports, with the same δ and files as a run that may read synchronously', async (method, task, extra, outputs) => {
    const config = (): TrainConfig => defaultTrainConfig({ ...common, model, data: task === 'regress' ? scores : data, task, method, ...extra })
    const before = tf.memory().numTensors
    blocked.length = 0
    const trapped = await withoutSyncReads(() => trainAndExport(`async-${method}`, config(), [...outputs]))
    expect(blocked).toEqual([])
    expect(trapped.events.at(-1)!.type).toBe('finished')
    // Every place the loop reads a tensor ran: steps (loss and norm), evaluations, spectra (spectral methods), checkpoints.
    const types = new Set<string>(trapped.events.map((e) => e.type))
    for (const type of ['step', 'eval', 'checkpoint', ...(method === 'siva' || method === 'svdiff' ? ['spectra'] : [])]) expect(types.has(type), type).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
    const plain = await trainAndExport(`sync-${method}`, config(), [...outputs])
    // Same numbers, bit for bit: reading asynchronously changes when values arrive, not what they are.
    const numbers = (events: TrainEvent[]): unknown[] => events.filter((e) => e.type === 'step' || e.type === 'eval' || e.type === 'spectra').map((e) => ({ ...e, ...('stepsPerSecond' in e && { stepsPerSecond: 0, samplesPerSecond: 0, etaSeconds: 0 }), index: 0, time: '' }))
    expect(numbers(trapped.events)).toEqual(numbers(plain.events))
    expect(trapped.variables.map((v) => [...v])).toEqual(plain.variables.map((v) => [...v]))
    expect([...trapped.files.keys()].sort()).toEqual([...plain.files.keys()].sort())
    expect(trapped.files.size).toBeGreaterThan(0)
    for (const [file, bytes] of plain.files) expect(trapped.files.get(file)!.equals(bytes), file).toBe(true)
  }, 120_000)
})
