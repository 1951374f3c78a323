import * as tf from '@tensorflow/tfjs'
import { matMul } from '../../../models/ops'
import { transposeToFloat32 } from '../../singularBand'
import type { PeftMethod } from '../../types'

/**
 * SVDiff: every singular value trains through σ' = ReLU(σ + δ), vectors frozen. Computed as
 * y = x Wᵀ + b + ((x V) ⊙ (ReLU(σ + δ) − σ)) Uᵀ, which is exactly W at δ = 0 (no SVD round-off in the
 * forward pass) and costs O(r(m + n)) per token like SiVA with k = r.
 */
export const svdiff: PeftMethod = {
  name: 'svdiff',
  kind: 'adapter',
  needsSvd: true,
  async adapt(weights, options) {
    const { target } = weights
    const { outFeatures: m, inFeatures: n } = target
    const svd = await options.decompose(weights)
    const r = svd.s.length
    const uT = new Float32Array(r * m)
    const v = new Float32Array(n * r)
    for (let j = 0; j < r; j++) {
      for (let i = 0; i < m; i++) uT[j * m + i] = svd.u[i * r + j]!
      for (let i = 0; i < n; i++) v[i * r + j] = svd.vt[j * n + i]!
    }
    const weightT = tf.tensor2d(transposeToFloat32(weights.weight, m, n), [n, m])
    const bias = weights.bias ? tf.tensor1d(Float32Array.from(weights.bias)) : undefined
    const uTensor = tf.tensor2d(uT, [r, m])
    const vTensor = tf.tensor2d(v, [n, r])
    const sigma = tf.tensor1d(Float32Array.from(svd.s))
    const delta = tf.tidy(() => tf.variable(tf.zeros([r]), true))
    const shifted = (d: ArrayLike<number>): Float64Array => Float64Array.from(svd.s, (s, j) => Math.max(0, s + d[j]!))

    return {
      target,
      variables: [delta],
      trainableParameters: r,
      linear: (x) => {
        const change = tf.sub(tf.relu(tf.add(sigma, delta)), sigma)
        const y = tf.add(matMul(x, weightT), matMul(tf.mul(matMul(x, vTensor), change), uTensor)) as tf.Tensor2D
        return bias ? tf.add(y, bias) : y
      },
      deltaWeight: () => {
        const now = shifted(delta.dataSync())
        const out = new Float64Array(m * n)
        for (let j = 0; j < r; j++) {
          const c = now[j]! - svd.s[j]!
          if (c === 0) continue
          for (let i = 0; i < m; i++) {
            const scale = svd.u[i * r + j]! * c
            for (let col = 0; col < n; col++) out[i * n + col] += scale * svd.vt[j * n + col]!
          }
        }
        return out
      },
      spectrum: { before: svd.s, band: [0, r], now: () => shifted(delta.dataSync()).sort().reverse() },
      dispose: () => {
        for (const t of [weightT, uTensor, vTensor, sigma, delta]) t.dispose()
        bias?.dispose()
      }
    }
  }
}
