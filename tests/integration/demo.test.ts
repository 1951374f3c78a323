import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DemoResult } from '../../src/main/commands/demo'
import { repoRoot, tempDir } from '../helpers/paths'

/**
 * `npm run demo` as a user runs it, in full: the real sentence encoder, the real e-mails, two training
 * runs in the training worker, the export. The numbers are deterministic (seeded, and the threaded matmul
 * is bit-identical to one thread), so SiVA's lead over the linear probe is a fact of this code, not luck.
 */
describe('siva demo', () => {
  it('inspects, trains a linear probe and SiVA, evaluates both on held-out e-mails (SiVA ahead) and exports', async () => {
    const out = join(tempDir('demo'), 'out')
    const child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'demo', '--out', out, '--json', '--svd-cache', join(out, '..', 'svd')], { cwd: repoRoot })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const status = await new Promise<number | null>((done) => child.on('close', done))
    expect(status, stderr).toBe(0)
    const result = JSON.parse(stdout) as DemoResult
    const [probe, siva] = result.runs
    expect(probe!.method).toBe('head')
    expect(siva!.method).toBe('siva')
    // Held-out: 400 e-mails neither run trained on, scored once after the last epoch.
    expect(siva!.metrics['accuracy']).toBeGreaterThan(probe!.metrics['accuracy']!)
    expect(result.accuracyGain).toBeGreaterThan(0)
    expect(siva!.trainableParameters).toBeGreaterThan(probe!.trainableParameters)
    expect(siva!.trainableParameters - probe!.trainableParameters).toBeLessThan(2000)
    expect(siva!.erankGain).toBeDefined()
    expect(result.inspect.matrices).toBeGreaterThanOrEqual(12)
    for (const file of ['siva-merged/model.json', 'siva-merged/vocab.json', 'siva-merged/config.json', 'siva-adapter/adapter.json', 'report/report.html']) expect(existsSync(join(out, file)), file).toBe(true)
    // Progress went to stderr: each phase, in order.
    const phases = ['[1/5] inspect', '[2/5] linear probe', '[3/5] SiVA', '[4/5] held-out', '[5/5] export'].map((p) => stderr.indexOf(p))
    expect(phases.every((at) => at >= 0)).toBe(true)
    expect([...phases].sort((a, b) => a - b)).toEqual(phases)
  }, 600_000)
})
