import * as tf from '@tensorflow/tfjs'
import { matMul } from '../../../models/ops'
import { transposeToFloat32 } from '../../singularBand'
import { lowRankProduct, storedTensor } from '../../lowRank'
import type { AdapterMethod, LowRank } from '../../types'
import { methodInfo } from '../../../../../shared/methods'

const info = methodInfo('svdiff')

/**
 * SVDiff: every singular value trains through σ' = ReLU(σ + δ), vectors frozen. Computed as
 * y = x Wᵀ + b + ((x V) ⊙ (ReLU(σ + δ) − σ)) Uᵀ, which is exactly W at δ = 0 (no SVD round-off in the
 * forward pass) and costs O(r(m + n)) per token like SiVA with k = r.
 */
export const svdiff: AdapterMethod = {
  name: info.name,
  kind: 'adapter',
  needsSvd: info.spectral,
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
    // A copy of δ's current values, read asynchronously (WebGPU in Node has no synchronous read): the caller may keep it.
    const readDelta = async (): Promise<Float32Array> => Float32Array.from(await delta.data())
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
      lowRank: async () => spectrumFactors(svd.u, svd.vt, svd.s, await readDelta()),
      deltaWeight: async () => lowRankProduct(spectrumFactors(svd.u, svd.vt, svd.s, await readDelta()), m, n),
      stored: async () => ({
        settings: { k: r, band: [0, r] },
        tensors: [
          { name: 'delta', shape: [r], values: await readDelta() },
          { name: 'sigma', shape: [r], values: svd.s, derived: true },
          { name: 'u', shape: [m, r], values: svd.u, derived: true },
          { name: 'vt', shape: [r, n], values: svd.vt, derived: true }
        ]
      }),
      spectrum: { before: svd.s, band: [0, r], now: async () => shifted(await readDelta()).sort().reverse() },
      dispose: () => {
        for (const t of [weightT, uTensor, vTensor, sigma, delta]) t.dispose()
        bias?.dispose()
      }
    }
  },
  async restore(stored, weights, decompose) {
    const { name, outFeatures: m, inFeatures: n } = weights.target
    const delta = storedTensor(stored, 'delta', name)
    const svd = stored.tensors.some((t) => t.name === 'u')
      ? { s: Float64Array.from(storedTensor(stored, 'sigma', name)), u: Float64Array.from(storedTensor(stored, 'u', name)), vt: Float64Array.from(storedTensor(stored, 'vt', name)) }
      : await decompose(weights)
    const r = svd.s.length
    if (delta.length !== r || svd.u.length !== m * r || svd.vt.length !== r * n) throw new Error(`${name}: the adapter's SVDiff parameters do not fit a ${m}×${n} weight (${delta.length} δ for ${r} singular values)`)
    return spectrumFactors(svd.u, svd.vt, svd.s, delta)
  }
}

/** B = U diag(ReLU(σ + δ) − σ) [out, r], A = Vᵀ [r, in]. */
function spectrumFactors(u: Float64Array, vt: Float64Array, s: Float64Array, delta: ArrayLike<number>): LowRank {
  const r = s.length
  const change = Float64Array.from(s, (sigma, j) => Math.max(0, sigma + delta[j]!) - sigma)
  const b = Float64Array.from(u, (value, i) => value * change[i % r]!)
  return { rank: r, b, a: Float64Array.from(vt) }
}
