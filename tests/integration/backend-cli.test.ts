import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DoctorReport } from '../../src/main/commands/doctor'
import { repoRoot, tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

// The real `siva doctor` and `siva train` (bin/siva.mjs → src/main/cli.ts), selecting a backend as training
// does. Here the native packages are not installed (their install downloads libtensorflow), so wasm trains.
function siva(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SIVA_GEMM_THREADS: '3' } })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

const nativeInstalled = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((specifier) => {
  try {
    createRequire(import.meta.url).resolve(specifier)
    return true
  } catch {
    return false
  }
})

// Where a native package is installed, a faster backend than wasm is used and these expectations do not hold.
describe.skipIf(nativeInstalled)('siva doctor', () => {
  it('lists each backend in order: wasm used, tensorflow-gpu skipped as not installed with the install command', () => {
    const run = siva('doctor')
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const lines = run.stdout.split('\n')
    const rows = lines.slice(lines.indexOf('Backends, fastest first:') + 1, lines.indexOf('Backends, fastest first:') + 5)
    expect(rows.map((row) => row.trim().split(/\s+/)[0])).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'])
    expect(rows[0]).toMatch(/^ {2}tensorflow-gpu {2}skipped: @tensorflow\/tfjs-node-gpu is not installed .*install it with: npm i @tensorflow\/tfjs-node-gpu@4\.22\.0/)
    expect(rows[1]).toContain('skipped: @tensorflow/tfjs-node is not installed')
    expect(rows[2]).toMatch(/^ {2}wasm +used/)
    expect(rows[3]).toMatch(/^ {2}cpu +not tried/)
    expect(run.stdout).toMatch(/^SiVA Studio \d+\.\d+\.\d+ · Node\.js \d+\.\d+\.\d+ · TensorFlow\.js 4\.22\.0 · /m)
    expect(run.stdout).toMatch(/Matmul: siva (relaxed-)?simd, 3 threads/)
    if (process.platform === 'linux') expect(run.stdout).toMatch(/libraries: \d of 9 found\n {4}libcuda\.so\.1 /)
  }, 120_000)

  it('--json: one document with the same facts', () => {
    const run = siva('doctor', '--json')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout) as DoctorReport
    expect(report.backends.map((b) => [b.name, b.status])).toEqual([['tensorflow-gpu', 'skipped'], ['tensorflow', 'skipped'], ['wasm', 'used'], ['cpu', 'not tried']])
    expect(report.backends[0]!.reason).toContain('npm i @tensorflow/tfjs-node-gpu@4.22.0')
    expect(report.matmulThreads).toBe(3)
    expect(report.versions.node).toBe(process.versions.node)
    expect(report.versions.tfjs).toBe('4.22.0')
    expect(report.cuda.needs).toEqual({ cuda: '11.2', cudnn: '8.1', driver: process.platform === 'win32' ? '452.39' : '450.80.02', libtensorflow: '2.9.1' })
    if (process.platform === 'linux') expect(report.cuda.libraries.map((l) => l.file)).toContain('libcudart.so.11.0')
  }, 120_000)

  it('a wrong flag is a usage error that points at the help', () => {
    const run = siva('doctor', '--gpu')
    expect(run.status).toBe(2)
    expect(run.stderr).toContain("Unknown option '--gpu'; see 'siva doctor --help'")
  })
})

describe.skipIf(nativeInstalled)("siva train's backend line", () => {
  it('says on stderr, before anything else, which backend trains and why not the GPU', () => {
    const dir = tempDir('backend-notice')
    const model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
    const data = sentimentCsv(join(dir, 'sentiment.csv'), 16)
    const run = siva('train', '--model', model, '--data', data, '--task', 'classify', '--out', join(dir, 'run'), '--max-steps', '1', '--batch-size', '8', '--svd-cache', join(dir, 'cache'))
    expect(run.status).toBe(0)
    const first = run.stderr.split('\n')[0]!
    expect(first).toMatch(/^siva train: backend wasm \(3 threads\); GPU not used: @tensorflow\/tfjs-node-gpu is not installed .*install it with: npm i @tensorflow\/tfjs-node-gpu@4\.22\.0/)
  }, 120_000)
})
