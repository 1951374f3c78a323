import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { InspectReport } from '../../src/shared/spectra'
import { pythonWithNumpy, repoRoot, tempDir, tinyGpt2 } from '../helpers/paths'

// The real `siva` command (bin/siva.mjs → src/main/cli.ts, SVDs in real worker threads) on the real
// tiny-random-gpt2 checkpoint, checked against numpy (tests/reference/spectra_reference.py, committed
// output in tests/fixtures/spectra/).
function siva(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

const reference = JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/spectra/tiny-random-gpt2.json'), 'utf8')) as {
  tensors: { name: string; shape: number[]; singularValues: number[]; effectiveRank: number; stableRank: number; conditionNumber: number }[]
}

/** The tiny checkpoint with one F32 value of `tensor` replaced, or its header rewritten. */
function mutatedCopy(dir: string, edit: (bytes: Buffer, header: Record<string, { data_offsets: [number, number] }>, dataStart: number) => Buffer): string {
  const bytes = readFileSync(join(tinyGpt2, 'model.safetensors'))
  const headerLength = Number(bytes.readBigUInt64LE(0))
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'))
  const out = join(dir, 'model.safetensors')
  writeFileSync(out, edit(Buffer.from(bytes), header, 8 + headerLength))
  copyFileSync(join(tinyGpt2, 'config.json'), join(dir, 'config.json'))
  return out
}

describe('siva inspect on the real tiny-random-gpt2 checkpoint', () => {
  let report: InspectReport
  let stderr: string

  beforeAll(() => {
    const run = siva('inspect', tinyGpt2, '--json')
    expect(run.stderr).not.toContain('error')
    expect(run.status).toBe(0)
    report = JSON.parse(run.stdout) as InspectReport // exactly one JSON document
    stderr = run.stderr
  })

  it('analyses every 2-D weight, with c_attn per q/k/v block, in file order', () => {
    expect(report.tensors.map((t) => t.name)).toEqual(reference.tensors.map((t) => t.name))
    expect(report.tensors).toHaveLength(30) // 5 blocks × (q, k, v, attn.c_proj, mlp.c_fc, mlp.c_proj)
    expect(report.tensors[0]).toMatchObject({ name: 'transformer.h.0.attn.c_attn.weight.q', tensor: 'transformer.h.0.attn.c_attn.weight', shape: [32, 32], dtype: 'F32' })
  })

  it('matches numpy: singular values to 1e-11·σ_max, summaries to 1e-9', () => {
    for (const [i, ref] of reference.tensors.entries()) {
      const t = report.tensors[i]!
      expect(t.shape).toEqual(ref.shape)
      const sMax = ref.singularValues[0]!
      ref.singularValues.forEach((s, j) => expect(Math.abs(t.singularValues[j]! - s)).toBeLessThanOrEqual(1e-11 * sMax))
      expect(t.effectiveRank).toBeCloseTo(ref.effectiveRank, 9)
      expect(t.stableRank).toBeCloseTo(ref.stableRank, 9)
      expect(Math.abs(t.conditionNumber! - ref.conditionNumber) / ref.conditionNumber).toBeLessThan(1e-9)
    }
  })

  it('lists what it skipped and why', () => {
    const reasons = new Map(report.skipped.map((s) => [s.name, s.reason]))
    expect(reasons.get('transformer.h.0.ln_1.weight')).toMatch(/1-D/)
    expect(reasons.get('transformer.wte.weight')).toMatch(/embedding/)
    expect(report.skipped).toHaveLength(64 - 5 * 4) // 64 tensors in the file
  })

  it('reports progress on stderr, per matrix', () => {
    expect(stderr).toContain('[30/30]')
  })

  it('filters with --layers and computes values only with --values-only', () => {
    const run = siva('inspect', tinyGpt2, '--json', '--values-only', '--layers', 'h\\.[0-1]\\.attn\\.c_attn\\.weight\\.(q|v)$', '--quiet')
    expect(run.status).toBe(0)
    expect(run.stderr).toBe('')
    const filtered = JSON.parse(run.stdout) as InspectReport
    expect(filtered.valuesOnly).toBe(true)
    expect(filtered.tensors.map((t) => t.name)).toEqual(['transformer.h.0.attn.c_attn.weight.q', 'transformer.h.0.attn.c_attn.weight.v', 'transformer.h.1.attn.c_attn.weight.q', 'transformer.h.1.attn.c_attn.weight.v'])
    const ref = reference.tensors.find((t) => t.name === 'transformer.h.1.attn.c_attn.weight.v')!
    ref.singularValues.forEach((s, j) => expect(Math.abs(filtered.tensors[3]!.singularValues[j]! - s)).toBeLessThanOrEqual(1e-11 * ref.singularValues[0]!))
  })

  it('prints a readable table by default', () => {
    const run = siva('inspect', join(tinyGpt2, 'model.safetensors'), '--quiet', '--layers', 'h\\.4\\.mlp')
    expect(run.status).toBe(0)
    const lines = run.stdout.split('\n')
    expect(lines.some((l) => /^matrix\s+shape\s+dtype\s+σ_max/.test(l))).toBe(true)
    expect(lines.some((l) => l.startsWith('transformer.h.4.mlp.c_fc.weight') && l.includes('32×128'))).toBe(true)
    expect(run.stdout).toContain('skipped:')
  })
})

describe('siva inspect on bad input: one line naming the file, non-zero exit', () => {
  it('a missing path', () => {
    const run = siva('inspect', join(repoRoot, 'no/such/checkpoint'))
    expect(run.status).toBe(1)
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/^siva: error: .*no\/such\/checkpoint/)
  })

  it('a truncated file', () => {
    const dir = tempDir('truncated')
    const file = mutatedCopy(dir, (bytes) => bytes.subarray(0, bytes.length - 1000))
    const run = siva('inspect', file)
    expect(run.status).toBe(1)
    const last = run.stderr.trim().split('\n').at(-1)!
    expect(last).toMatch(/^siva: error: /)
    expect(last).toContain(file)
  })

  it('a header whose offsets lie', () => {
    const dir = tempDir('lying')
    const file = mutatedCopy(dir, (bytes, header, dataStart) => {
      const entry = header['transformer.h.2.attn.c_proj.weight']!
      entry.data_offsets = [entry.data_offsets[0], entry.data_offsets[1] + 4]
      const json = Buffer.from(JSON.stringify(header).padEnd(dataStart - 8, ' '))
      if (json.length !== dataStart - 8) throw new Error('test setup: header grew')
      json.copy(bytes, 8)
      return bytes
    })
    const run = siva('inspect', file)
    expect(run.status).toBe(1)
    const last = run.stderr.trim().split('\n').at(-1)!
    expect(last).toContain(file)
    expect(last).toContain('transformer.h.2.attn.c_proj.weight')
  })

  it('NaN and Inf weights: reported per tensor, the rest analysed', () => {
    const dir = tempDir('nan')
    mutatedCopy(dir, (bytes, header, dataStart) => {
      bytes.writeFloatLE(Number.NaN, dataStart + header['transformer.h.1.mlp.c_fc.weight']!.data_offsets[0] + 4 * (128 + 5))
      bytes.writeFloatLE(Number.POSITIVE_INFINITY, dataStart + header['transformer.h.3.attn.c_attn.weight']!.data_offsets[0] + 4 * (96 * 5 + 70))
      return bytes
    })
    const run = siva('inspect', dir, '--json', '--quiet')
    expect(run.status).toBe(1)
    const result = JSON.parse(run.stdout) as InspectReport
    const broken = result.tensors.filter((t) => t.error).map((t) => t.name)
    expect(broken).toEqual(['transformer.h.1.mlp.c_fc.weight', 'transformer.h.3.attn.c_attn.weight.v'])
    expect(result.tensors.filter((t) => !t.error)).toHaveLength(28)
    const errors = run.stderr.trim().split('\n')
    expect(errors).toHaveLength(2)
    expect(errors[0]).toMatch(/^siva: error: .*transformer\.h\.1\.mlp\.c_fc\.weight.*NaN at row 1, column 5/)
    expect(errors[1]).toMatch(/block v of tensor transformer\.h\.3\.attn\.c_attn\.weight \(columns 64–96\) holds Infinity at row 5, column 6/)
    expect(errors.every((e) => e.includes(dir))).toBe(true)
  })

  it('a --layers pattern that matches nothing', () => {
    const run = siva('inspect', tinyGpt2, '--layers', 'no-such-layer', '--quiet')
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/no 2-D weight matrix matches --layers 'no-such-layer' \(64 tensors skipped/)
  })

  it('a bad flag is a usage error (exit 2)', () => {
    const run = siva('inspect', tinyGpt2, '--perc', '3')
    expect(run.status).toBe(2)
    expect(run.stderr).toMatch(/--perc must be/)
  })
})

describe('siva inspect on other sources', () => {
  it('a tfjs model.json: quantised weights dequantised, strings listed as skipped, σ as numpy finds them', () => {
    const dir = join(repoRoot, 'tests/fixtures/io/tfjs')
    const run = siva('inspect', join(dir, 'model.json'), '--json', '--quiet', '--include-embeddings')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout) as InspectReport
    expect(report.format).toBe('tfjs')
    expect(report.skipped.find((s) => s.name === 'vocab')?.reason).toMatch(/string/)
    // numpy's singular values of the values the fixture's generator wrote (float64 bytes, hex).
    const expected = JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/io/tfjs.expected.json'), 'utf8')) as {
      tensors: Record<string, { float64Hex: string }>
    }
    const numpy = spawnSync(
      pythonWithNumpy(),
      ['-c', 'import json,sys,numpy as np; d=json.load(sys.stdin); print(json.dumps({k: np.linalg.svd(np.frombuffer(bytes.fromhex(h),"<f8").reshape(s), compute_uv=False).tolist() for k,(h,s) in d.items()}))'],
      {
        input: JSON.stringify(Object.fromEntries(report.tensors.map((t) => [t.name, [expected.tensors[t.name]!.float64Hex, t.shape]]))),
        encoding: 'utf8'
      }
    )
    expect(numpy.status).toBe(0)
    const reference = JSON.parse(numpy.stdout) as Record<string, number[]>
    expect(report.tensors.map((t) => t.name).sort()).toEqual(['dense/kernel', 'dense_1/q16', 'embedding/q8'])
    expect(report.skipped.find((s) => s.name === 'extra')?.reason).toBe('one row or column: a vector, with one singular value, not a matrix')
    for (const t of report.tensors) {
      const ref = reference[t.name]!
      ref.forEach((s, i) => expect(Math.abs(t.singularValues[i]! - s)).toBeLessThanOrEqual(1e-11 * ref[0]!))
    }
  })

  it('a sharded checkpoint, through model.safetensors.index.json', () => {
    const dir = tempDir('sharded')
    const shard = spawnSync(pythonWithNumpy(), [join(repoRoot, 'tests/reference/safetensors_numpy.py'), 'shard', join(tinyGpt2, 'model.safetensors'), dir, '3'], { encoding: 'utf8' })
    expect(shard.status, shard.stderr).toBe(0)
    copyFileSync(join(tinyGpt2, 'config.json'), join(dir, 'config.json'))
    const run = siva('inspect', dir, '--json', '--quiet', '--values-only')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout) as InspectReport
    expect(report.modelType).toBe('gpt2')
    expect(report.tensors.map((t) => t.name).sort()).toEqual(reference.tensors.map((t) => t.name).sort())
    for (const t of report.tensors) {
      const ref = reference.tensors.find((r) => r.name === t.name)!
      ref.singularValues.forEach((s, i) => expect(Math.abs(t.singularValues[i]! - s)).toBeLessThanOrEqual(1e-11 * ref.singularValues[0]!))
    }
  })
})

describe('siva inspect cancellation', () => {
  it('Ctrl-C stops the SVD workers at once: exit status 130, nothing on stdout', async () => {
    const dir = tempDir('sigint')
    // Four 1400×1400 matrices: seconds of SVD each, so the interrupt lands mid-run.
    const write = spawnSync(
      pythonWithNumpy(),
      [
        '-c',
        `import json,struct,numpy as np,sys
rng=np.random.default_rng(1); arrs=[rng.standard_normal((1400,1400)).astype('<f4') for _ in range(4)]
h={}; o=0
for i,a in enumerate(arrs): h[f"layer.{i}.weight"]={"dtype":"F32","shape":[1400,1400],"data_offsets":[o,o+a.nbytes]}; o+=a.nbytes
raw=json.dumps(h).encode(); raw+=b" "*(-len(raw)%8)
f=open(sys.argv[1],"wb"); f.write(struct.pack("<Q",len(raw))); f.write(raw); [f.write(a.tobytes()) for a in arrs]`,
        join(dir, 'model.safetensors')
      ],
      { encoding: 'utf8' }
    )
    expect(write.status, write.stderr).toBe(0)
    const child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'inspect', dir, '--json', '--workers', '1'], { cwd: repoRoot })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    const started = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), stderr.includes('SVD workers') && resolve())))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    await started
    await new Promise((r) => setTimeout(r, 500))
    const interruptedAt = Date.now()
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(Date.now() - interruptedAt).toBeLessThan(3000)
    expect(stdout).toBe('')
    expect(stderr).toContain('interrupted')
  })
})
