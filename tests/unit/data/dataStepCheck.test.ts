import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { dataCheckCommand } from '../../../src/main/commands/dataCheck'
import { readTextExamples, TextTokenizer } from '../../../src/main/engine/data'
import { tokenLimit } from '../../../src/main/engine/data/tokenLimit'
import { openTrainData } from '../../../src/main/engine/training/trainData'
import { defaultTrainConfig } from '../../../src/main/engine/training/loop'
import { findDemo } from '../../../src/main/services/demoAssets'
import { checkData } from '../../../src/main/services/dataCheck'
import type { DataCheckResult } from '../../../src/shared/api'
import type { TrainConfig } from '../../../src/shared/training'
import { repoRoot, tempDir } from '../../helpers/paths'
import { fixture } from './helpers'

const tinyBert = join(repoRoot, 'tests/fixtures/models/tiny-bert')
const tinyGpt2 = join(repoRoot, 'tests/fixtures/models/tiny-random-gpt2')
const demo = findDemo()!

/** `siva data check --json`, its one JSON document. */
async function cliCheck(args: string[]): Promise<{ code: number; json: { summary: { tokens: { maxLength: number; tooLong: number; histogram: { from: number; to: number; count: number }[] } }; tokenLimit: { explanation: string } } }> {
  let out = ''
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
  try {
    const code = await dataCheckCommand([...args, '--json', '--quiet'])
    return { code, json: JSON.parse(out) }
  } finally {
    write.mockRestore()
  }
}

/** The counts numpy.histogram(lengths, bins=edges) gives: [e_i, e_i+1), the last bin closed (no length reaches it here). */
function handCount(lengths: number[], edges: number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0)
  for (const length of lengths) {
    for (let i = 0; i < edges.length - 1; i++) {
      if (length >= edges[i]! && length < edges[i + 1]!) counts[i]!++
    }
  }
  return counts
}

/** Token lengths of every row with the tokenizer itself (not the check's tally): text, [CLS]/[SEP] and all. */
async function lengthsOf(file: string, tokenizer: TextTokenizer): Promise<number[]> {
  const lengths: number[] = []
  for await (const example of readTextExamples(file, { task: 'classification', onProblem: () => {} })) lengths.push(tokenizer.encode(example.text).ids.length)
  return lengths
}

/** What training actually cut to: openTrainData's encoded training set (its meta), for the same data and model. */
async function trainingLimit(config: Pick<TrainConfig, 'model' | 'data'> & Partial<TrainConfig>): Promise<{ maxLength: number; truncated: number }> {
  const runDir = tempDir('data-step-limit')
  const data = await openTrainData(defaultTrainConfig({ task: 'classify', validationFraction: 0.1, ...config }), runDir)
  await data.close()
  const meta = JSON.parse(readFileSync(join(runDir, 'data', 'train.json'), 'utf8')) as { maxLength: number; truncated: number }
  return { maxLength: meta.maxLength, truncated: meta.truncated }
}

afterEach(() => vi.restoreAllMocks())

describe("the Data step's token limit is training's", () => {
  it("the demo with its recipe's 48: the Data step, the CLI and training cut at 48 and agree on the truncated rows, and the warning says why", async () => {
    const step = await checkData({ path: demo.train, task: 'classify', model: demo.model, maxLength: 48 })
    const trained = await trainingLimit({ model: demo.model, data: demo.train, maxLength: 48 })
    expect(step.tokens!.maxLength).toBe(48)
    expect(trained.maxLength).toBe(48)
    expect(step.tokens!.tooLong).toBe(trained.truncated)
    expect(step.tokens!.limit).toMatchObject({ source: 'chosen', modelMaxLength: 128 })
    const warning = step.problems.find((p) => p.code === 'text-too-long')!
    expect(warning.message).toContain(`${trained.truncated} rows are longer than 48 tokens`)
    expect(warning.message).toContain('48 is the token limit set in the Token limit field')
    expect(warning.message).toContain("the model takes up to 128 (the Universal Sentence Encoder lite's fixed input length)")
    expect(warning.message).toContain('Training uses the same limit: each longer row is cut to its first 48 tokens')
  })

  it('the demo model without a chosen limit: its own 128 pieces, as training', async () => {
    const step = await checkData({ path: demo.train, task: 'classify', model: demo.model })
    const trained = await trainingLimit({ model: demo.model, data: demo.train })
    expect(step.tokens!.maxLength).toBe(trained.maxLength)
    expect(trained.maxLength).toBe(128)
    expect(step.tokens!.tooLong).toBe(trained.truncated)
    expect(step.tokens!.limit.source).toBe('tokenizer')
  })

  it("tiny-bert: model_max_length 64 from tokenizer_config.json, as training", async () => {
    const step = await checkData({ path: fixture('train.csv'), task: 'classify', model: tinyBert })
    const trained = await trainingLimit({ model: tinyBert, data: fixture('train.csv') })
    expect(trained.maxLength).toBe(64)
    expect(step.tokens!.maxLength).toBe(64)
    expect(step.tokens!.limit).toEqual({ source: 'tokenizer', modelMaxLength: 64, modelField: 'model_max_length in tokenizer_config.json', explanation: "64 is the model's own limit (model_max_length in tokenizer_config.json); training uses it too: each longer row is cut to its first 64 tokens." })
  })

  it('a tokenizer allowing 1024 (tiny GPT-2): the check measures against the 512 training caps at, not 1024', async () => {
    const step = await checkData({ path: fixture('train.csv'), task: 'classify', model: tinyGpt2 })
    const trained = await trainingLimit({ model: tinyGpt2, data: fixture('train.csv') })
    expect(trained.maxLength).toBe(512)
    expect(step.tokens!.maxLength).toBe(512)
    expect(step.tokens!.limit.source).toBe('capped')
    expect(step.tokens!.limit.explanation).toContain('The model takes up to 1024 (model_max_length in tokenizer_config.json), but without a chosen token limit training caps text at 512 tokens')
    const cli = await cliCheck(['--data', fixture('train.csv'), '--task', 'classify', '--model', tinyGpt2])
    expect(cli.json.summary.tokens.maxLength).toBe(512)
  })

  it('the rule itself: chosen, else the model’s own at most 512', () => {
    expect(tokenLimit(48, 128)).toBe(48)
    expect(tokenLimit(undefined, 64)).toBe(64)
    expect(tokenLimit(undefined, 1024)).toBe(512)
    expect(tokenLimit(undefined, undefined)).toBe(512)
  })
})

describe('the token-length histogram', () => {
  it("is the CLI's, bin for bin, and the hand count of the demo's 600 e-mails (edges at powers of two and at 49)", async () => {
    const step = await checkData({ path: demo.train, task: 'classify', model: demo.model, maxLength: 48 })
    const cli = await cliCheck(['--data', demo.train, '--task', 'classify', '--model', demo.model, '--max-length', '48'])
    expect(step.tokens!.histogram).toEqual(cli.json.summary.tokens.histogram)
    const lengths = await lengthsOf(demo.train, await TextTokenizer.load(demo.model))
    expect(lengths).toHaveLength(600)
    const edges = [0, 16, 32, 49, 64, 128, 256]
    const bins = step.tokens!.histogram
    expect(bins.map((b) => b.from)).toEqual(edges.slice(0, bins.length))
    expect(bins.map((b) => b.count)).toEqual(handCount(lengths, edges).slice(0, bins.length))
    expect(bins.reduce((sum, b) => sum + b.count, 0)).toBe(600)
    // The bins from the limit on hold exactly the truncated rows.
    expect(bins.filter((b) => b.from > 48).reduce((sum, b) => sum + b.count, 0)).toBe(step.tokens!.tooLong)
    expect(step.tokens!.tooLong).toBe(lengths.filter((n) => n > 48).length)
  })

  it('tiny-bert on a small CSV: lengths 4 to 5 in the first bin, as the hand count', async () => {
    const step = await checkData({ path: fixture('train.csv'), task: 'classify', model: tinyBert })
    const lengths = await lengthsOf(fixture('train.csv'), await TextTokenizer.load(tinyBert))
    expect(step.tokens!.histogram).toEqual([{ from: 0, to: 16, count: lengths.length }])
    expect(step.tokens!.max).toBe(Math.max(...lengths))
  })
})

describe('the validation file', () => {
  it('gets its own summary: rows, classes, the label training never has and its error', async () => {
    const step: DataCheckResult = await checkData({ path: fixture('train.csv'), validation: fixture('dev.csv'), task: 'classify', model: tinyBert })
    // dev.csv: nice,pos / bad,neg / meh,neutral / ugh,neg; train.csv has only pos and neg.
    expect(step.validation).toMatchObject({ file: fixture('dev.csv'), rows: 4, usable: false, unseen: [{ label: 'neutral', count: 1 }] })
    expect(step.validation!.classes).toEqual([
      { label: 'neg', count: 2 },
      { label: 'neutral', count: 1 },
      { label: 'pos', count: 1 }
    ])
    expect(step.validation!.problems.filter((p) => p.severity === 'error').map((p) => ({ code: p.code, row: p.row }))).toEqual([{ code: 'label-unseen', row: 4 }])
    expect(step.validation!.tokens!.maxLength).toBe(64)
    // The training file is fine, but the step's verdict covers both files.
    expect(step.problems.filter((p) => p.severity === 'error')).toEqual([])
    expect(step.usable).toBe(false)
  })

  it('a validation file with only training labels is usable and has no unseen labels', async () => {
    const step = await checkData({ path: fixture('train.csv'), validation: fixture('train.csv'), task: 'classify' })
    expect(step.validation).toMatchObject({ rows: 4, usable: true })
    expect(step.validation!.unseen).toBeUndefined()
    expect(step.usable).toBe(true)
  })
})
