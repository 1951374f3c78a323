import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint, openSafetensors, writeSafetensors, type TensorSource } from '../../../src/main/engine/io'
import type { AdaptableLinear } from '../../../src/main/engine/models/types'
import { adaptTargets, cachedDecompose, countTrainable, methods, selectTargets, type Adapter, type MethodName } from '../../../src/main/engine/peft'
import { AnalysisPool } from '../../../src/main/workers/analysisPool'
import { pythonWithNumpy, repoRoot, tempDir, tinyGpt2 } from '../../helpers/paths'
import { inProcessDecompose as inProcess } from '../../helpers/decompose'

/**
 * One matrix of tests every method goes through, on real weights (tiny-random-gpt2's block-0 query block
 * of c_attn, and block 1's MLP input), against numpy (tests/reference/peft_reference.py).
 */
const targets: AdaptableLinear[] = [
  { name: 'transformer.h.0.attn.c_attn.q', weightTensor: 'transformer.h.0.attn.c_attn.weight', biasTensor: 'transformer.h.0.attn.c_attn.bias', conv1d: true, slice: [0, 32], outFeatures: 32, inFeatures: 32, block: 0, role: 'query' },
  { name: 'transformer.h.1.mlp.c_fc', weightTensor: 'transformer.h.1.mlp.c_fc.weight', biasTensor: 'transformer.h.1.mlp.c_fc.bias', conv1d: true, outFeatures: 128, inFeatures: 32, block: 1, role: 'mlp.in' }
]


let source: TensorSource
beforeAll(async () => {
  await tf.setBackend('wasm')
  source = await openCheckpoint(tinyGpt2)
})
afterAll(async () => {
  await source.close()
})

/** Seeded uniform values in [-scale, scale). */
function seeded(count: number, seed: number, scale: number): Float32Array {
  let state = seed
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return (state / 4294967296 - 0.5) * 2 * scale
  })
}

interface Reference {
  deltaW: Float64Array
  sBefore: number[]
  sAfter: number[]
}

async function numpyReference(method: MethodName, weight: Float64Array, target: AdaptableLinear, adapter: Adapter, extra: { k?: number; scaling?: number }): Promise<Reference> {
  const dir = tempDir('peft-reference')
  const file = join(dir, 'in.safetensors')
  const tensors = [{ name: 'W', dtype: 'F64' as const, shape: [target.outFeatures, target.inFeatures], data: weight }]
  if (method === 'lora') {
    // Our variables are Aᵀ [in, r] and Bᵀ [r, out]; the reference takes PEFT's A [r, in] and B [out, r].
    const [aT, bT] = adapter.variables as [tf.Variable, tf.Variable]
    tensors.push({ name: 'A', dtype: 'F64', shape: [aT.shape[1]!, aT.shape[0]!], data: Float64Array.from(tf.transpose(aT).dataSync()) })
    tensors.push({ name: 'B', dtype: 'F64', shape: [bT.shape[1]!, bT.shape[0]!], data: Float64Array.from(tf.transpose(bT).dataSync()) })
  } else {
    tensors.push({ name: 'delta', dtype: 'F64', shape: [adapter.variables[0]!.size], data: Float64Array.from(adapter.variables[0]!.dataSync()) })
  }
  await writeSafetensors(file, tensors)
  const run = spawnSync(pythonWithNumpy(), [join(repoRoot, 'tests/reference/peft_reference.py'), file], { input: JSON.stringify({ method, ...extra }), encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`peft_reference.py failed: ${run.stderr}`)
  const out = JSON.parse(run.stdout) as { delta_w: string; s_before: number[]; s_after: number[] }
  return { deltaW: new Float64Array(new Uint8Array(Buffer.from(out.delta_w, 'hex')).buffer), sBefore: out.s_before, sAfter: out.s_after }
}

/** x Wᵀ + b in float64, the plain reference for a linear. */
function linearReference(x: Float32Array, rows: number, weight: Float64Array, bias: Float64Array | undefined, m: number, n: number): Float64Array {
  const y = new Float64Array(rows * m)
  for (let r = 0; r < rows; r++) for (let o = 0; o < m; o++) {
    let sum = bias ? bias[o]! : 0
    for (let i = 0; i < n; i++) sum += x[r * n + i]! * weight[o * n + i]!
    y[r * m + o] = sum
  }
  return y
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
  return worst
}
const norm = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0))

const adapterMethods = ['siva', 'topk', 'svdiff', 'lora'] as const
const settings = { perc: 0.1, rank: 4, alpha: 8, seed: 11 }
const expectedCount = (method: MethodName, t: AdaptableLinear): number => {
  const r = Math.min(t.outFeatures, t.inFeatures)
  if (method === 'svdiff') return r
  if (method === 'lora') return 4 * (t.outFeatures + t.inFeatures)
  return Math.max(1, Math.round(0.1 * r))
}

describe.each(adapterMethods)('method %s', (method) => {
  let adapters: Adapter[]
  beforeAll(async () => {
    ;({ adapters } = await adaptTargets(source, targets, methods[method], { ...settings, decompose: inProcess }))
  })
  afterAll(() => adapters.forEach((a) => a.dispose()))

  it('counts its trainable parameters exactly, the same before building and after', () => {
    for (const [i, adapter] of adapters.entries()) {
      expect(adapter.trainableParameters).toBe(expectedCount(method, targets[i]!))
      expect(adapter.variables.reduce((sum, v) => sum + v.size, 0)).toBe(adapter.trainableParameters)
    }
    expect(countTrainable(method, targets, settings)).toBe(adapters.reduce((sum, a) => sum + a.trainableParameters, 0))
  })

  it('starts exactly at the checkpoint: ΔW = 0 and the linear equals x Wᵀ + b', async () => {
    for (const adapter of adapters) {
      const { outFeatures: m, inFeatures: n } = adapter.target
      expect((await adapter.deltaWeight()).every((v) => v === 0)).toBe(true)
      const { weight, bias } = await import('../../../src/main/engine/models/ops').then((ops) => ops.readTargetWeights(source, adapter.target))
      const x = seeded(5 * n, 3, 1)
      const y = tf.tidy(() => adapter.linear(tf.tensor2d(x, [5, n])).dataSync())
      expect(maxAbs(y, linearReference(x, 5, weight, bias, m, n))).toBeLessThan(2e-5)
    }
  })

  it('trained values: ΔW, the forward pass and the spectrum agree with numpy', async () => {
    const { readTargetWeights } = await import('../../../src/main/engine/models/ops')
    for (const [i, adapter] of adapters.entries()) {
      const { outFeatures: m, inFeatures: n } = adapter.target
      adapter.variables.forEach((v, j) => v.assign(tf.tensor(seeded(v.size, 100 + 10 * i + j, method === 'lora' ? 0.3 : 0.5), v.shape)))
      const { weight, bias } = await readTargetWeights(source, adapter.target)
      const k = method === 'siva' || method === 'topk' ? adapter.trainableParameters : undefined
      const reference = await numpyReference(method, weight, adapter.target, adapter, { ...(k && { k }), scaling: settings.alpha / settings.rank })
      const deltaW = await adapter.deltaWeight()
      expect(maxAbs(deltaW, reference.deltaW) / norm(reference.deltaW)).toBeLessThan(1e-9)
      // The forward pass uses W + ΔW without forming it.
      const x = seeded(4 * n, 9, 1)
      const merged = Float64Array.from(weight, (w, j) => w + deltaW[j]!)
      const y = tf.tidy(() => adapter.linear(tf.tensor2d(x, [4, n])).dataSync())
      expect(maxAbs(y, linearReference(x, 4, merged, bias, m, n))).toBeLessThan(5e-5)
      if (adapter.spectrum) {
        expect(maxAbs(adapter.spectrum.before, reference.sBefore) / reference.sBefore[0]!).toBeLessThan(1e-13)
        expect(maxAbs(await adapter.spectrum.now(), reference.sAfter) / reference.sAfter[0]!).toBeLessThan(1e-12)
      }
      if (method === 'siva' || method === 'topk') {
        // ΔW lives in the band: orthogonal to every singular direction outside it.
        const r = reference.sBefore.length
        const band = method === 'siva' ? [r - k!, r] : [0, k!]
        expect(adapter.spectrum!.band).toEqual(band)
      }
    }
  })

  it('what an adapter file stores gives back the same ΔW, with its singular vectors or recomputed from the base (compact)', async () => {
    const { readTargetWeights } = await import('../../../src/main/engine/models/ops')
    const { lowRankProduct } = await import('../../../src/main/engine/peft')
    for (const adapter of adapters) {
      const { outFeatures: m, inFeatures: n } = adapter.target
      const weights = { target: adapter.target, ...(await readTargetWeights(source, adapter.target)) }
      const stored = await adapter.stored()
      const expected = await adapter.deltaWeight()
      const compact = { ...stored, tensors: stored.tensors.filter((t) => !t.derived) }
      for (const form of [stored, compact]) {
        const factors = await methods[method].restore!(form, weights, inProcess)
        expect(maxAbs(lowRankProduct(factors, m, n), expected)).toBeLessThanOrEqual(1e-15 * norm(expected) + 1e-300)
      }
      // The trainable numbers are what is stored underived: δ, or LoRA's A and B.
      expect(compact.tensors.reduce((sum, t) => sum + t.values.length, 0)).toBe(adapter.trainableParameters)
    }
  })

  it('learns: the loss of fitting a target in reach falls by more than half', () => {
    const adapter = adapters[1]!
    adapter.variables.forEach((v, j) => v.assign(method === 'lora' && j === 0 ? tf.tensor(seeded(v.size, 5, 1 / Math.sqrt(32)), v.shape) : tf.zerosLike(v)))
    const n = adapter.target.inFeatures
    const x = tf.tensor2d(seeded(64 * n, 21, 1), [64, n])
    // The target: what the adapter itself gives with other values — reachable by construction.
    const saved = adapter.variables.map((v) => v.clone())
    adapter.variables.forEach((v, j) => v.assign(tf.tensor(seeded(v.size, 40 + j, 0.2), v.shape)))
    const target = tf.tidy(() => adapter.linear(x))
    adapter.variables.forEach((v, j) => v.assign(saved[j]!))
    saved.forEach((t) => t.dispose())
    const optimizer = tf.train.adam(0.05)
    const loss = (): tf.Scalar => tf.mean(tf.square(tf.sub(adapter.linear(x), target))) as tf.Scalar
    const first = tf.tidy(() => loss().dataSync()[0]!)
    const before = tf.memory().numTensors
    for (let step = 0; step < 60; step++) tf.tidy(() => {
      optimizer.minimize(loss, false, adapter.variables)
    })
    const last = tf.tidy(() => loss().dataSync()[0]!)
    expect(first).toBeGreaterThan(0)
    expect(last).toBeLessThan(first / 2)
    // The optimiser's own slots appear once; steps after that must not add tensors.
    tf.tidy(() => {
      optimizer.minimize(loss, false, adapter.variables)
    })
    const after = tf.memory().numTensors
    tf.tidy(() => {
      optimizer.minimize(loss, false, adapter.variables)
    })
    expect(tf.memory().numTensors).toBe(after)
    expect(after - before).toBeLessThanOrEqual(2 * adapter.variables.length)
    optimizer.dispose()
    x.dispose()
    target.dispose()
  })
})

describe('methods without per-target adapters', () => {
  it('full and head are whole-model methods: nothing to adapt or restore, and adaptTargets wraps nothing', async () => {
    expect(methods.full.kind).toBe('full')
    expect(methods.head.kind).toBe('head')
    for (const method of [methods.full, methods.head]) {
      expect(method.adapt).toBeUndefined()
      expect(method.restore).toBeUndefined()
      expect(await adaptTargets(source, targets, method, { seed: 1, decompose: inProcess })).toEqual({ adapters: [], linears: new Map() })
    }
  })
})

describe('target selection', () => {
  it('by pattern, with per-layer overrides (last match wins) and skips', () => {
    const picked = selectTargets(targets, /c_attn\.q|c_fc/, [{ pattern: /c_fc/, skip: true }])
    expect(picked.map((t) => t.name)).toEqual(['transformer.h.0.attn.c_attn.q'])
    expect(countTrainable('siva', targets, { perc: 0.1, overrides: [{ pattern: /c_fc/, k: 7 }, { pattern: /h\.1\./, perc: 0.5 }] })).toBe(3 + 16)
  })
})

describe('SVD cache', () => {
  it('the second run reads the decompositions back from disk, keyed by content, through the real worker pool', async () => {
    const cacheDir = tempDir('svd-cache')
    const pool = new AnalysisPool(1)
    try {
      const seen: string[] = []
      const decompose = cachedDecompose(pool.runSvd, { cacheDir, onDecomposed: (name, from) => seen.push(`${name}:${from}`) })
      const first = await adaptTargets(source, targets, methods.siva, { ...settings, decompose })
      const second = await adaptTargets(source, targets, methods.siva, { ...settings, decompose })
      expect(seen).toEqual(['transformer.h.0.attn.c_attn.q:computed', 'transformer.h.1.mlp.c_fc:computed', 'transformer.h.0.attn.c_attn.q:cache', 'transformer.h.1.mlp.c_fc:cache'])
      for (const [i, adapter] of first.adapters.entries()) expect(second.adapters[i]!.spectrum!.before).toEqual(adapter.spectrum!.before)
      ;[...first.adapters, ...second.adapters].forEach((a) => a.dispose())
    } finally {
      await pool.close()
    }
  })
})

describe('the band route through the pool and the cache', () => {
  it("SiVA and top-k ask for their band only: the cache holds every σ and the band's vectors, keyed by band; the update equals the whole SVD's", async () => {
    const cacheDir = tempDir('svd-band-cache')
    const pool = new AnalysisPool(1)
    try {
      const decompose = cachedDecompose(pool.runSvd, { cacheDir })
      for (const method of ['siva', 'topk'] as const) {
        const banded = await adaptTargets(source, targets, methods[method], { ...settings, decompose })
        const whole = await adaptTargets(source, targets, methods[method], { ...settings, decompose: inProcess })
        for (const [i, adapter] of banded.adapters.entries()) {
          const reference = whole.adapters[i]!
          // δ set to the same values on both: ΔW = U_b diag(δ) V_bᵀ does not depend on the vectors' signs.
          const delta = seeded(adapter.variables[0]!.size, 5 + i, 0.3)
          adapter.variables[0]!.assign(tf.tensor1d(delta))
          reference.variables[0]!.assign(tf.tensor1d(delta))
          const [a, b] = await Promise.all([adapter.deltaWeight(), reference.deltaWeight()])
          let worst = 0
          for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j]! - b[j]!))
          expect(worst, `${method} ${adapter.target.name}`).toBeLessThan(1e-12)
          expect(Array.from(adapter.spectrum!.before).map((x, j) => Math.abs(x - reference.spectrum!.before[j]!))).toSatisfy((d: number[]) => d.every((x) => x < 1e-12))
        }
        ;[...banded.adapters, ...whole.adapters].forEach((a) => a.dispose())
      }
      // One file per target and band: s [r], u [m, k], vt [k, n].
      const files = readdirSync(cacheDir).sort()
      expect(files).toHaveLength(4)
      for (const file of files) expect(file).toMatch(/^[0-9a-f]{64}\.band-\d+-\d+\.svd\.safetensors$/)
      const layouts: string[] = []
      for (const file of files) {
        const reader = await openSafetensors(join(cacheDir, file))
        layouts.push(`${file.slice(65, -16)} ${reader.tensors.map((t) => `${t.name}[${t.shape.join(',')}]`).join(' ')}`)
        await reader.close()
      }
      // c_attn's q block (32×32) and c_fc (128×32): r = 32, k = 3, SiVA's [29, 32) and top-k's [0, 3).
      expect(layouts.sort()).toEqual([
        'band-0-3 s[32] u[128,3] vt[3,32]',
        'band-0-3 s[32] u[32,3] vt[3,32]',
        'band-29-32 s[32] u[128,3] vt[3,32]',
        'band-29-32 s[32] u[32,3] vt[3,32]'
      ])
    } finally {
      await pool.close()
    }
  })
})

describe('disposal', () => {
  it.each(['siva', 'topk', 'svdiff', 'lora'] as const)('%s frees every tensor it made', async (method) => {
    const before = tf.memory().numTensors
    const { adapters } = await adaptTargets(source, targets, methods[method], { ...settings, decompose: inProcess })
    expect(tf.memory().numTensors).toBeGreaterThan(before)
    adapters.forEach((a) => a.dispose())
    expect(tf.memory().numTensors).toBe(before)
  })
})
