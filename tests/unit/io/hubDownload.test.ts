import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveModelLocation } from '../../../src/main/engine/io/hubCache'
import { downloadHubModel, HubDownloadError, hubToken, type HubDownloadOptions, type HubDownloadProgress } from '../../../src/main/engine/io/hubDownload'
import { startFakeHub, sha256, type FakeHub } from '../../helpers/fakeHub'
import { hfFixture, hfPython, hfrefDir, runHfPython } from '../../helpers/hfref'
import { commitOf, scanCacheWithHuggingfaceHub } from '../../helpers/hubCacheLayout'
import { tempDir } from '../../helpers/paths'

// The real Hugging Face Hub cannot be reached from this machine (tests run without network), so downloads go to
// tests/helpers/fakeHub.ts: a local server that answers the model-info, tree and resolve endpoints as the Hub
// does (ETag / X-Linked-ETag, a 302 to a CDN path for LFS files, Range → 206, Link pagination, 401/403 for a
// gated repo, X-Error-Code on 404s). It serves checkpoints the real transformers wrote (hfref's bert-cls and its
// BF16 sharded copy); what lands in the cache is then read by the real huggingface_hub (vendored 0.24.5):
// scan_cache_dir, try_to_load_from_cache and hf_hub_download(local_files_only=True).
const main = commitOf('download-main')
const v2 = commitOf('download-v2')

let hub: FakeHub
let bert: Record<string, Buffer>
let sharded: Record<string, Buffer>
let home: string

const read = (folder: string, names: string[]): Record<string, Buffer> => Object.fromEntries(names.map((n) => [n, readFileSync(join(folder, n))]))

beforeAll(async () => {
  const bertFolder = hfFixture('bert-cls')
  bert = read(bertFolder, ['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'])
  const shardedFolder = hfFixture('bert-cls-bf16-sharded')
  sharded = read(shardedFolder, readdirSync(shardedFolder).filter((n) => (n.endsWith('.json') && n !== 'fixture.json') || n.endsWith('.safetensors') || n === 'vocab.txt'))
  // What a Hub repo holds beside what a run reads: other frameworks' weights, a nested ONNX export, test data.
  const extras = {
    'README.md': Buffer.from('---\nlicense: apache-2.0\n---\n# tiny bert\n'),
    '.gitattributes': Buffer.from('*.safetensors filter=lfs diff=lfs merge=lfs -text\n'),
    'pytorch_model.bin': randomBytes(5000),
    'tf_model.h5': randomBytes(4000),
    'flax_model.msgpack': randomBytes(3000),
    'onnx/model.onnx': randomBytes(2500),
    'reference.npz': readFileSync(join(bertFolder, 'reference.npz'))
  }
  hub = await startFakeHub([
    {
      id: 'acme/bert',
      refs: { main, v1: main, v2 },
      commits: { [main]: { ...bert, ...extras }, [v2]: { ...bert, ...extras, 'config.json': Buffer.from(bert['config.json']!.toString().replace('{', '{\n  "_v2": true,')) } }
    },
    { id: 'acme/sharded', refs: { main }, commits: { [main]: sharded } },
    {
      id: 'acme/bin-only',
      refs: { main },
      // An empty file too (the Hub cannot answer a Range on it): its blob is the empty git blob.
      commits: { [main]: { 'config.json': bert['config.json']!, 'pytorch_model.bin': extras['pytorch_model.bin'], 'tf_model.h5': extras['tf_model.h5'], 'added_tokens.json': Buffer.alloc(0) } }
    },
    { id: 'acme/tf-only', refs: { main }, commits: { [main]: { 'config.json': bert['config.json']!, 'tf_model.h5': extras['tf_model.h5'], 'README.md': extras['README.md'] } } },
    { id: 'acme/gated', refs: { main }, commits: { [main]: bert }, gatedToken: 'hf_gated_secret' }
  ])
  home = tempDir('hub-download-home')
})

afterAll(async () => {
  await hub?.close()
})

/** A fresh, empty Hugging Face cache and the environment that points at it and at the fake Hub (nothing inherited). */
let caches = 0
function freshCache(vars: Record<string, string> = {}): { cache: string; env: Record<string, string> } {
  const cache = join(home, `cache-${++caches}`, 'hub')
  return { cache, env: { HF_HUB_CACHE: cache, HF_HOME: home, HF_ENDPOINT: hub.url, ...vars } }
}

const snapshotOf = (cache: string, id: string, commit: string): string => join(cache, `models--${id.replace('/', '--')}`, 'snapshots', commit)
const blobOf = (cache: string, id: string, etag: string): string => join(cache, `models--${id.replace('/', '--')}`, 'blobs', etag)

async function failure(promise: Promise<unknown>): Promise<HubDownloadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(HubDownloadError)
  return error as HubDownloadError
}

/** huggingface_hub reading our cache: each file through try_to_load_from_cache and hf_hub_download(local_files_only). */
function pythonReads(cache: string, id: string, revision: string, files: string[]): Record<string, { cached: string; downloaded: string }> {
  const script = `
import json, sys
from huggingface_hub import hf_hub_download, try_to_load_from_cache
cache, repo, revision, files = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
print(json.dumps({f: {"cached": try_to_load_from_cache(repo, f, cache_dir=cache, revision=revision),
                      "downloaded": hf_hub_download(repo, f, revision=revision, cache_dir=cache, local_files_only=True)} for f in files}))
`
  return JSON.parse(runHfPython('-', [cache, id, revision, JSON.stringify(files)], { input: script }).stdout) as Record<string, { cached: string; downloaded: string }>
}

const resolveRequests = (id: string): string[] => hub.requestsTo(`/${id}/resolve/`).map((r) => decodeURIComponent(r.url.split('/resolve/')[1]!.split('/').slice(1).join('/')))

describe('downloadHubModel', () => {
  it('fetches what a run reads (safetensors, not the .bin, TF, Flax or ONNX copies) into the layout huggingface_hub reads', async () => {
    const { cache, env } = freshCache()
    const events: HubDownloadProgress[] = []
    const before = hub.requests.length
    const started = Date.now()
    const resolved = await downloadHubModel({ id: 'acme/bert' }, { env, onProgress: (p) => events.push(p) })
    const seconds = (Date.now() - started) / 1000
    const snapshot = snapshotOf(cache, 'acme/bert', main)
    expect(resolved).toEqual({ id: 'acme/bert', revision: 'main', commit: main, cache, repoFolder: join(cache, 'models--acme--bert'), snapshot })
    const wanted = ['README.md', ...Object.keys(bert)].sort()
    expect(readdirSync(snapshot).sort()).toEqual(wanted)
    // A git file: the Range 0-0 probe, then its bytes; an LFS file: the probe follows the 302 to the CDN, where its bytes are read.
    expect(resolveRequests('acme/bert').sort()).toEqual(wanted.flatMap((f) => (f === 'model.safetensors' ? [f] : [f, f])))
    expect(hub.requestsTo(`/cdn/${sha256(bert['model.safetensors']!)}`).map((r) => r.range)).toEqual(['bytes=0-0', undefined])
    expect(hub.requests.slice(before).filter((r) => /pytorch_model|tf_model|flax|onnx|npz/.test(r.url))).toEqual([])
    // Blobs named as huggingface_hub names them: sha256 for LFS files, the git blob sha1 otherwise; links relative.
    expect(readlinkSync(join(snapshot, 'model.safetensors'))).toBe(`../../blobs/${sha256(bert['model.safetensors']!)}`)
    expect(readFileSync(join(cache, 'models--acme--bert', 'refs', 'main'), 'utf8')).toBe(main)
    expect(readdirSync(join(cache, 'models--acme--bert', 'blobs')).filter((n) => !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(n))).toEqual([])

    const scanned = scanCacheWithHuggingfaceHub(cache)
    expect(scanned.warnings).toEqual([])
    expect(scanned.repos.map((r) => [r.repo_id, r.revisions.map((v) => [v.commit_hash, v.refs, v.files])])).toEqual([['acme/bert', [[main, ['main'], wanted]]]])
    for (const [file, paths] of Object.entries(pythonReads(cache, 'acme/bert', 'main', wanted))) {
      expect(paths.cached).toBe(join(snapshot, file))
      expect(paths.downloaded).toBe(join(snapshot, file))
      expect(sha256(readFileSync(paths.downloaded))).toBe(sha256(file === 'README.md' ? readFileSync(join(snapshot, file)) : bert[file]!))
    }
    expect((await resolveModelLocation('acme/bert', { env })).path).toBe(snapshot)

    // Progress: listing first, done last, bytes adding up, and at most about ten events a second.
    expect(events[0]!.stage).toBe('listing')
    const last = events.at(-1)!
    expect(last).toMatchObject({ stage: 'done', commit: main, fileCount: wanted.length, resumedBytes: 0, etaSeconds: 0 })
    expect(last.bytes).toBe(last.totalBytes)
    expect(last.totalBytes).toBe(wanted.reduce((n, f) => n + statSync(join(snapshot, f)).size, 0))
    expect(events.length).toBeLessThanOrEqual(2 + Math.ceil(seconds * 10))
    expect(events.every((e, i) => i === 0 || e.bytes >= events[i - 1]!.bytes)).toBe(true)
  })

  it('fetches only what is missing: a whole snapshot nothing; a new revision sharing blobs only its new files; a nested file with ../../../', async () => {
    const { cache, env } = freshCache()
    await downloadHubModel({ id: 'acme/bert' }, { env })
    let before = hub.requests.length
    await downloadHubModel({ id: 'acme/bert' }, { env })
    expect(hub.requests.slice(before).map((r) => r.url.split('?')[0])).toEqual([`/api/models/acme/bert/revision/main`, `/api/models/acme/bert/tree/${main}`])

    before = hub.requests.length
    const resolved = await downloadHubModel({ id: 'acme/bert', revision: 'v2' }, { env })
    expect(resolved.commit).toBe(v2)
    expect(hub.requests.slice(before).filter((r) => r.url.includes('/resolve/')).map((r) => r.url.split('/').at(-1))).toEqual(['config.json', 'config.json'])
    expect(readFileSync(join(cache, 'models--acme--bert', 'refs', 'v2'), 'utf8')).toBe(v2)
    expect(JSON.parse(readFileSync(join(resolved.snapshot, 'config.json'), 'utf8'))._v2).toBe(true)

    const nested = await downloadHubModel({ id: 'acme/bert', revision: main }, { env, files: ['onnx/model.onnx'] })
    expect(readlinkSync(join(nested.snapshot, 'onnx', 'model.onnx'))).toMatch(/^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/)
    expect(existsSync(join(cache, 'models--acme--bert', 'refs', main))).toBe(false) // a commit is its own revision
    expect(pythonReads(cache, 'acme/bert', main, ['onnx/model.onnx'])['onnx/model.onnx']!.cached).toBe(join(nested.snapshot, 'onnx', 'model.onnx'))
    expect(scanCacheWithHuggingfaceHub(cache).warnings).toEqual([])
  })

  it('two downloads of one model at once: the second waits for the first, and each blob is fetched once', async () => {
    const { cache, env } = freshCache()
    const cdn = `/cdn/${sha256(bert['model.safetensors']!)}`
    const before = hub.requestsTo(cdn).length
    const [a, b] = await Promise.all([downloadHubModel({ id: 'acme/bert' }, { env }), downloadHubModel({ id: 'acme/bert' }, { env })])
    expect(a).toEqual(b)
    expect(hub.requestsTo(cdn).slice(before).filter((r) => r.range !== 'bytes=0-0')).toHaveLength(1)
    expect(sha256(readFileSync(join(a.snapshot, 'model.safetensors')))).toBe(sha256(bert['model.safetensors']!))
    expect(readdirSync(join(cache, '.locks', 'models--acme--bert'))).toEqual([])
    expect(scanCacheWithHuggingfaceHub(cache).warnings).toEqual([])
  })

  it('resumes a cut download with a ranged request, hashing the kept part too', async () => {
    const { cache, env } = freshCache()
    const weights = bert['model.safetensors']!
    const blob = blobOf(cache, 'acme/bert', sha256(weights))
    hub.cutAfter('model.safetensors', 40_000)
    const cut = await failure(downloadHubModel({ id: 'acme/bert' }, { env }))
    expect(cut.code).toBe('network')
    expect(cut.message).toContain(hub.url)
    expect(cut.message).toContain('a re-run resumes it')
    expect(cut.message).toContain('(UND_ERR_SOCKET: the connection broke off)')
    expect(statSync(`${blob}.incomplete`).size).toBe(40_000)
    expect(existsSync(join(snapshotOf(cache, 'acme/bert', main), 'model.safetensors'))).toBe(false)

    const events: HubDownloadProgress[] = []
    await downloadHubModel({ id: 'acme/bert' }, { env, onProgress: (p) => events.push(p) })
    const cdn = hub.requestsTo(`/cdn/${sha256(weights)}`).filter((r) => r.range !== 'bytes=0-0')
    expect(cdn.at(-1)!.range).toBe(`bytes=40000-${weights.length - 1}`)
    expect(sha256(readFileSync(blob))).toBe(sha256(weights))
    expect(existsSync(`${blob}.incomplete`)).toBe(false)
    expect(events.at(-1)!.resumedBytes).toBe(40_000)
  })

  it('cancels mid-file: the partial file stays for a resume, nothing half-written in the snapshot', async () => {
    const { cache, env } = freshCache()
    const weights = bert['model.safetensors']!
    const blob = blobOf(cache, 'acme/bert', sha256(weights))
    const stalled = hub.stallAfter('model.safetensors', 30_000)
    const controller = new AbortController()
    const pending = downloadHubModel({ id: 'acme/bert' }, { env, signal: controller.signal })
    await stalled
    controller.abort()
    const cancelled = await failure(pending)
    expect(cancelled.code).toBe('cancelled')
    expect(cancelled.message).toMatch(/model\.safetensors: download cancelled; the part of model\.safetensors \(30000 of \d+ bytes\) downloaded so far is kept and a re-run resumes it/)
    expect(statSync(`${blob}.incomplete`).size).toBe(30_000)
    const snapshot = snapshotOf(cache, 'acme/bert', main)
    expect(existsSync(join(snapshot, 'model.safetensors'))).toBe(false)
    expect(existsSync(join(cache, 'models--acme--bert', 'refs', 'main'))).toBe(false)
    // Whatever is in the snapshot is whole: huggingface_hub scans it without a broken link.
    expect(scanCacheWithHuggingfaceHub(cache).warnings).toEqual([])

    await downloadHubModel({ id: 'acme/bert' }, { env })
    expect(hub.requestsTo(`/cdn/${sha256(weights)}`).at(-1)!.range).toBe(`bytes=30000-${weights.length - 1}`)
    expect(sha256(readFileSync(join(snapshot, 'model.safetensors')))).toBe(sha256(weights))
  })

  it('a gated model needs the token: HF_TOKEN, HUGGING_FACE_HUB_TOKEN or the token file', async () => {
    const anonymous = await failure(downloadHubModel({ id: 'acme/gated' }, freshCache()))
    expect(anonymous.code).toBe('unauthorized')
    expect(anonymous.message).toContain('HTTP 401 GatedRepo')
    expect(anonymous.message).toContain('gated or private')
    expect(anonymous.message).toContain(`accept the licence on the model page (${hub.url}/acme/gated)`)
    expect(anonymous.message).toContain('set HF_TOKEN')
    const wrong = await failure(downloadHubModel({ id: 'acme/gated' }, freshCache({ HF_TOKEN: 'hf_not_this_one' })))
    expect(wrong.code).toBe('unauthorized')
    expect(wrong.message).toContain('the token from HF_TOKEN was sent and has no access to it')

    for (const vars of [{ HF_TOKEN: 'hf_gated_secret' }, { HUGGING_FACE_HUB_TOKEN: 'hf_gated_secret' }] as Record<string, string>[]) {
      const { cache, env } = freshCache(vars)
      const resolved = await downloadHubModel({ id: 'acme/gated' }, { env })
      expect(resolved.snapshot).toBe(snapshotOf(cache, 'acme/gated', main))
    }
    const tokenHome = join(home, 'token-home')
    mkdirSync(tokenHome)
    writeFileSync(join(tokenHome, 'token'), 'hf_gated_secret\n')
    const { env } = freshCache({ HF_HOME: tokenHome })
    const before = hub.requests.length
    await downloadHubModel({ id: 'acme/gated' }, { env })
    expect(hub.requests.slice(before).filter((r) => r.url.includes('/resolve/')).every((r) => r.authorization === 'Bearer hf_gated_secret')).toBe(true)
  })

  it('finds the token as huggingface_hub.get_token does', async () => {
    const dir = join(home, 'token-rules')
    mkdirSync(dir)
    writeFileSync(join(dir, 'token'), '  hf_from_file\r\n')
    writeFileSync(join(dir, 'other'), 'hf_from_path\n')
    const cases: Record<string, string>[] = [
      { HF_TOKEN: 'hf_a', HUGGING_FACE_HUB_TOKEN: 'hf_b', HF_HOME: dir },
      { HUGGING_FACE_HUB_TOKEN: ' hf_b\n', HF_HOME: dir },
      { HF_TOKEN: '  ', HF_HOME: dir },
      { HF_HOME: dir },
      { HF_HOME: dir, HF_TOKEN_PATH: join(dir, 'other') },
      { HF_HOME: join(dir, 'nowhere') }
    ]
    const script = 'from huggingface_hub.utils import get_token\nprint(get_token() or "")'
    for (const vars of cases) {
      const env = { PATH: process.env['PATH'] ?? '/usr/bin', PYTHONPATH: join(hfrefDir, 'vendor'), PYTHONDONTWRITEBYTECODE: '1', HOME: dir, ...vars }
      const run = spawnSync(hfPython, ['-B', '-c', script], { encoding: 'utf8', env })
      expect(run.status, run.stderr).toBe(0)
      const python = run.stdout.trim()
      expect((await hubToken(vars))?.value ?? '', JSON.stringify(vars)).toBe(python)
    }
  })

  it('honours HF_ENDPOINT (with a trailing slash too) and names it when it cannot be reached', async () => {
    const { cache, env } = freshCache({ HF_ENDPOINT: `${hub.url}/` })
    expect((await downloadHubModel({ id: 'acme/bert' }, { env })).snapshot).toBe(snapshotOf(cache, 'acme/bert', main))
    // A port nothing listens on: one this test opened and closed.
    const closed = createServer()
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done))
    const port = (closed.address() as AddressInfo).port
    await new Promise((done) => closed.close(done))
    const nowhere = await failure(downloadHubModel({ id: 'acme/bert' }, freshCache({ HF_ENDPOINT: `http://127.0.0.1:${port}` })))
    expect(nowhere.code).toBe('network')
    expect(nowhere.message).toContain(`acme/bert@main: cannot download from the Hugging Face Hub at http://127.0.0.1:${port} (ECONNREFUSED: connection refused)`)
  })

  it('offline (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE) refuses without sending a request', async () => {
    const before = hub.requests.length
    for (const variable of ['HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE']) {
      const offline = await failure(downloadHubModel({ id: 'acme/bert', revision: 'v2' }, freshCache({ [variable]: '1' })))
      expect(offline.code).toBe('offline')
      expect(offline.message).toContain(`acme/bert@v2: not downloaded, because ${variable} is set`)
    }
    expect(hub.requests.length).toBe(before)
  })

  it('refuses corrupted bytes and removes the partial file', async () => {
    const { cache, env } = freshCache()
    const weights = bert['model.safetensors']!
    hub.corrupt('model.safetensors')
    try {
      const corrupted = await failure(downloadHubModel({ id: 'acme/bert' }, { env }))
      expect(corrupted.code).toBe('integrity')
      expect(corrupted.message).toContain(`model.safetensors failed its integrity check (its sha256 is `)
      expect(corrupted.message).toContain(`not ${sha256(weights)}); the partial file was removed`)
    } finally {
      hub.repair('model.safetensors')
    }
    const blob = blobOf(cache, 'acme/bert', sha256(weights))
    expect(existsSync(blob)).toBe(false)
    expect(existsSync(`${blob}.incomplete`)).toBe(false)
    expect(existsSync(join(snapshotOf(cache, 'acme/bert', main), 'model.safetensors'))).toBe(false)
  })

  it('a sharded checkpoint: the index, then the shards it lists, across a paged listing', async () => {
    const { cache, env } = freshCache()
    hub.pageSize = 2
    try {
      const resolved = await downloadHubModel({ id: 'acme/sharded' }, { env })
      expect(readdirSync(resolved.snapshot).sort()).toEqual(Object.keys(sharded).sort())
    } finally {
      hub.pageSize = 1000
    }
    const pages = hub.requestsTo(`/api/models/acme/sharded/tree/${main}`)
    expect(pages.length).toBe(Math.ceil(Object.keys(sharded).length / 2))
    expect(pages.at(-1)!.url).toContain('cursor=')
    expect(scanCacheWithHuggingfaceHub(cache).repos[0]!.revisions[0]!.files).toEqual(Object.keys(sharded).sort())
  })

  it('pytorch_model.bin when there is no safetensors; no usable weights, an unknown model or revision: a clear error', async () => {
    const { env } = freshCache()
    const bin = await downloadHubModel({ id: 'acme/bin-only' }, { env })
    expect(readdirSync(bin.snapshot).sort()).toEqual(['added_tokens.json', 'config.json', 'pytorch_model.bin'])
    expect(resolveRequests('acme/bin-only').filter((f) => f === 'added_tokens.json')).toEqual([])
    expect(pythonReads(bin.cache, 'acme/bin-only', 'main', ['added_tokens.json', 'pytorch_model.bin'])['added_tokens.json']!.downloaded).toBe(join(bin.snapshot, 'added_tokens.json'))
    const tf = await failure(downloadHubModel({ id: 'acme/tf-only' }, { env }))
    expect(tf.code).toBe('not-found')
    expect(tf.message).toContain('no weights SiVA Studio reads')
    expect(tf.message).toContain('the model has README.md, config.json, tf_model.h5')
    const revision = await failure(downloadHubModel({ id: 'acme/bert', revision: 'v9' }, { env }))
    expect(revision.code).toBe('not-found')
    expect(revision.message).toContain(`acme/bert@v9: no revision v9 of the model acme/bert on ${hub.url}`)
    const absent = await failure(downloadHubModel({ id: 'acme/absent' }, { env }))
    expect(absent.code).toBe('unauthorized') // the Hub does not tell an anonymous caller whether a private repo exists
    expect(absent.message).toContain('there is no model acme/absent this caller may see: it does not exist, or it is private or gated')
    const signedIn = await failure(downloadHubModel({ id: 'acme/absent' }, { env: { ...env, HF_TOKEN: 'hf_someone' } }))
    expect(signedIn.code).toBe('not-found')
    expect(signedIn.message).toContain(`acme/absent@main: no model acme/absent on ${hub.url} (the Hub says: Repository not found); check the id`)
    const extra = await failure(downloadHubModel({ id: 'acme/bert' }, { env, files: ['onnx/absent.onnx'] }))
    expect(extra.message).toContain(`the model acme/bert has no file onnx/absent.onnx on ${hub.url}`)
    expect((await failure(downloadHubModel({ id: 'acme/bert' }, { env, files: ['../outside'] }))).message).toContain("'../outside' is not a file path inside a repository")
    const options: HubDownloadOptions = { env, weights: false }
    const noWeights = await downloadHubModel({ id: 'acme/tf-only' }, options)
    expect(readdirSync(noWeights.snapshot).sort()).toEqual(['README.md', 'config.json'])
  })
})
