import * as tf from '@tensorflow/tfjs'
import { matMul } from '../../../models/ops'
import { transposeToFloat32 } from '../../singularBand'
import type { PeftMethod } from '../../types'

/**
 * LoRA (Hu et al. 2021) as PEFT sets it up: ΔW = (alpha / r) · B A with A [r, in] drawn uniform in
 * ±1/√in (kaiming_uniform with a = √5, PEFT's default) and B [out, r] = 0, so training starts at W.
 */
export const lora: PeftMethod = {
  name: 'lora',
  kind: 'adapter',
  needsSvd: false,
  async adapt(weights, options) {
    const { target } = weights
    const { outFeatures: m, inFeatures: n } = target
    const rank = options.rank ?? 8
    if (!(Number.isInteger(rank) && rank >= 1)) throw new RangeError(`LoRA rank must be a positive integer, got ${rank}`)
    const scaling = (options.alpha ?? rank) / rank
    const bound = 1 / Math.sqrt(n)
    const a = new Float32Array(n * rank) // Aᵀ, [in, r]
    let state = (options.seed ^ hash(target.name)) >>> 0 || 1
    for (let i = 0; i < a.length; i++) {
      state ^= state << 13
      state >>>= 0
      state ^= state >>> 17
      state ^= state << 5
      state >>>= 0
      a[i] = ((state + 0.5) / 4294967296) * 2 * bound - bound
    }
    const weightT = tf.tensor2d(transposeToFloat32(weights.weight, m, n), [n, m])
    const bias = weights.bias ? tf.tensor1d(Float32Array.from(weights.bias)) : undefined
    const aT = tf.tidy(() => tf.variable(tf.tensor2d(a, [n, rank]), true))
    const bT = tf.tidy(() => tf.variable(tf.zeros([rank, m]), true))
    return {
      target,
      variables: [aT, bT],
      trainableParameters: rank * (m + n),
      linear: (x) => {
        const y = tf.add(matMul(x, weightT), tf.mul(matMul(matMul(x, aT), bT), scaling)) as tf.Tensor2D
        return bias ? tf.add(y, bias) : y
      },
      deltaWeight: () => {
        const av = aT.dataSync()
        const bv = bT.dataSync()
        const out = new Float64Array(m * n)
        // ΔW[i, c] = scaling · Σ_j B[i, j] A[j, c] = scaling · Σ_j bT[j, i] aT[c, j]
        for (let i = 0; i < m; i++) for (let c = 0; c < n; c++) {
          let sum = 0
          for (let j = 0; j < rank; j++) sum += bv[j * m + i]! * av[c * rank + j]!
          out[i * n + c] = scaling * sum
        }
        return out
      },
      dispose: () => {
        for (const t of [weightT, aT, bT]) t.dispose()
        bias?.dispose()
      }
    }
  }
}

/** FNV-1a of a name, so each target draws its own A from the one seed. */
function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h
}
