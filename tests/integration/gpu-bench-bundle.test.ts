import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, tempDir } from '../helpers/paths'
import { softwareVulkanEnv } from '../helpers/softwareVulkan'

// The GPU bench bundle (scripts/build-gpu-bench.mjs) must run where there is no npm and no node_modules: it is
// built, copied to a folder outside the repository (so nothing can resolve from the repo's node_modules), and
// run there with plain node. No GPU is available here or in CI, so the webgpu row runs on SwiftShader
// (Chromium's Vulkan on the CPU) with --software, at a tiny shape; its figures say nothing about a GPU.
function filesUnder(dir: string, base = dir): { path: string; bytes: number }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(path, base) : [{ path: relative(base, path), bytes: statSync(path).size }]
  })
}

describe('the GPU bench bundle', () => {
  let bundle: string
  let outside: string
  let buildOutput: string
  beforeAll(() => {
    const built = join(tempDir('gpu-bench'), 'bundle')
    const run = spawnSync(process.execPath, [join(repoRoot, 'scripts/build-gpu-bench.mjs'), '--out', built], { cwd: repoRoot, encoding: 'utf8' })
    expect(run.status, run.stderr).toBe(0)
    buildOutput = run.stdout
    outside = mkdtempSync(join(tmpdir(), 'siva-gpu-bench-copy-'))
    bundle = join(outside, 'gpu-bench')
    cpSync(built, bundle, { recursive: true })
  })
  afterAll(() => {
    if (outside) rmSync(outside, { recursive: true, force: true })
  })

  it('is under 64 MiB, holds no node_modules, and carries dawn.node, the wasm files and the helper thread', () => {
    expect(relative(repoRoot, bundle).startsWith('..'), `${bundle} must lie outside ${repoRoot}`).toBe(true)
    const files = filesUnder(bundle)
    const total = files.reduce((sum, f) => sum + f.bytes, 0)
    expect(total).toBeLessThan(64 * 2 ** 20)
    expect(files.filter((f) => f.path.split(/[\\/]/).includes('node_modules'))).toEqual([])
    expect(files.map((f) => f.path).sort()).toEqual(
      ['README.txt', 'dist/linux-x64/dawn.node', 'gemmWorker.js', 'package.json', 'siva-gpu-bench.js', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm.wasm'].map((p) => join(...p.split('/'))).sort()
    )
    // The size it prints is the size on disk.
    expect(buildOutput).toContain(`${(total / 2 ** 20).toFixed(1)} MiB in all (limit 64 MiB)`)
  })

  it('runs the SiVA step on webgpu (SwiftShader) and on wasm from outside the repository, and prints both rows and their ratio', () => {
    const run = spawnSync(process.execPath, ['siva-gpu-bench.js', '--software', '--steps', '1', '--layers', '1', '--batch', '1', '--length', '8'], {
      cwd: bundle,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, ...softwareVulkanEnv(), NODE_PATH: '' }
    })
    expect(run.status, run.stderr).toBe(0)
    const out = run.stdout
    expect(out).toMatch(/^GPU bench — \d{4}-\d\d-\d\dT[\d:.]+Z, Node v\d+\.\d+\.\d+, linux-x64, \d+ CPU threads$/m)
    expect(out).toContain("SiVA step (bench:train's), BERT-base width, 1 layer, batch 1 × 8 tokens, perc 0.1, median of 1 timed step after one warm-up")
    expect(out).toMatch(/^adapter: vendor google, architecture swiftshader, description SwiftShader driver [\d.]+ — a software adapter/m)
    const row = (name: string): number => {
      const match = new RegExp(`^${name} +(\\d+\\.\\d{3}) +\\d+ +(\\S+)$`, 'm').exec(out)
      expect(match, `${name} row in:\n${out}`).not.toBeNull()
      return Number(match![1])
    }
    const webgpu = row('webgpu')
    const wasm = row('wasm')
    expect(webgpu).toBeGreaterThan(0)
    expect(wasm).toBeGreaterThan(0)
    const ratio = Number(/^webgpu \/ wasm: (\d+\.\d\d)/m.exec(out)?.[1])
    // The printed ratio is that of the unrounded times: it differs from the printed times' ratio by at most
    // their rounding (±0.0005 each, carried through w/a) and its own (±0.005).
    expect(Math.abs(ratio - webgpu / wasm)).toBeLessThan(0.0051 + (0.0005 * (webgpu + wasm)) / (wasm - 0.0005) ** 2)
    // The checkpoint made at run time is removed afterwards.
    expect(run.stderr).toMatch(/writing a BERT-base-wide random checkpoint with 1 layers to (\S+)…/)
    expect(existsSync(/to (\S+)…/.exec(run.stderr)![1]!)).toBe(false)
  }, 300_000)

  it('refuses a software adapter unless --software is given, naming it', () => {
    const run = spawnSync(process.execPath, ['siva-gpu-bench.js', '--steps', '1', '--layers', '1', '--batch', '1', '--length', '8'], { cwd: bundle, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...softwareVulkanEnv() } })
    expect(run.status).not.toBe(0)
    expect(run.stderr).toMatch(/^siva-gpu-bench: the webgpu step failed: Error: the only WebGPU adapter is a software one, google swiftshader \(SwiftShader driver [\d.]+\), not a GPU: .*pass --software to measure it anyway$/m)
  })

  it('says which folders exist when --platform names none', () => {
    const run = spawnSync(process.execPath, [join(repoRoot, 'scripts/build-gpu-bench.mjs'), '--platform', 'linux-x86', '--out', join(tempDir('gpu-bench-bad'), 'b')], { cwd: repoRoot, encoding: 'utf8' })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('build-gpu-bench: --platform linux-x86: node_modules/webgpu/dist has no such folder (it has darwin-universal, linux-arm64, linux-x64, win32-arm64, win32-x64)')
  })
})
