import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { geluExact } from '../../../src/main/engine/backend/fastGelu'
import { activation, layerNorm } from '../../../src/main/engine/models/ops'
import { useSoftwareVulkan } from '../../helpers/softwareVulkan'

// Before Dawn starts: SwiftShader (no GPU here or in CI).
useSoftwareVulkan()

/**
 * The elementwise functions and row operations the model families compute with, on webgpu, against
 * float64 references written out here. WGSL lets a driver approximate its builtins (sin and cos may be
 * off by 2⁻¹¹), so each one the engine relies on is measured rather than assumed; tfjs composes GELU's
 * erf from a polynomial of its own.
 */
beforeAll(async () => {
  await selectBackend('webgpu')
}, 120_000)

/** erf by its Taylor series, in float64: converges for |x| ≤ 4 with ~1e-10 cancellation error. */
function erf(x: number): number {
  let term = x
  let sum = x
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n
    sum += term / (2 * n + 1)
  }
  return (2 / Math.sqrt(Math.PI)) * sum
}

/** 4096 points evenly over [from, to], and the largest error against `f`, relative where |f| > 1. */
async function worstError(op: (x: tf.Tensor) => tf.Tensor, f: (x: number) => number, from: number, to: number): Promise<number> {
  const xs = Float32Array.from({ length: 4096 }, (_, i) => from + ((to - from) * i) / 4095)
  const y = tf.tidy(() => op(tf.tensor1d(xs)))
  const got = await y.data()
  y.dispose()
  let worst = 0
  for (let i = 0; i < xs.length; i++) {
    const want = f(xs[i]!)
    worst = Math.max(worst, Math.abs(got[i]! - want) / Math.max(1, Math.abs(want)))
  }
  return worst
}

describe('webgpu: the functions the families use, against float64', () => {
  it('exp, tanh, erf, sqrt, rsqrt, x³ are within 1e-6 (float32 is 6e-8)', async () => {
    const errors = {
      exp: await worstError(tf.exp, Math.exp, -20, 10),
      tanh: await worstError(tf.tanh, Math.tanh, -10, 10),
      erf: await worstError(tf.erf, erf, -4, 4),
      sqrt: await worstError(tf.sqrt, Math.sqrt, 1e-6, 100),
      rsqrt: await worstError(tf.rsqrt, (x) => 1 / Math.sqrt(x), 1e-3, 100),
      cube: await worstError((x) => tf.pow(x, 3), (x) => x ** 3, -8, 8)
    }
    console.log('webgpu elementwise errors', errors)
    for (const [name, error] of Object.entries(errors)) expect(error, name).toBeLessThan(1e-6)
  })

  it("GELU (exact and tanh forms) within 1e-6; the exact one is the composite off wasm", async () => {
    const exact = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2))
    const tanhForm = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))
    expect(await worstError(geluExact, exact, -6, 6)).toBeLessThan(1e-6)
    expect(await worstError(activation('gelu'), exact, -6, 6)).toBeLessThan(1e-6)
    expect(await worstError(activation('gelu_new'), tanhForm, -6, 6)).toBeLessThan(1e-6)
  })

  it('softmax and layer norm over rows of 64 and 768 within 1e-6', async () => {
    for (const cols of [64, 768]) {
      const rows = 16
      const x = Float32Array.from({ length: rows * cols }, (_, i) => 6 * Math.sin(i * 0.731) + (i % cols) * 0.01)
      const gamma = Float32Array.from({ length: cols }, (_, i) => 1 + 0.1 * Math.cos(i))
      const beta = Float32Array.from({ length: cols }, (_, i) => 0.05 * i / cols)
      const [soft, norm] = tf.tidy(() => {
        const t = tf.tensor2d(x, [rows, cols])
        return [tf.softmax(t), layerNorm(t, tf.tensor1d(gamma), tf.tensor1d(beta), 1e-5)]
      })
      const [s, n] = [await soft!.data(), await norm!.data()]
      tf.dispose([soft!, norm!])
      let worstSoftmax = 0
      let worstNorm = 0
      for (let r = 0; r < rows; r++) {
        const row = Array.from(x.subarray(r * cols, (r + 1) * cols))
        const max = Math.max(...row)
        const exps = row.map((v) => Math.exp(v - max))
        const total = exps.reduce((a, b) => a + b, 0)
        const mean = row.reduce((a, b) => a + b, 0) / cols
        const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / cols
        for (let c = 0; c < cols; c++) {
          worstSoftmax = Math.max(worstSoftmax, Math.abs(s[r * cols + c]! - exps[c]! / total))
          const want = ((row[c]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[c]! + beta[c]!
          worstNorm = Math.max(worstNorm, Math.abs(n[r * cols + c]! - want) / Math.max(1, Math.abs(want)))
        }
      }
      expect(worstSoftmax, `softmax over ${cols}`).toBeLessThan(1e-6)
      expect(worstNorm, `layer norm over ${cols}`).toBeLessThan(1e-6)
    }
  })
})
