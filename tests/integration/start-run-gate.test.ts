import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunSummary } from '../../src/shared/api'
import { SivaBackend } from '../../src/main/services/backend'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

// The back end refuses a run on data the Data step's check rejects, before it writes anything: the UI's
// Start then says why instead of showing a failed run with empty charts (issue 17, item 2). Driven through
// SivaBackend.call, the dispatch every transport (IPC, `siva serve`'s socket) hands requests to.

let root: string
let model: string
let good: string
const backends: SivaBackend[] = []

beforeAll(() => {
  root = tempDir('start-run-gate')
  model = tinyBertWithTokenizer(join(root, 'tiny-bert'))
  good = sentimentCsv(join(root, 'sentiment.csv'), 32)
})

afterAll(async () => {
  for (const backend of backends) await backend.close()
})

/** A back end with a runs folder of its own, so each case can say that nothing was written. */
function backend(name: string): { b: SivaBackend; runsDir: string } {
  const runsDir = join(root, name, 'runs')
  const b = new SivaBackend({ runsDir, svdCacheDir: join(root, name, 'svd-cache') })
  backends.push(b)
  return { b, runsDir }
}

function write(name: string, text: string): string {
  const file = join(root, name)
  writeFileSync(file, text)
  return file
}

describe('startRun on data the check rejects', () => {
  it('refuses a CSV whose every row lacks a label, naming the file and the first rows, and writes nothing', async () => {
    const { b, runsDir } = backend('no-labels')
    const data = write('no-labels.csv', 'text,label\nthe film was good,\nthe film was bad,\nwe found it good,\nwe found it bad,\nhonestly quite good,\n')
    const refused = b.call('startRun', { config: { model, data, task: 'classify', backend: 'wasm' } })
    await expect(refused).rejects.toThrow(`startRun: config.data: ${data} cannot be trained on`)
    const message = await refused.catch((e: Error) => e.message)
    // The CSV's header is row 1: the first three problems are rows 2, 3 and 4, and two more are left to the Data step.
    expect(message).toMatch(/found 5 errors, the first 3: no-labels\.csv, row 2: [^;]*label[^;]*; no-labels\.csv, row 3: [^;]*; no-labels\.csv, row 4: [^;]*\. Fix the training data/)
    expect(message).not.toMatch(/row 5\b/)
    expect(existsSync(runsDir)).toBe(false)
    expect(await b.call('listRuns', {})).toEqual([])
  })

  it('refuses a CSV with no label column', async () => {
    const { b, runsDir } = backend('no-label-column')
    const data = write('no-label-column.csv', 'text\nthe film was good\nthe film was bad\n')
    await expect(b.call('startRun', { config: { model, data, task: 'classify', backend: 'wasm' } })).rejects.toThrow(/^startRun: config\.data: .*no-label-column\.csv cannot be trained on: the data check found 1 error: .*label/)
    expect(existsSync(runsDir)).toBe(false)
  })

  it('refuses a chosen label column the file does not have', async () => {
    const { b, runsDir } = backend('wrong-column')
    await expect(b.call('startRun', { config: { model, data: good, task: 'classify', columns: { label: 'sentiment' }, backend: 'wasm' } })).rejects.toThrow(/^startRun: config\.data: .*sentiment\.csv cannot be trained on: .*"sentiment"/)
    expect(existsSync(runsDir)).toBe(false)
  })

  it('refuses a validation file with a label the training data never has, naming its row', async () => {
    const { b, runsDir } = backend('unseen-label')
    const validation = write('validation.csv', 'text,label\nthe film was good,pos\nthe film was fine,meh\n')
    const refused = b.call('startRun', { config: { model, data: good, validation, task: 'classify', backend: 'wasm' } })
    await expect(refused).rejects.toThrow(new RegExp(`^startRun: config\\.validation: ${validation.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be trained on: .*validation\\.csv, row 3\\b.*"meh"`))
    expect(existsSync(runsDir)).toBe(false)
  })

  it('refuses a validation file that does not exist, before checking anything', async () => {
    const { b, runsDir } = backend('missing-validation')
    const validation = join(root, 'nowhere.csv')
    await expect(b.call('startRun', { config: { model, data: good, validation, task: 'classify', backend: 'wasm' } })).rejects.toThrow(`startRun: config.validation: ${validation} does not exist`)
    expect(existsSync(runsDir)).toBe(false)
  })

  it('starts a run on data the check accepts', async () => {
    const { b, runsDir } = backend('usable')
    const run = (await b.call('startRun', { config: { model, data: good, task: 'classify', maxSteps: 2, batchSize: 8, evalEvery: 0, spectraEvery: 0, backend: 'wasm' } })) as RunSummary
    expect(['queued', 'running']).toContain(run.status)
    const events: unknown[] = []
    await b.stream('runEvents', { runId: run.id, after: -1 }, (e) => events.push(e), new AbortController().signal)
    const listed = (await b.call('listRuns', {})) as RunSummary[]
    expect(listed.map((r) => [r.id, r.status])).toEqual([[run.id, 'finished']])
    expect(readdirSync(runsDir)).toEqual([run.id])
  }, 60_000)
})
