import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HubDownloadSummary } from '../../../src/shared/api'
import { SivaBackend } from '../../../src/main/services/backend'
import { startFakeHub, sha256, type FakeHub } from '../../helpers/fakeHub'
import { hfFixture } from '../../helpers/hfref'
import { commitOf } from '../../helpers/hubCacheLayout'
import { tempDir } from '../../helpers/paths'

// The Model step's downloads through the back end's own calls (schema, service, engine), against
// tests/helpers/fakeHub.ts: the real Hub cannot be reached from this machine, so a local server answers
// as the Hub's model-info, tree and resolve endpoints do. The engine's download itself (resume, tokens,
// integrity, what huggingface_hub reads back) is tested in tests/unit/io/hubDownload.test.ts.
const main = commitOf('service-main')
let hub: FakeHub
let backend: SivaBackend
let bert: Record<string, Buffer>
let cache: string

beforeAll(async () => {
  const folder = hfFixture('bert-cls')
  bert = Object.fromEntries(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'].map((n) => [n, readFileSync(join(folder, n))]))
  hub = await startFakeHub([{ id: 'acme/bert', refs: { main }, commits: { [main]: bert } }])
  const root = tempDir('hub-downloads-service')
  cache = join(root, 'hf', 'hub')
  // The back end reads the Hugging Face settings from its environment, as huggingface_hub does.
  Object.assign(process.env, { HF_HUB_CACHE: cache, HF_HOME: join(root, 'hf'), HF_ENDPOINT: hub.url })
  delete process.env['HF_HUB_OFFLINE']
  delete process.env['TRANSFORMERS_OFFLINE']
  delete process.env['HF_TOKEN']
  backend = new SivaBackend({ runsDir: join(root, 'runs'), svdCacheDir: join(root, 'svd') })
})

afterAll(async () => {
  await backend?.close()
  await hub?.close()
})

const call = <T>(method: string, params: unknown): Promise<T> => backend.call(method, params) as Promise<T>

async function ended(model: string, startedAt: string): Promise<HubDownloadSummary> {
  for (let i = 0; i < 400; i++) {
    const found = (await call<HubDownloadSummary[]>('downloads', {})).find((d) => d.model === model && d.startedAt === startedAt)
    if (found && found.state !== 'running') return found
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`${model}: still running after 10 s`)
}

describe("the back end's downloadModel, downloads and cancelDownload", () => {
  it('refuses text that is not a Hub id, naming why, before anything runs', async () => {
    for (const [model, why] of [
      ['../etc/passwd', 'at most one /'],
      ['.hidden/x', "'.hidden' may hold only letters"],
      ['a/b/c', 'at most one /'],
      ['acme/bert@', 'the revision after @ is empty'],
      ['acme/x\u0000', 'control character']
    ] as const) {
      await expect(call('downloadModel', { model })).rejects.toThrow(why)
    }
    await expect(call('downloadModel', { model: 'acme/bert', extra: 1 })).rejects.toThrow(/extra/)
    expect(hub.requests).toHaveLength(0)
    expect(existsSync(cache)).toBe(false)
  })

  it('a cancelled download keeps its partial file; the next one resumes it, and the model then opens by its id', async () => {
    const weights = bert['model.safetensors']!
    const stalled = hub.stallAfter('model.safetensors', 4096)
    const first = await call<HubDownloadSummary>('downloadModel', { model: 'acme/bert' })
    expect(first).toMatchObject({ model: 'acme/bert', state: 'running' })
    await stalled
    // The same model asked again (with or without @main) is the download already running.
    expect(await call<HubDownloadSummary>('downloadModel', { model: 'acme/bert@main' })).toMatchObject({ model: 'acme/bert', startedAt: first.startedAt, state: 'running' })
    const progress = (await call<HubDownloadSummary[]>('downloads', {})).find((d) => d.startedAt === first.startedAt)!.progress!
    expect(progress).toMatchObject({ commit: main, totalBytes: Object.values(bert).reduce((n, b) => n + b.length, 0) })
    const cancelled = await call<HubDownloadSummary>('cancelDownload', { model: 'acme/bert' })
    expect(cancelled.state).toBe('cancelled')
    expect(cancelled.error).toMatch(/cancel/i)
    const blobs = join(cache, 'models--acme--bert', 'blobs')
    const partial = readdirSync(blobs).filter((n) => n.endsWith('.incomplete'))
    expect(partial).toEqual([`${sha256(weights)}.incomplete`])
    expect(existsSync(join(cache, 'models--acme--bert', 'snapshots', main, 'model.safetensors'))).toBe(false)

    const second = await call<HubDownloadSummary>('downloadModel', { model: 'acme/bert' })
    expect(second.startedAt).not.toBe(first.startedAt)
    const done = await ended('acme/bert', second.startedAt)
    expect(done.state, done.error).toBe('done')
    expect(done.snapshot).toBe(join(cache, 'models--acme--bert', 'snapshots', main))
    expect(done.progress!.resumedBytes).toBeGreaterThanOrEqual(4096)
    expect(readFileSync(join(done.snapshot!, 'model.safetensors')).equals(weights)).toBe(true)
    // The resumed request asked only for the rest.
    const ranged = hub.requests.filter((r) => r.url.startsWith(`/cdn/${sha256(weights)}`) && r.range?.startsWith('bytes=') && r.range !== 'bytes=0-0')
    expect(ranged.at(-1)!.range).toMatch(/^bytes=(\d+)-/)
    expect(Number(/^bytes=(\d+)-/.exec(ranged.at(-1)!.range!)![1])).toBe(done.progress!.resumedBytes)

    const summary = await call<{ path: string; targets: unknown[] }>('openModel', { path: 'acme/bert' })
    expect(summary.path).toBe(done.snapshot)
    expect(summary.targets.length).toBeGreaterThan(0)
    const cached = await call<{ models: { id: string }[] }>('cachedModels', {})
    expect(cached.models.map((m) => m.id)).toEqual(['acme/bert'])
  })

  it('a model the Hub does not have fails with its message; cancelling an unknown download is refused', async () => {
    const started = await call<HubDownloadSummary>('downloadModel', { model: 'acme/missing' })
    const failed = await ended('acme/missing', started.startedAt)
    expect(failed.state).toBe('failed')
    expect(failed.error).toContain('acme/missing')
    await expect(call('cancelDownload', { model: 'acme/never' })).rejects.toThrow('no download of acme/never was started here')
  })
})
