import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallName } from '../../src/shared/api'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'
import { connectApi, rendererStub } from './serveApi'
import { startServe, type ServeProcess } from './serveProcess'

/**
 * `siva serve` as a browser meets it: a real server process, the token, a real WebSocket client speaking
 * the shared protocol, and real engine work behind every call (no renderer involved here: tests/e2e drives that).
 */
let server: ServeProcess
let url: string
let root: string
let model: string
let data: string

beforeAll(async () => {
  root = tempDir('serve')
  model = tinyBertWithTokenizer(join(root, 'tiny-bert'))
  data = sentimentCsv(join(root, 'sentiment.csv'), 48)
  server = await startServe(root, rendererStub(root))
  url = server.url.href
}, 60_000)

afterAll(() => {
  server?.stop()
})

describe('siva serve', () => {
  it('refuses pages and sockets without the token; serves the page with it', async () => {
    const page = new URL(url)
    expect((await fetch(`http://${page.host}/`)).status).toBe(401)
    const ok = await fetch(url)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('set-cookie')).toMatch(new RegExp(`^siva_page_${page.port}=[0-9a-f]+; HttpOnly; SameSite=Strict; Path=/$`))
    expect(ok.headers.get('content-security-policy')).toContain("default-src 'self'")
    await expect(connectApi(server, false)).rejects.toThrow(/401/)
    expect((await fetch(`http://${page.host}/../../etc/passwd?token=${page.searchParams.get('token')}`)).status).toBe(404)
  })

  it('checks every request against its schema and says which field is wrong', async () => {
    const api = await connectApi(server)
    await expect(api.call('openModel', {} as never)).rejects.toThrow(/openModel: path: /)
    await expect(api.call('nope' as CallName, {} as never)).rejects.toThrow(/unknown method "nope"/)
    await expect(api.call('startRun', { config: { model, data, task: 'classify', lr: -1 } })).rejects.toThrow(/startRun: config\.lr: /)
    await expect(api.call('pauseRun', { runId: '../etc' })).rejects.toThrow(/runId: a run id is letters/)
    api.close()
  })

  it('opens a model, streams its spectra, checks data, trains, re-attaches with replay, and exports', async () => {
    const api = await connectApi(server)
    const info = await api.call('appInfo', {})
    expect(info.name).toBe('SiVA Studio')
    // A browser has no file dialog: the UI hides its Browse buttons, and the call says why.
    expect(info.canPickPaths).toBe(false)
    await expect(api.call('pickPath', { kind: 'folder' })).rejects.toThrow(/no file dialog in a browser; type or paste the path/)
    expect(info.backend?.name).toBeDefined()

    const summary = await api.call('openModel', { path: model })
    expect(summary).toMatchObject({ modelType: 'bert', architectures: ['BertForSequenceClassification'], layers: 2, tokenizer: true, headLr: 1e-3 })
    expect(summary.targets).toHaveLength(12)
    expect(summary.defaultTargets).toBeDefined()
    // Opened models are remembered (newest first) beside the runs folder, across restarts of the server.
    expect((await api.call('recentModels', {})).map((m) => [m.path, m.modelType])).toEqual([[model, 'bert']])

    const spectra = await api.collect('analyseLayers', { path: model, layers: 'attention\\.self\\.query' })
    const report = spectra.at(-1)
    expect(report?.type).toBe('report')
    if (report?.type === 'report') expect(report.report.tensors.map((t) => t.name)).toEqual(['bert.encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.1.attention.self.query.weight'])
    // Each matrix arrives as it is done, before the report.
    const streamed = spectra.map((e) => (e.type === 'progress' ? e.layer?.name : undefined)).filter((name) => name !== undefined)
    expect(streamed.sort()).toEqual(['bert.encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.1.attention.self.query.weight'])

    const checked = await api.call('checkData', { path: data, task: 'classify', model })
    expect(checked).toMatchObject({ usable: true, rows: 48 })
    expect(checked.classes?.map((c) => c.label).sort()).toEqual(['neg', 'pos'])
    expect(checked.preview.length).toBeGreaterThan(0)

    const run = await api.call('startRun', { config: { model, data, task: 'classify', maxSteps: 6, batchSize: 8, checkpointEvery: 3, backend: 'wasm' } })
    expect(run.status).toMatch(/queued|running/)
    const events = await api.collect('runEvents', { runId: run.id, after: -1 }, (e) => e.type === 'status' && ['finished', 'failed', 'cancelled'].includes(e.run.status))
    const types = events.filter((e) => e.type === 'event').map((e) => (e.type === 'event' ? e.event.type : ''))
    expect(types[0]).toBe('started')
    expect(types).toContain('prepared')
    expect(types.filter((t) => t === 'step')).toHaveLength(6)
    expect(types.at(-1)).toBe('finished')

    // A view that reconnects asks for what it has not seen: only the later events come.
    const seen = events.filter((e) => e.type === 'event').map((e) => (e.type === 'event' ? e.event.index : -1))
    const replay = await api.collect('runEvents', { runId: run.id, after: seen[4]! })
    expect(replay.filter((e) => e.type === 'event').map((e) => (e.type === 'event' ? e.event.index : -1))).toEqual(seen.slice(5))

    const runs = await api.call('listRuns', {})
    expect(runs.find((r) => r.id === run.id)).toMatchObject({ status: 'finished', step: 6, totalSteps: 6 })

    const exported = await api.call('exportRun', { runId: run.id, outputs: { adapter: join(root, 'exports', 'adapter'), report: join(root, 'exports', 'report') } })
    expect(exported.outputs.map((o) => o.kind)).toEqual(['adapter', 'report'])
    expect(readdirSync(join(root, 'exports', 'adapter')).sort()).toEqual(['.siva-export', 'README.md', 'adapter.json', 'adapter.safetensors'])
    // The app's export holds to the same guard as the command's: force never replaces the runs folder.
    await expect(api.call('exportRun', { runId: run.id, outputs: { report: join(root, 'runs') }, force: true })).rejects.toThrow(`${join(root, 'runs')}: holds the run folder (${run.dir}); an export never replaces it`)
    expect(existsSync(run.dir)).toBe(true)

    await expect(api.call('deleteRun', { runId: run.id })).resolves.toEqual({ deleted: run.id })
    expect(existsSync(run.dir)).toBe(false)
    api.close()
  }, 120_000)

  it('pauses, resumes and cancels a run', async () => {
    const api = await connectApi(server)
    const run = await api.call('startRun', { config: { model, data, task: 'classify', epochs: 50, batchSize: 8, backend: 'wasm' } })
    await api.collect('runEvents', { runId: run.id }, (e) => e.type === 'event' && e.event.type === 'step')
    expect((await api.call('pauseRun', { runId: run.id })).status).toBe('paused')
    const paused = await api.collect('runEvents', { runId: run.id }, (e) => e.type === 'event' && e.event.type === 'paused')
    expect(paused.length).toBeGreaterThan(0)
    expect((await api.call('resumeRun', { runId: run.id })).status).toBe('running')
    await api.call('cancelRun', { runId: run.id })
    const end = await api.collect('runEvents', { runId: run.id }, (e) => e.type === 'status' && e.run.status === 'cancelled')
    expect(end.some((e) => e.type === 'event' && e.event.type === 'cancelled')).toBe(true)
    api.close()
  }, 120_000)
})
