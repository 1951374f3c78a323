import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { defaultTrainConfig, TrainControl, trainRun } from '../../src/main/engine/training/loop'
import { readCheckpoint } from '../../src/main/engine/training/runFolder'
import type { TrainConfig, TrainEvent } from '../../src/shared/training'
import { repoRoot, tempDir, tinyGpt2 } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'
import { inProcessDecompose as decompose } from '../helpers/decompose'


let model: string
let data: string
beforeAll(() => {
  const dir = tempDir('train-loop')
  model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
  data = sentimentCsv(join(dir, 'sentiment.csv'), 80)
})

/** Live tfjs tensors seen at each step event: they must not grow while training runs. */
let tensorsAtSteps: number[] = []

async function run(config: TrainConfig | { resume: true }, runDir: string, control?: TrainControl, stopAfterStep?: number): Promise<TrainEvent[]> {
  const events: TrainEvent[] = []
  tensorsAtSteps = []
  for await (const event of trainRun(config, runDir, { decompose, ...(control && { control }) })) {
    events.push(event)
    if (event.type === 'step') tensorsAtSteps.push(tf.memory().numTensors)
    if (stopAfterStep !== undefined && event.type === 'step' && event.step === stopAfterStep) control!.cancel()
  }
  return events
}

const config = (): TrainConfig => defaultTrainConfig({ model, data, task: 'classify', method: 'siva', epochs: 3, batchSize: 8, lr: 0.05, headLr: 0.01, seed: 3, checkpointEvery: 4, spectraEvery: 5, backend: 'wasm' })

describe('the training loop on tiny-bert (SiVA, classification)', () => {
  it('runs to the end with a complete event stream, and the loss falls', async () => {
    const runDir = join(tempDir('train-run'), 'run')
    const events = await run(config(), runDir)
    const types = events.map((e) => e.type)
    expect(types[0]).toBe('started')
    expect(types).toContain('prepared')
    expect(types.at(-1)).toBe('finished')
    expect(events.map((e) => e.index)).toEqual(events.map((_, i) => i))
    const prepared = events.find((e) => e.type === 'prepared') as Extract<TrainEvent, { type: 'prepared' }>
    // Default BERT targets: query and value of 2 layers, 32×32 each, k = round(0.1·32) = 3.
    expect(prepared.targets.map((t) => [t.name, t.trainable])).toEqual([
      ['bert.encoder.layer.0.attention.self.query', 3],
      ['bert.encoder.layer.0.attention.self.value', 3],
      ['bert.encoder.layer.1.attention.self.query', 3],
      ['bert.encoder.layer.1.attention.self.value', 3]
    ])
    expect(prepared.parameters.adapter).toBe(12)
    expect(prepared.parameters.lora8).toBe(4 * 8 * 64)
    expect(prepared.data).toMatchObject({ train: 72, validation: 8, labels: ['neg', 'pos'] })
    const steps = events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[]
    expect(steps).toHaveLength(prepared.totalSteps)
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(mean(steps.slice(-5).map((s) => s.loss))).toBeLessThan(mean(steps.slice(0, 5).map((s) => s.loss)))
    const spectra = events.filter((e) => e.type === 'spectra') as Extract<TrainEvent, { type: 'spectra' }>[]
    expect(spectra.length).toBeGreaterThan(0)
    const layer = spectra.at(-1)!.layers[0]!
    expect(layer.band).toEqual([29, 32])
    expect(layer.erank).not.toBe(layer.erankBefore)
    expect(events.filter((e) => e.type === 'eval').length).toBe(3)
    // The run folder has everything.
    const logged = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainEvent)
    expect(logged).toEqual(events)
    expect(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'))).toMatchObject({ config: { method: 'siva', seed: 3 }, backend: 'wasm' })
    expect(existsSync(join(runDir, 'data', 'labels.json'))).toBe(true)
    expect((await readCheckpoint(runDir))!.state.step).toBe(prepared.totalSteps)
    // No tensor leaks across steps (evaluations and checkpoints in between included).
    expect(new Set(tensorsAtSteps.slice(1)).size).toBe(1)
    // Everything is released when the run ends.
    expect(tf.memory().numTensors).toBeLessThanOrEqual(tensorsAtSteps[0]!)
  }, 120_000)

  it('cancelled mid-way and resumed, it ends with the same δ as a run never stopped', async () => {
    const straightDir = join(tempDir('train-straight'), 'run')
    const straight = await run(config(), straightDir)
    const stoppedDir = join(tempDir('train-stopped'), 'run')
    const first = await run(config(), stoppedDir, new TrainControl(), 5)
    expect(first.at(-1)!.type).toBe('cancelled')
    expect((await readCheckpoint(stoppedDir))!.state.step).toBe(5)
    const encodedAt = statSync(join(stoppedDir, 'data', 'train.ids')).mtimeMs
    const second = await run({ resume: true }, stoppedDir)
    // The resumed run read its encoded data back rather than tokenising the file again.
    expect(statSync(join(stoppedDir, 'data', 'train.ids')).mtimeMs).toBe(encodedAt)
    expect(second[0]).toMatchObject({ type: 'started', resumedFrom: 5 })
    expect(second.at(-1)!.type).toBe('finished')
    const a = await readCheckpoint(straightDir)
    const b = await readCheckpoint(stoppedDir)
    expect(b!.state.step).toBe(a!.state.step)
    a!.tensors.variables.forEach((v, i) => {
      const w = b!.tensors.variables[i]!.values
      v.values.forEach((x, j) => expect(Math.abs(x - w[j]!)).toBeLessThanOrEqual(1e-6))
    })
    const lastLoss = (events: TrainEvent[]): number => (events.filter((e) => e.type === 'step').at(-1) as Extract<TrainEvent, { type: 'step' }>).loss
    expect(lastLoss(second)).toBeCloseTo(lastLoss(straight), 5)
  }, 180_000)
})

describe('run bookkeeping', () => {
  it('records a fingerprint of the data, and refuses to resume on data that changed', async () => {
    const dir = tempDir('train-fingerprint')
    const file = sentimentCsv(join(dir, 'data.csv'), 40)
    const runDir = join(dir, 'run')
    const events = await run(defaultTrainConfig({ model, data: file, task: 'classify', epochs: 2, batchSize: 8, seed: 1, backend: 'wasm' }), runDir, new TrainControl(), 2)
    expect(events.at(-1)!.type).toBe('cancelled')
    const info = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { data: { train: { sha256: string; bytes: number } } }
    expect(info.data.train.bytes).toBe(readFileSync(file).length)
    expect(info.data.train.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'))
    writeFileSync(file, `${readFileSync(file, 'utf8')}one more row good,pos\n`)
    await expect(run({ resume: true }, runDir)).rejects.toThrow(/data\.csv changed since the run started/)
  }, 60_000)

  it('gradient accumulation: 2 micro-batches of 4 take the same step as one batch of 8', async () => {
    const dir = tempDir('train-accumulate')
    const file = sentimentCsv(join(dir, 'data.csv'), 18)
    const common = { model, data: file, task: 'classify' as const, epochs: 1, maxSteps: 2, validationFraction: 0.12, lr: 0.05, seed: 9, backend: 'wasm' as const, schedule: 'constant' as const, warmupRatio: 0, maxGradNorm: 1e9, dropout: false }
    await run(defaultTrainConfig({ ...common, batchSize: 8 }), join(dir, 'whole'))
    await run(defaultTrainConfig({ ...common, batchSize: 4, gradientAccumulation: 2 }), join(dir, 'accumulated'))
    const a = (await readCheckpoint(join(dir, 'whole')))!
    const b = (await readCheckpoint(join(dir, 'accumulated')))!
    expect(b.state.step).toBe(2)
    a.tensors.variables.forEach((v, i) => v.values.forEach((x, j) => expect(Math.abs(x - b.tensors.variables[i]!.values[j]!)).toBeLessThan(1e-5)))
  }, 60_000)
})

describe('every method and task through the loop', () => {
  it.each(['lora', 'svdiff', 'topk', 'full', 'head'] as const)('%s trains tiny-bert and reports its parameters exactly', async (method) => {
    const runDir = join(tempDir(`train-${method}`), 'run')
    const events = await run(defaultTrainConfig({ model, data, task: 'classify', method, epochs: 1, maxSteps: 3, batchSize: 8, rank: 2, seed: 1, backend: 'wasm' }), runDir)
    expect(events.at(-1)!.type).toBe('finished')
    const prepared = events.find((e) => e.type === 'prepared') as Extract<TrainEvent, { type: 'prepared' }>
    const expected = { lora: 4 * 2 * 64, svdiff: 4 * 32, topk: 12, full: prepared.parameters.full - 66, head: 0 }[method]
    expect(prepared.parameters.adapter).toBe(expected)
    expect(prepared.parameters.head).toBe(66)
    expect(events.filter((e) => e.type === 'step')).toHaveLength(3)
    expect(new Set(tensorsAtSteps.slice(1)).size).toBe(1)
  }, 120_000)

  it('regression (numeric labels, Pearson and Spearman)', async () => {
    const dir = tempDir('train-regress')
    const file = join(dir, 'scores.csv')
    const rows = Array.from({ length: 48 }, (_, i) => `${['great', 'fine', 'poor'][i % 3]} item ${i},${[4.5, 2.5, 0.5][i % 3]}`)
    writeFileSync(file, `text,label\n${rows.join('\n')}\n`)
    const events = await run(defaultTrainConfig({ model, data: file, task: 'regress', epochs: 2, batchSize: 8, seed: 2, backend: 'wasm' }), join(dir, 'run'))
    const evals = events.filter((e) => e.type === 'eval') as Extract<TrainEvent, { type: 'eval' }>[]
    expect(Object.keys(evals.at(-1)!.metrics).sort()).toEqual(['loss', 'pearson', 'spearman'])
    expect(events.at(-1)!.type).toBe('finished')
  }, 120_000)

  it('image classification: tiny-vit on the digit images', async () => {
    const dir = tempDir('train-images')
    const events = await run(
      defaultTrainConfig({ model: join(repoRoot, 'tests/fixtures/models/tiny-vit'), data: join(repoRoot, 'tests/fixtures/data/images/digits'), task: 'image-classify', epochs: 2, batchSize: 4, validationFraction: 0.34, seed: 4, backend: 'wasm' }),
      join(dir, 'run')
    )
    const prepared = events.find((e) => e.type === 'prepared') as Extract<TrainEvent, { type: 'prepared' }>
    expect(prepared.data).toMatchObject({ train: 6, validation: 3, labels: ['0', '1', '2'] })
    expect(prepared.targets.map((t) => t.name)).toEqual(['vit.encoder.layer.0.attention.attention.query', 'vit.encoder.layer.0.attention.attention.value', 'vit.encoder.layer.1.attention.attention.query', 'vit.encoder.layer.1.attention.attention.value'])
    expect(Object.keys((events.filter((e) => e.type === 'eval').at(-1) as Extract<TrainEvent, { type: 'eval' }>).metrics)).toContain('accuracy')
    expect(events.at(-1)!.type).toBe('finished')
  }, 120_000)

  it('causal LM: tiny-random-gpt2 on the bundled Brown continuations (loss on completions only)', async () => {
    const dir = tempDir('train-causal')
    const events = await run(
      defaultTrainConfig({ model: tinyGpt2, data: join(repoRoot, 'tests/fixtures/samples/brown-continuation.jsonl'), task: 'causal-lm', epochs: 1, maxSteps: 6, batchSize: 8, maxLength: 64, seed: 6, backend: 'wasm' }),
      join(dir, 'run')
    )
    const prepared = events.find((e) => e.type === 'prepared') as Extract<TrainEvent, { type: 'prepared' }>
    expect(prepared.targets.map((t) => t.name).slice(0, 2)).toEqual(['transformer.h.0.attn.c_attn.q', 'transformer.h.0.attn.c_attn.v'])
    expect(prepared.parameters.head).toBe(0)
    const metrics = (events.filter((e) => e.type === 'eval').at(-1) as Extract<TrainEvent, { type: 'eval' }>).metrics
    expect(Object.keys(metrics).sort()).toEqual(['loss', 'perplexity'])
    expect(metrics['perplexity']).toBeCloseTo(Math.exp(metrics['loss']!), 6)
    expect(events.at(-1)!.type).toBe('finished')
  }, 120_000)

  it('unusable data stops the run with the problems named, in the event stream too', async () => {
    const dir = tempDir('train-bad-data')
    const file = join(dir, 'bad.csv')
    writeFileSync(file, 'text,label\ngood,pos\n,neg\n')
    const events: TrainEvent[] = []
    await expect(async () => {
      for await (const event of trainRun(defaultTrainConfig({ model, data: file, task: 'classify', backend: 'wasm' }), join(dir, 'run'), { decompose })) events.push(event)
    }).rejects.toThrow(/bad\.csv: 1 problem to fix before training, first: bad\.csv, row 3: "text" is empty/)
    expect(events.at(-1)).toMatchObject({ type: 'error', message: expect.stringContaining('row 3') })
  })
})

