import * as tf from '@tensorflow/tfjs'
import { matMul } from '../models/ops'
import { bandVectorsOf } from './decomposition'
import { lowRankProduct, storedTensor } from './lowRank'
import type { Adapter, Decompose, Decomposition, LowRank, StoredParameters, TargetWeights } from './types'

/**
 * Train a band of singular values, vectors frozen: y = x Wᵀ + b + ((x V_b) ⊙ δ) U_bᵀ with
 * U_b = U[:, band], V_b = V[:, band], δ ∈ ℝᵏ starting at 0. ΔW = U_b diag(δ) V_bᵀ is never formed
 * while training; the adapted singular values are exactly |σᵢ + δᵢ| (DESIGN.md §1).
 *
 * Shared by SiVA (the k smallest) and top-k (the k largest); each method only picks the band.
 */
export function singularBandAdapter(weights: TargetWeights, svd: Decomposition, band: [number, number]): Adapter {
  const { target } = weights
  const { outFeatures: m, inFeatures: n } = target
  const [start, end] = band
  const k = end - start
  const { ub, vtb } = bandVectorsOf(svd, m, n, band, `the SVD of ${target.name}`)
  // U_bᵀ as [k, out] and V_b as [in, k], float32 for the forward pass.
  const ubT = new Float32Array(k * m)
  const vb = new Float32Array(n * k)
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < m; i++) ubT[j * m + i] = ub[i * k + j]!
    for (let i = 0; i < n; i++) vb[i * k + j] = vtb[j * n + i]!
  }
  const weightT = tf.tensor2d(transposeToFloat32(weights.weight, m, n), [n, m])
  const bias = weights.bias ? tf.tensor1d(Float32Array.from(weights.bias)) : undefined
  const ubTensor = tf.tensor2d(ubT, [k, m])
  const vbTensor = tf.tensor2d(vb, [n, k])
  // Unnamed: tfjs names must be unique process-wide, and two runs may adapt the same target.
  const delta = tf.tidy(() => tf.variable(tf.zeros([k]), true))
  // A copy of δ's current values, read asynchronously (types.ts says why): the caller may keep it.
  const readDelta = async (): Promise<Float32Array> => Float32Array.from(await delta.data())

  const linear = (x: tf.Tensor2D): tf.Tensor2D => {
    const base = matMul(x, weightT)
    const update = matMul(tf.mul(matMul(x, vbTensor), delta), ubTensor)
    const y = tf.add(base, update) as tf.Tensor2D
    return bias ? tf.add(y, bias) : y
  }

  return {
    target,
    linear,
    variables: [delta],
    trainableParameters: k,
    lowRank: async () => bandFactors(ub, vtb, await readDelta()),
    deltaWeight: async () => lowRankProduct(bandFactors(ub, vtb, await readDelta()), m, n),
    stored: async () => ({
      settings: { k, band },
      tensors: [
        { name: 'delta', shape: [k], values: await readDelta() },
        { name: 'u_b', shape: [m, k], values: ub, derived: true },
        { name: 'vt_b', shape: [k, n], values: vtb.slice(), derived: true }
      ]
    }),
    spectrum: {
      before: svd.s,
      band,
      now: async () => {
        const d = await readDelta()
        const s = Float64Array.from(svd.s)
        for (let j = 0; j < k; j++) s[start + j] = Math.abs(svd.s[start + j]! + d[j]!)
        return s.sort().reverse()
      }
    },
    dispose: () => {
      weightT.dispose()
      bias?.dispose()
      ubTensor.dispose()
      vbTensor.dispose()
      delta.dispose()
    }
  }
}

/** B = U_b diag(δ) [out, k], A = V_bᵀ [k, in]. */
function bandFactors(ub: Float64Array, vtb: Float64Array, delta: ArrayLike<number>): LowRank {
  const k = delta.length
  const b = new Float64Array(ub.length)
  for (let i = 0; i < b.length; i++) b[i] = ub[i]! * delta[i % k]!
  return { rank: k, b, a: Float64Array.from(vtb) }
}

/**
 * ΔW's factors from a stored band (SiVA, top-k): δ, and U_b and V_bᵀ as stored or, for a compact adapter,
 * from a fresh SVD of the base weight cut to the stored band.
 */
export async function restoreBand(stored: StoredParameters, weights: TargetWeights, decompose: Decompose): Promise<LowRank> {
  const { name, outFeatures: m, inFeatures: n } = weights.target
  const band = stored.settings.band
  if (!band) throw new Error(`${name}: the adapter does not say which singular values it trained (no band)`)
  const [start, end] = band
  const k = end - start
  const delta = storedTensor(stored, 'delta', name)
  if (delta.length !== k) throw new Error(`${name}: the adapter's delta holds ${delta.length} values for a band of ${k}`)
  const hasVectors = stored.tensors.some((t) => t.name === 'u_b')
  if (hasVectors) {
    const ub = storedTensor(stored, 'u_b', name)
    const vtb = storedTensor(stored, 'vt_b', name)
    if (ub.length !== m * k || vtb.length !== k * n) throw new Error(`${name}: the adapter's singular vectors do not fit a ${m}×${n} weight with k = ${k}`)
    return bandFactors(Float64Array.from(ub), Float64Array.from(vtb), delta)
  }
  const r = Math.min(m, n)
  if (end > r) throw new Error(`${name}: the adapter's band [${start}, ${end}) does not fit the base's ${r} singular values`)
  const { ub, vtb } = bandVectorsOf(await decompose(weights, [start, end]), m, n, [start, end], `the SVD of ${name}`)
  return bandFactors(ub, vtb, delta)
}

/** W [out, in] float64 → Wᵀ [in, out] float32, the layout x Wᵀ multiplies with. */
export function transposeToFloat32(w: Float64Array, m: number, n: number): Float32Array {
  const out = new Float32Array(m * n)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = w[i * n + j]!
  return out
}

/** k from perc or k: the method catalogue's rule (shared/methods.ts), the one place it is written. */
export { bandSize } from '../../../shared/methods'
