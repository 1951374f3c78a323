import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallName, CallResults, Params, StreamEvents, StreamName } from '../../src/shared/api'
import { tempDir } from '../helpers/paths'
import { tinyBertWithTokenizer } from '../helpers/tinyModels'
import { connectApi, rendererStub, type ApiClient } from './serveApi'
import { startServe, type ServeProcess } from './serveProcess'

// The back end behind `siva serve` and the desktop app runs every client's layer pattern and every opened
// checkpoint's tokenizer patterns: a catastrophic one must neither pin the server nor stop it answering.

let server: ServeProcess
let api: ApiClient
let root: string

beforeAll(async () => {
  root = tempDir('serve-patterns')
  server = await startServe(root, rendererStub(root))
  api = await connectApi(server)
}, 60_000)

afterAll(() => {
  api?.close()
  server?.stop()
})

const call = <M extends CallName>(method: M, params: Params<M>): Promise<CallResults[M]> => api.call(method, params)
const collect = <M extends StreamName>(method: M, params: Params<M>): Promise<StreamEvents[M][]> => api.collect(method, params)

describe('untrusted patterns through the back end', () => {
  it('analyseLayers with ^(.*.*)*X$ reports no matrix at once, and the server keeps answering', async () => {
    const model = tinyBertWithTokenizer(join(root, 'tiny-bert'))
    const started = performance.now()
    const events = await collect('analyseLayers', { path: model, layers: '^(.*.*)*X$' })
    expect(performance.now() - started).toBeLessThan(20_000)
    const report = events.at(-1)
    expect(report?.type).toBe('report')
    if (report?.type === 'report') expect(report.report.tensors).toEqual([])
    expect((await call('openModel', { path: model })).modelType).toBe('bert')
  })

  it('a layer pattern with a backreference is refused by the request schema, naming the pattern', async () => {
    const model = tinyBertWithTokenizer(join(root, 'tiny-bert-2'))
    await expect(collect('analyseLayers', { path: model, layers: '(query)\\1' })).rejects.toThrow(/the pattern \/\(query\)\\1\/ cannot be matched in bounded time/)
  })

  it('checkData with a tokenizer.json Split pattern (a|a)+$ answers', async () => {
    const model = tinyBertWithTokenizer(join(root, 'tiny-bert-split'))
    const file = join(model, 'tokenizer.json')
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    json['pre_tokenizer'] = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '(a|a)+$' }, behavior: 'Isolated', invert: false }, json['pre_tokenizer']] }
    writeFileSync(file, JSON.stringify(json))
    const data = join(root, 'rows.csv')
    writeFileSync(data, `text,label\n${'a'.repeat(3000)}b,pos\n${'a'.repeat(3000)}c,neg\nfine,pos\nalso fine,neg\n`)
    const started = performance.now()
    const checked = await call('checkData', { path: data, task: 'classify', model })
    expect(performance.now() - started).toBeLessThan(20_000)
    expect(checked).toMatchObject({ usable: true, rows: 4 })
  })
})
