import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readCheckpoint } from '../../src/main/engine/training/runFolder'
import type { TrainEvent } from '../../src/shared/training'
import { repoRoot, tempDir, tinyGpt2 } from '../helpers/paths'
import { softwareVulkanEnv } from '../helpers/softwareVulkan'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

// `siva train --backend webgpu` for real: Dawn in the training worker, on SwiftShader (Chromium's Vulkan on
// the CPU), because this machine and CI have no GPU. The same run on wasm is the reference: a SiVA run is
// deterministic given its seed, so both must end at the same δ and head up to float32 round-off. The two
// runs are independent processes, started together (the short wasm run then hides inside the long
// SwiftShader one); each has its own SVD cache, so that neither reads a basis the other is still writing.
function train(backend: string, dir: string, model: string, data: string, extra: string[] = ['--task', 'classify', '--max-steps', '4', '--batch-size', '8']): Promise<{ events: TrainEvent[]; stderr: string }> {
  const out = join(dir, `run-${backend}`)
  const child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'train', '--model', model, '--data', data, ...extra, '--out', out, '--lr', '0.05', '--svd-cache', join(dir, `cache-${backend}`), '--backend', backend], {
    cwd: repoRoot,
    timeout: 300_000,
    env: { ...process.env, ...softwareVulkanEnv() }
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  child.stdout.resume()
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (status) => {
      if (status !== 0) return reject(new Error(`siva train --backend ${backend} exited with ${status}: ${stderr}`))
      const events = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TrainEvent)
      resolve({ events, stderr })
    })
  })
}

const losses = (run: { events: TrainEvent[] }): number[] => run.events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step').map((e) => e.loss)

describe('a SiVA run on webgpu (SwiftShader)', () => {
  it('ends with the δ and head the same run ends with on wasm, within 1e-3 relative', async () => {
    const dir = tempDir('train-webgpu')
    const model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
    const data = sentimentCsv(join(dir, 'sentiment.csv'), 32)
    const [gpu, cpu] = await Promise.all([train('webgpu', dir, model, data), train('wasm', dir, model, data)])
    const started = gpu.events.find((e): e is Extract<TrainEvent, { type: 'started' }> => e.type === 'started')!
    expect(started.backend).toMatchObject({ name: 'webgpu', adapter: { vendor: 'google', architecture: 'swiftshader', fallback: true, host: 'dawn' } })
    expect(gpu.stderr).toMatch(/siva train: backend webgpu on google swiftshader \(SwiftShader driver [\d.]+\), a software adapter: slow, for testing/)
    expect(losses(gpu)).toHaveLength(4)
    losses(gpu).forEach((loss, i) => expect(Math.abs(loss - losses(cpu)[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(loss))))
    const a = (await readCheckpoint(join(dir, 'run-webgpu')))!
    const b = (await readCheckpoint(join(dir, 'run-wasm')))!
    expect(a.state.step).toBe(4)
    expect(a.tensors.variables.map((v) => v.shape)).toEqual(b.tensors.variables.map((v) => v.shape))
    a.tensors.variables.forEach((v, i) => {
      const want = b.tensors.variables[i]!.values
      const scale = Math.max(...want.map(Math.abs))
      expect(scale).toBeGreaterThan(0) // every variable moved
      for (let j = 0; j < want.length; j++) expect(Math.abs(v.values[j]! - want[j]!), `variable ${i}, element ${j}`).toBeLessThan(1e-3 * scale)
    })
  }, 600_000)

  // The gradient norm over GPT-2's ten adapters is an addN of more than seven tensors: tfjs-webgpu's own
  // kernel made an invalid pipeline there, Dawn dropped the command buffer, and the losses read back stale
  // (0, then the last step's). Each step's loss must be the wasm run's.
  it("a GPT-2 language model: every step's loss and the final δ are the wasm run's", async () => {
    const dir = tempDir('train-webgpu-lm')
    const extra = ['--task', 'causal-lm', '--max-steps', '3', '--batch-size', '4', '--max-length', '32', '--seed', '6', '--no-dropout']
    const data = join(repoRoot, 'tests/fixtures/samples/brown-continuation.jsonl')
    const [gpu, cpu] = await Promise.all([train('webgpu', dir, tinyGpt2, data, extra), train('wasm', dir, tinyGpt2, data, extra)])
    expect(losses(gpu)).toHaveLength(3)
    losses(gpu).forEach((loss, i) => expect(Math.abs(loss - losses(cpu)[i]!), `step ${i + 1}`).toBeLessThan(1e-4 * Math.abs(losses(cpu)[i]!)))
    const a = (await readCheckpoint(join(dir, 'run-webgpu')))!
    const b = (await readCheckpoint(join(dir, 'run-wasm')))!
    a.tensors.variables.forEach((v, i) => {
      const want = b.tensors.variables[i]!.values
      const scale = Math.max(...want.map(Math.abs))
      for (let j = 0; j < want.length; j++) expect(Math.abs(v.values[j]! - want[j]!)).toBeLessThan(1e-3 * scale)
    })
  }, 600_000)
})
