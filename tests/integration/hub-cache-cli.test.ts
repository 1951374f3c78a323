import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { InspectReport } from '../../src/shared/spectra'
import { commitOf, scanCacheWithHuggingfaceHub, writeCachedModel } from '../helpers/hubCacheLayout'
import { repoRoot, tempDir } from '../helpers/paths'
import { sentimentCsv } from '../helpers/tinyModels'

// `siva inspect`, `siva train --model` and `siva data check --model` given a Hugging Face Hub id, resolved in
// a Hugging Face cache. The real Hub cannot be reached from this machine (tests run without network), so the
// cache is laid out by hand in a temp folder exactly as huggingface_hub's hf_hub_download leaves it (blobs
// named by their etag, snapshot files as relative links into ../../blobs, refs/<name> holding the commit),
// and huggingface_hub's own scan_cache_dir (vendored 0.24.5 in ../shared/hfref) is asked to read it back.
const tinyBert = join(repoRoot, 'tests/fixtures/models/tiny-bert')
const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, join(tinyBert, f)]))
const main = commitOf('cli-main')
const v1 = commitOf('cli-v1')

let dir: string
let cache: string

/** The CLI with only the Hugging Face variables a case gives (none inherited from this machine). */
function siva(args: string[], vars: Record<string, string> = {}, cwd = repoRoot): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HOME', 'HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE']) delete env[name]
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...env, ...vars } })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

/** The report without its timings, which differ run to run. */
function analysed(stdout: string): unknown {
  const report = JSON.parse(stdout) as InspectReport
  return { ...report, seconds: 0, source: '', tensors: report.tensors.map((t) => ({ ...t, seconds: 0 })) }
}

beforeAll(() => {
  dir = tempDir('hub-cli')
  cache = join(dir, 'hf-home', 'hub')
  writeCachedModel(cache, 'acme/tiny-bert', [
    { commit: main, refs: ['main'], files },
    { commit: v1, refs: ['v1'], files }
  ])
  writeCachedModel(cache, 'acme/no-weights', [{ commit: main, refs: ['main'], files: { 'config.json': files['config.json']!, 'tokenizer.json': files['tokenizer.json']!, 'tokenizer_config.json': files['tokenizer_config.json']! } }])
})

describe('a Hub id on the command line', () => {
  it('the layout built here is the one huggingface_hub scans', () => {
    const scanned = scanCacheWithHuggingfaceHub(cache)
    expect(scanned.warnings).toEqual([])
    expect(scanned.repos.map((r) => [r.repo_id, r.revisions.map((v) => [v.commit_hash, v.refs, v.files])])).toEqual([
      ['acme/no-weights', [[main, ['main'], ['config.json', 'tokenizer.json', 'tokenizer_config.json']]]],
      ['acme/tiny-bert', [[main, ['main'], Object.keys(files).sort()], [v1, ['v1'], Object.keys(files).sort()]].sort((a, b) => String(a[0]).localeCompare(String(b[0])))]
    ])
  })

  it('siva inspect org/name, @tag and @commit report what inspecting the folder reports (HF_HUB_CACHE, then HF_HOME)', () => {
    const folder = siva(['inspect', tinyBert, '--json', '--quiet', '--values-only', '--workers', '1'])
    expect(folder.status).toBe(0)
    const expected = analysed(folder.stdout)
    for (const [id, vars] of [
      ['acme/tiny-bert', { HF_HUB_CACHE: cache }],
      ['acme/tiny-bert@v1', { HF_HUB_CACHE: cache }],
      [`acme/tiny-bert@${main}`, { HF_HOME: join(dir, 'hf-home') }]
    ] as const) {
      const run = siva(['inspect', id, '--json', '--quiet', '--values-only', '--workers', '1'], vars)
      expect(run.stderr, id).toBe('')
      expect(run.status).toBe(0)
      expect(analysed(run.stdout)).toEqual(expected)
      expect((JSON.parse(run.stdout) as InspectReport).tensors.length).toBeGreaterThan(5)
    }
  })

  it('siva train --model org/name trains offline (HF_HUB_OFFLINE=1) from the snapshot, and the run records the snapshot folder', () => {
    const data = sentimentCsv(join(dir, 'sentiment.csv'), 32)
    const out = join(tempDir('hub-cli-run'), 'run')
    const args = ['train', '--model', 'acme/tiny-bert@v1', '--data', data, '--task', 'classify', '--out', out, '--epochs', '1', '--batch-size', '8', '--lr', '0.05', '--seed', '5', '--backend', 'wasm', '--svd-cache', join(dir, 'svd'), '--quiet']
    const run = siva(args, { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toContain(`run: ${out}`)
    const config = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { config: { model: string } }).config
    expect(config.model).toBe(join(cache, 'models--acme--tiny-bert', 'snapshots', v1))
  }, 180_000)

  it('siva data check --model org/name tokenises with the snapshot’s tokenizer, even without weights', () => {
    const data = sentimentCsv(join(dir, 'check.csv'), 16)
    const run = siva(['data', 'check', '--data', data, '--task', 'classify', '--model', 'acme/no-weights', '--json', '--quiet'], { HF_HUB_CACHE: cache })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toContain('"tokens"')
  })

  it('a model or file not in the cache: offline it says so; online the download is tried (here at an endpoint that cannot resolve) and its failure named', () => {
    const offline = siva(['inspect', 'acme/absent'], { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' })
    expect(offline.status).toBe(1)
    expect(offline.stderr).toContain('the Hugging Face model acme/absent is not in the cache')
    expect(offline.stderr).toContain('HF_HUB_OFFLINE is set, so only the cache is looked at')
    // No network in tests: a .invalid host never resolves (RFC 2606), so the download fails at once.
    const nowhere = 'http://hub.invalid'
    const online = siva(['inspect', 'acme/absent@v2'], { HF_HUB_CACHE: cache, HF_ENDPOINT: nowhere })
    expect(online.status).toBe(1)
    expect(online.stderr).toContain('the Hugging Face model acme/absent is not in the cache')
    expect(online.stderr).toContain(`downloading it failed: acme/absent@v2: cannot download from the Hugging Face Hub at ${nowhere} (ENOTFOUND: host not found)`)
    const noWeights = siva(['inspect', 'acme/no-weights'], { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: 'true' })
    expect(noWeights.status).toBe(1)
    expect(noWeights.stderr).toContain(`acme/no-weights@main (commit ${main}): the snapshot ${join(cache, 'models--acme--no-weights', 'snapshots', main)} is missing weights`)
    const tag = siva(['train', '--model', 'acme/tiny-bert@v3', '--data', 'x.csv', '--task', 'classify', '--out', join(dir, 'never')], { HF_HUB_CACHE: cache, HF_ENDPOINT: nowhere })
    expect(tag.status).toBe(1)
    expect(tag.stderr).toContain('acme/tiny-bert@v3: the revision v3 is not in the cache')
    expect(tag.stderr).toContain('refs: main, v1')
  })

  it('a folder that exists wins over the id; a hostile id is only ever a path', () => {
    const cwd = join(dir, 'cwd')
    mkdirSync(join(cwd, 'acme'), { recursive: true })
    cpSync(join(repoRoot, 'tests/fixtures/models/tiny-bert-bf16-sharded'), join(cwd, 'acme', 'tiny-bert'), { recursive: true })
    const run = siva(['inspect', 'acme/tiny-bert', '--json', '--quiet', '--values-only', '--workers', '1'], { HF_HUB_CACHE: cache }, cwd)
    expect(run.status).toBe(0)
    expect((JSON.parse(run.stdout) as InspectReport).tensors[0]!.dtype).toBe('BF16') // the folder's, not the cache's F32
    for (const hostile of ['../acme/tiny-bert', 'a/b/c', 'acme/tiny bert']) {
      const refused = siva(['inspect', hostile], { HF_HUB_CACHE: cache }, cwd)
      expect(refused.status, hostile).toBe(1)
      expect(refused.stderr).toContain('no such file or folder')
      expect(refused.stderr).not.toContain('Hugging Face')
    }
  })
})
