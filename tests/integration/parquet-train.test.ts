import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { TrainEvent } from '../../src/shared/training'
import { hubSentimentFolder, sentimentRows, writeParquet } from '../helpers/parquetFixtures'
import { repoRoot, tempDir } from '../helpers/paths'
import { tinyBertWithTokenizer } from '../helpers/tinyModels'

// `siva data check` and `siva train` on Parquet: the real CLI and training worker, data written by arrow-rs.
let model: string
let folder: string
let single: string
beforeAll(() => {
  const dir = tempDir('parquet-train')
  model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
  folder = hubSentimentFolder(join(dir, 'sentiment-hub'), 48, 10, 8)
  const { text, label } = sentimentRows(40)
  single = writeParquet(join(dir, 'sentiment.parquet'), { text: { type: 'string', values: text }, label: { type: 'string', values: label } }, { codec: 'ZSTD', rowGroupSize: 6 })
})

function siva(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

const trainArgs = (data: string, out: string) => ['train', '--model', model, '--data', data, '--task', 'classify', '--out', out, '--epochs', '1', '--batch-size', '8', '--lr', '0.05', '--seed', '5', '--backend', 'wasm', '--json-events', '--quiet']

function prepared(stdout: string): Extract<TrainEvent, { type: 'prepared' }> {
  const events = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as TrainEvent)
  const event = events.find((e) => e.type === 'prepared')
  if (event?.type !== 'prepared') throw new Error(`no prepared event in:\n${stdout}`)
  return event
}

describe('Parquet datasets through the CLI', () => {
  it('siva data check reads a Hub folder and says its validation split is used', () => {
    const run = siva(['data', 'check', '--data', folder, '--task', 'classify'])
    expect(run.stderr).not.toMatch(/error/i)
    expect(run.status).toBe(0)
    expect(run.stdout).toContain('training split: 2 files (data/train-00000-of-00002.parquet, data/train-00001-of-00002.parquet)')
    expect(run.stdout).toContain('validation split: 1 file (data/validation-00000-of-00001.parquet), used as the validation data when no validation file is given (--validation)')
    expect(run.stdout).toMatch(/\b48\b/)
  }, 60_000)

  it('siva train trains on a Hub folder, validating on its validation split', () => {
    const out = join(tempDir('parquet-train-hub'), 'run')
    const run = siva(trainArgs(folder, out))
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const event = prepared(run.stdout)
    // All 48 training rows train (none held out), the 10 of the validation split validate.
    expect(event.data).toMatchObject({ train: 48, validation: 10, labels: ['neg', 'pos'] })
    expect(existsSync(join(out, 'data', 'validation.json'))).toBe(true)
    const split = JSON.parse(readFileSync(join(out, 'data', 'split.json'), 'utf8')) as { validation: { prefix: string; indices: number[] } }
    expect(split.validation.prefix).toBe('validation')
    expect(split.validation.indices).toHaveLength(10)
  }, 120_000)

  it('siva train trains on a single .parquet file, holding out 10% as for CSV', () => {
    const out = join(tempDir('parquet-train-file'), 'run')
    const run = siva(trainArgs(single, out))
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const event = prepared(run.stdout)
    expect(event.data.train + event.data.validation).toBe(40)
    expect(event.data.validation).toBe(4)
  }, 120_000)

  it('siva train refuses a Hub folder whose validation split has a label training never has', () => {
    const dir = tempDir('parquet-train-unseen')
    const { text, label } = sentimentRows(16)
    writeParquet(join(dir, 'data/train-00000-of-00001.parquet'), { text: { type: 'string', values: text }, label: { type: 'string', values: label } })
    writeParquet(join(dir, 'data/validation-00000-of-00001.parquet'), { text: { type: 'string', values: ['fine', 'so so', 'great'] }, label: { type: 'string', values: ['pos', 'meh', 'pos'] } })
    const run = siva(trainArgs(dir, join(tempDir('parquet-train-unseen-run'), 'run')))
    expect(run.status).not.toBe(0)
    expect(`${run.stdout}${run.stderr}`).toContain(`${dir} (its validation split): 1 problem to fix before training, first: ${dir.split('/').pop()}, row 2: label "meh" is not among the training labels (1 row)`)
  }, 60_000)

  it('siva train refuses a damaged Parquet file, naming it', () => {
    const dir = tempDir('parquet-train-bad')
    const bad = join(dir, 'bad.parquet')
    writeParquet(bad, { text: { type: 'string', values: ['a', 'b'] }, label: { type: 'string', values: ['x', 'y'] } })
    const bytes = readFileSync(bad)
    writeFileSync(bad, bytes.subarray(0, bytes.length - 20))
    const run = siva(trainArgs(bad, join(dir, 'run')))
    expect(run.status).not.toBe(0)
    expect(`${run.stdout}${run.stderr}`).toContain('bad.parquet: the file is cut short')
  }, 60_000)
})
