import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { downloadCommand } from '../../src/main/commands/download'
import { modelPath } from '../../src/main/commands/modelArgument'
import type { InspectReport } from '../../src/shared/spectra'
import { sha256, startFakeHub, type FakeHub } from '../helpers/fakeHub'
import { hfFixture } from '../helpers/hfref'
import { commitOf } from '../helpers/hubCacheLayout'
import { pythonWithNumpy, repoRoot, tempDir } from '../helpers/paths'

// `siva download` and a command given a Hub id that is not cached yet. The real Hugging Face Hub cannot be
// reached from this machine (tests run without network), so HF_ENDPOINT points at tests/helpers/fakeHub.ts, a
// local server answering as the Hub's model-info, tree and resolve endpoints do, serving a checkpoint the real
// transformers wrote (hfref's bert-cls). Each `siva` process costs seconds to start: two here, and the command's
// output on success is checked in this process (downloadCommand called directly).
const main = commitOf('download-cli')
const files = ['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']

let hub: FakeHub
let bert: Record<string, Buffer>
let dir: string

/** `siva` with only the Hugging Face variables given (none inherited from this machine), run asynchronously. */
function siva(args: string[], vars: Record<string, string>, whileRunning?: (child: ReturnType<typeof spawn>) => void): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(env)) if (/^(HF_|HUGGING|TRANSFORMERS_)/.test(name)) delete env[name]
  const child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, env: { ...env, ...vars } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  whileRunning?.(child)
  return new Promise((done) => child.on('close', (status) => done({ status, stdout, stderr })))
}

/** Sets the Hugging Face variables of this process to `vars` alone; returns what puts them back. */
function setHubEnv(vars: Record<string, string>): () => void {
  const names = Object.keys(process.env).filter((name) => /^(HF_|HUGGING|TRANSFORMERS_)/.test(name))
  const saved = names.map((name) => [name, process.env[name]] as const)
  for (const name of names) delete process.env[name]
  Object.assign(process.env, vars)
  return () => {
    for (const name of Object.keys(vars)) delete process.env[name]
    for (const [name, value] of saved) process.env[name] = value
  }
}

beforeAll(async () => {
  const folder = hfFixture('bert-cls')
  bert = Object.fromEntries(files.map((f) => [f, readFileSync(join(folder, f))]))
  hub = await startFakeHub([
    { id: 'acme/bert', refs: { main }, commits: { [main]: { ...bert, 'pytorch_model.bin': Buffer.alloc(4096, 7), 'onnx/model.onnx': Buffer.alloc(1000, 3) } } }
  ])
  dir = tempDir('hub-download-cli')
})

afterAll(async () => {
  await hub?.close()
})

describe('siva and the Hub', () => {
  it('Ctrl-C cancels siva download cleanly; siva inspect org/name then resumes the download and inspects the model', async () => {
    const cache = join(dir, 'hf-home', 'hub')
    const vars = { HF_HOME: join(dir, 'hf-home'), HF_ENDPOINT: hub.url }
    const weights = bert['model.safetensors']!
    const stalled = hub.stallAfter('model.safetensors', 50_000)
    const cancelled = await siva(['download', 'acme/bert'], vars, (child) => void stalled.then(() => child.kill('SIGINT')))
    expect(cancelled.status).toBe(130)
    expect(cancelled.stdout).toBe('')
    expect(cancelled.stderr).toContain('siva download: acme/bert@main: ')
    expect(cancelled.stderr).toMatch(/model\.safetensors: download cancelled; the part of model\.safetensors \(50000 of \d+ bytes\) downloaded so far is kept and a re-run resumes it/)
    const blob = join(cache, 'models--acme--bert', 'blobs', sha256(weights))
    expect(statSync(`${blob}.incomplete`).size).toBe(50_000)
    expect(existsSync(join(cache, 'models--acme--bert', 'snapshots', main, 'model.safetensors'))).toBe(false)

    const run = await siva(['inspect', 'acme/bert', '--json', '--values-only', '--workers', '1'], vars)
    expect(run.status, run.stderr).toBe(0)
    expect(run.stderr).toContain('siva: downloading: acme/bert@main')
    expect(run.stderr).toContain(`→ ${join(cache, 'models--acme--bert', 'snapshots', main)}`)
    expect(hub.requestsTo(`/cdn/${sha256(weights)}`).at(-1)!.range).toBe(`bytes=50000-${weights.length - 1}`)
    // σ of every matrix as numpy's SVD of the file the real transformers wrote.
    const reference = JSON.parse(spawnSync(pythonWithNumpy(), [join(repoRoot, 'tests/reference/spectra_reference.py'), join(hfFixture('bert-cls'), 'model.safetensors')], { encoding: 'utf8' }).stdout) as InspectReport
    const report = JSON.parse(run.stdout) as InspectReport
    expect(report.tensors.map((t) => t.name)).toEqual(reference.tensors.map((t) => t.name))
    expect(report.tensors.length).toBeGreaterThan(5)
    for (const [i, tensor] of report.tensors.entries()) {
      const expected = reference.tensors[i]!.singularValues
      expect(tensor.singularValues.length).toBe(expected.length)
      for (const [j, s] of tensor.singularValues.entries()) expect(Math.abs(s - expected[j]!)).toBeLessThan(1e-4 * expected[0]!)
    }
  }, 120_000)

  it('siva download prints progress on stderr and the snapshot folder on stdout (in this process)', async () => {
    const cache = join(dir, 'second', 'hub')
    const restore = setHubEnv({ HF_HUB_CACHE: cache, HF_HOME: join(dir, 'second'), HF_ENDPOINT: hub.url })
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    let status: number
    let printed: string
    let progress: string
    try {
      status = await downloadCommand(['acme/bert', '--file', 'onnx/model.onnx'])
    } finally {
      printed = stdout.mock.calls.map((c) => String(c[0])).join('')
      progress = stderr.mock.calls.map((c) => String(c[0])).join('')
      stdout.mockRestore()
      stderr.mockRestore()
      restore()
    }
    const snapshot = join(cache, 'models--acme--bert', 'snapshots', main)
    expect(status).toBe(0)
    expect(printed).toBe(`${snapshot}\n`)
    expect(progress).toContain('siva download: acme/bert@main: listing files')
    expect(progress).toMatch(new RegExp(`siva download: acme/bert@main \\(commit ${main.slice(0, 12)}\\): 7 files, [0-9.]+ kB in [0-9.]+ s → ${snapshot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`))
    expect(readdirSync(snapshot).sort()).toEqual([...files, 'onnx'].sort())
  })

  it('a command given an id not in the cache downloads it first: without weights when only the tokenizer is read; offline it does not', async () => {
    const cache = join(dir, 'third', 'hub')
    const restore = setHubEnv({ HF_HUB_CACHE: cache, HF_HOME: join(dir, 'third'), HF_ENDPOINT: hub.url })
    const before = hub.requests.length
    try {
      process.env['HF_HUB_OFFLINE'] = '1'
      await expect(modelPath('acme/bert', { quiet: true })).rejects.toThrow('HF_HUB_OFFLINE is set, so only the cache is looked at')
      expect(hub.requests.length).toBe(before)
      delete process.env['HF_HUB_OFFLINE']
      const tokenizerOnly = await modelPath('acme/bert', { checkpoint: false, quiet: true })
      expect(readdirSync(tokenizerOnly).sort()).toEqual(files.filter((f) => f !== 'model.safetensors'))
      // The snapshot lacks its weights: a command that reads them fetches just those.
      const requests = hub.requests.length
      expect(await modelPath('acme/bert', { quiet: true })).toBe(tokenizerOnly)
      expect(readdirSync(tokenizerOnly).sort()).toEqual(files)
      expect(hub.requests.slice(requests).filter((r) => r.url.includes('/resolve/')).map((r) => r.url.split('/').at(-1))).toEqual(['model.safetensors'])
    } finally {
      restore()
    }
  })
})
