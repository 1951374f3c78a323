import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DoctorReport } from '../../src/main/commands/doctor'
import { repoRoot, tempDir } from '../helpers/paths'
import { withoutDriverNoise } from '../helpers/driverNoise'
import { softwareVulkanEnv } from '../helpers/softwareVulkan'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

// The real `siva doctor` and `siva train` (bin/siva.mjs → src/main/cli.ts), selecting a backend as training
// does. Here the native packages are not installed (their install downloads libtensorflow), so wasm trains.
function siva(...argsAndEnv: (string | Record<string, string>)[]): { status: number | null; stdout: string; stderr: string } {
  const args = argsAndEnv.filter((a): a is string => typeof a === 'string')
  const env = Object.assign({}, ...argsAndEnv.filter((a): a is Record<string, string> => typeof a !== 'string')) as Record<string, string>
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SIVA_GEMM_THREADS: '3', ...env } })
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
    // No GPU here; VK_ICD_FILENAMES naming no driver file makes that so on a machine with one, too.
    const run = siva('doctor', { VK_ICD_FILENAMES: join(repoRoot, 'no-such-vulkan-driver.json') })
    // Vulkan drivers that Dawn tries and rejects (Mesa's) may write their own lines on stderr; siva writes none.
    expect(withoutDriverNoise(run.stderr)).toBe('')
    expect(run.status).toBe(0)
    const lines = run.stdout.split('\n')
    const rows = lines.slice(lines.indexOf('Backends, fastest first:') + 1, lines.indexOf('Backends, fastest first:') + 6)
    expect(rows.map((row) => row.trim().split(/\s+/)[0])).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'])
    expect(rows[0]).toMatch(/^ {2}tensorflow-gpu {2}skipped: @tensorflow\/tfjs-node-gpu is not installed .*install it with: npm i @tensorflow\/tfjs-node-gpu@4\.22\.0/)
    expect(rows[1]).toMatch(/^ {2}webgpu +skipped: no WebGPU adapter: Dawn found no Vulkan driver \(install the Vulkan loader/)
    expect(rows[2]).toContain('skipped: @tensorflow/tfjs-node is not installed')
    expect(rows[3]).toMatch(/^ {2}wasm +used/)
    expect(rows[4]).toMatch(/^ {2}cpu +not tried/)
    expect(run.stdout).toMatch(/^SiVA Studio \d+\.\d+\.\d+ · Node\.js \d+\.\d+\.\d+ · TensorFlow\.js 4\.22\.0 · /m)
    expect(run.stdout).toMatch(/Matmul: siva (relaxed-)?simd, 3 threads/)
    // The tokenizers package ships a binary for this platform (linux-x64-gnu): the native engine loads.
    expect(run.stdout).toMatch(/^Tokenizer: native, Hugging Face tokenizers \(Rust\) where a checkpoint's tokenizer\.json allows it, else JavaScript$/m)
    if (process.platform === 'linux') expect(run.stdout).toMatch(/libraries: \d of 9 found\n {4}libcuda\.so\.1 /)
  }, 120_000)

  it('--json: one document with the same facts; a software WebGPU adapter (SwiftShader) is named and passed over', () => {
    const run = siva('doctor', '--json', softwareVulkanEnv())
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout) as DoctorReport
    expect(report.backends.map((b) => [b.name, b.status])).toEqual([['tensorflow-gpu', 'skipped'], ['webgpu', 'skipped'], ['tensorflow', 'skipped'], ['wasm', 'used'], ['cpu', 'not tried']])
    expect(report.backends[1]!.reason).toMatch(/^only a software adapter, google swiftshader \(SwiftShader driver [\d.]+\): it runs on the CPU, where wasm is faster \(choose the webgpu backend to use it anyway\)$/)
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
    // Before any other line of siva's (a Vulkan driver Dawn tries and rejects may print its own first).
    const first = run.stderr.split('\n').find((line) => line.startsWith('siva'))!
    expect(first).toMatch(/^siva train: backend wasm \(3 threads\); GPU not used: tensorflow-gpu: @tensorflow\/tfjs-node-gpu is not installed .*install it with: npm i @tensorflow\/tfjs-node-gpu@4\.22\.0.*; webgpu: /)
  }, 120_000)
})
