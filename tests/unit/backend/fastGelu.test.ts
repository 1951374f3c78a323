import { spawnSync } from 'node:child_process'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { fastGeluActive, geluExact } from '../../../src/main/engine/backend/fastGelu'
import { pythonWithNumpy } from '../../helpers/paths'

/**
 * The fused exact GELU on the wasm backend (engine/backend/wasm/gelu.c), its values and its gradient,
 * against scipy in float64: y = x·Φ(x), dy/dx = Φ(x) + x·φ(x), Φ(x) = erfc(−x/√2)/2.
 */
beforeAll(async () => {
  await selectBackend('wasm')
})

/** Values across the range a pre-activation takes, the far tails, zero, and a length not a multiple of 4. */
function inputs(): Float32Array {
  const values = [0, -0, 1e-8, -1e-8, 0.5, -0.5, 1, -1, 2.5, -2.5, 5, -5, 8, -8, 12, -12, 30, -30, 1e4, -1e4]
  for (let i = 0; i <= 400; i++) values.push(-10 + i * 0.05)
  let state = 99
  for (let i = 0; i < 1001; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    values.push((state / 4294967296 - 0.5) * 12)
  }
  return Float32Array.from(values)
}

function reference(x: Float32Array, dy: Float32Array): { y: number[]; dx: number[]; dxScale: number[] } {
  const script = [
    'import json, sys, numpy as np',
    'from scipy.special import erfc',
    'd = json.load(sys.stdin)',
    'x = np.array(d["x"], dtype=np.float32).astype(np.float64); dy = np.array(d["dy"], dtype=np.float32).astype(np.float64)',
    // erfc, not 1 + erf: in the negative tail 1 + erf(x/√2) cancels even in float64
    'cdf = 0.5 * erfc(-x / np.sqrt(2)); pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)',
    // dx's scale: its two terms' size. Where they cancel (gelu' = 0 near x = −0.75), float32 keeps that much, not more.
    'print(json.dumps({"y": (x * cdf).tolist(), "dx": (dy * (cdf + x * pdf)).tolist(), "dxScale": np.abs(dy * (cdf + np.abs(x) * pdf)).tolist()}))'
  ].join('\n')
  const run = spawnSync(pythonWithNumpy(), ['-c', script], { input: JSON.stringify({ x: Array.from(x), dy: Array.from(dy) }), encoding: 'utf8', maxBuffer: 64 << 20 })
  if (run.status !== 0) throw new Error(run.stderr)
  return JSON.parse(run.stdout) as { y: number[]; dx: number[]; dxScale: number[] }
}

/**
 * |a − b| within a relative tolerance of `scale` (|b| unless given): 2e-6, plus what float32 forces on
 * e^(−x²/2) in the tail (x²/2 itself is rounded, an absolute error of about x²·6e-8 in the exponent, the
 * same relative error after it).
 */
function expectClose(actual: ArrayLike<number>, expected: number[], x: Float32Array, label: string, scale: number[] = expected.map(Math.abs)): void {
  let worst = 0
  let at = -1
  for (let i = 0; i < expected.length; i++) {
    const rel = 2e-6 + 1.2e-7 * x[i]! * x[i]!
    // Below float32's smallest normal number (1.2e-38) a value is as good as zero.
    const excess = Math.abs(actual[i]! - expected[i]!) - rel * scale[i]! - 1.2e-38
    if (excess > worst) [worst, at] = [excess, i]
  }
  expect(at, `${label}: worst at index ${at} (${actual[at]} vs ${expected[at]})`).toBe(-1)
}

describe('fused GELU on the wasm backend', () => {
  it('is the kernel in use on wasm', () => {
    expect(fastGeluActive()).toBe(true)
  })

  it("values and gradient match scipy's erfc to about 2e-6 relative, far into the negative tail, where the composite it replaces fails", () => {
    const x = inputs()
    const dy = Float32Array.from(x, (_, i) => ((i * 37) % 11) / 5 - 1)
    const xt = tf.tensor1d(x)
    const dyt = tf.tensor1d(dy)
    const y = geluExact(xt)
    const dx = tf.grad((v: tf.Tensor) => geluExact(v))(xt, dyt)
    const ref = reference(x, dy)
    expectClose(y.dataSync(), ref.y, x, 'gelu(x)')
    expectClose(dx.dataSync(), ref.dx, x, 'dy·gelu\'(x)', ref.dxScale)
    // The composite it replaces, 0.5·x·(1 + erf(x/√2)), loses the tail to cancellation: 4% off at x = −5, zero at −6.
    const compositeTensor = tf.tidy(() => tf.mul(tf.mul(xt, 0.5), tf.add(1, tf.erf(tf.mul(xt, Math.SQRT1_2)))))
    const composite = compositeTensor.dataSync()
    const at = x.indexOf(-5)
    expect(Math.abs(composite[at]! / ref.y[at]! - 1)).toBeGreaterThan(0.01)
    expect(Math.abs(y.dataSync()[at]! / ref.y[at]! - 1)).toBeLessThan(2e-6)
    compositeTensor.dispose()
    // A value deep in the tail is small but right, not rounded to zero: gelu(−8) = −8·Φ(−8) ≈ −4.98e-15.
    expect(y.dataSync()[x.indexOf(-8)]! / ref.y[x.indexOf(-8)]!).toBeCloseTo(1, 5)
    tf.dispose([xt, dyt, y, dx])
  })

  it('keeps the shape, passes NaN through, and matches the composite it replaces on a batch', () => {
    const x = tf.tensor3d(Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => (i - 15) / 4), [2, 3, 5])
    const fused = geluExact(x)
    const composite = tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))))
    expect(fused.shape).toEqual([2, 3, 5])
    const [a, b] = [fused.dataSync(), composite.dataSync()]
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-6)
    const nan = geluExact(tf.tensor1d([NaN, 1, NaN]))
    expect(Array.from(nan.dataSync()).map(Number.isNaN)).toEqual([true, false, true])
    tf.dispose([x, fused, composite, nan])
  })

  it('leaks no tensors across forward and backward', () => {
    const x = tf.randomNormal([64, 48])
    const before = tf.memory().numTensors
    for (let i = 0; i < 3; i++) tf.tidy(() => {
      tf.grad((v: tf.Tensor) => tf.sum(geluExact(v)))(x)
    })
    expect(tf.memory().numTensors).toBe(before)
    x.dispose()
  })
})
