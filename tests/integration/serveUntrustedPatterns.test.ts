import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { CallName, CallResults, Params, ServerMessage, StreamEvents, StreamName } from '../../src/shared/api'
import { MessageClient } from '../../src/shared/client'
import { repoRoot, tempDir } from '../helpers/paths'
import { tinyBertWithTokenizer } from '../helpers/tinyModels'

// The back end behind `siva serve` and the desktop app runs every client's layer pattern and every opened
// checkpoint's tokenizer patterns: a catastrophic one must neither pin the server nor stop it answering.

let child: ChildProcess
let api: MessageClient
let ws: WebSocket
let root: string

beforeAll(async () => {
  root = tempDir('serve-patterns')
  const renderer = join(root, 'renderer')
  mkdirSync(renderer)
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>SiVA Studio</title>')
  child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'serve', '--port', '0', '--runs-dir', join(root, 'runs'), '--svd-cache', join(root, 'cache'), '--renderer', renderer, '--quiet'], { cwd: repoRoot })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /serving at (\S+)/.exec(out)
      if (match) resolve(match[1]!)
    })
    child.on('exit', (code) => reject(new Error(`siva serve exited with ${code}`)))
  })
  const page = new URL(url)
  ws = new WebSocket(`ws://${page.host}/api?token=${page.searchParams.get('token')}`, { headers: { host: page.host } })
  api = new MessageClient((message) => ws.send(JSON.stringify(message)))
  ws.on('message', (data) => api.receive(JSON.parse(data.toString()) as ServerMessage))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
}, 60_000)

afterAll(() => {
  ws?.close()
  child?.kill('SIGTERM')
})

const call = <M extends CallName>(method: M, params: Params<M>): Promise<CallResults[M]> => api.call(method, params)

function collect<M extends StreamName>(method: M, params: Params<M>): Promise<StreamEvents[M][]> {
  const events: StreamEvents[M][] = []
  return new Promise((resolve, reject) => {
    api.stream(method, params, (event) => events.push(event), (error) => (error ? reject(new Error(error)) : resolve(events)))
  })
}

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
