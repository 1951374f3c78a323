import * as tf from '@tensorflow/tfjs'
import { matMul } from '../../../models/ops'
import { transposeToFloat32 } from '../../singularBand'
import { lowRankProduct, storedTensor } from '../../lowRank'
import type { AdapterMethod, LowRank } from '../../types'
import { loraRank, methodInfo } from '../../../../../shared/methods'

const info = methodInfo('lora')

/**
 * LoRA (Hu et al. 2021) as PEFT sets it up: ΔW = (alpha / r) · B A with A [r, in] drawn uniform in
 * ±1/√in (kaiming_uniform with a = √5, PEFT's default) and B [out, r] = 0, so training starts at W.
 */
export const lora: AdapterMethod = {
  name: info.name,
  kind: 'adapter',
  needsSvd: info.spectral,
  async adapt(weights, options) {
    const { target } = weights
    const { outFeatures: m, inFeatures: n } = target
    const rank = loraRank(options)
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
    // PEFT's lora_A and lora_B from the variables' current values, both read at once and asynchronously
    // (WebGPU in Node has no synchronous read; on a GPU one wait beats two).
    const readFactors = async (): Promise<{ a: Float32Array; b: Float32Array }> => {
      const [aValues, bValues] = await Promise.all([aT.data(), bT.data()])
      return { a: peftA(aValues, n, rank), b: peftB(bValues, rank, m) }
    }
    const lowRank = async (): Promise<LowRank> => {
      const factors = await readFactors()
      return loraFactors(factors.a, factors.b, rank, scaling)
    }
    return {
      target,
      variables: [aT, bT],
      trainableParameters: rank * (m + n),
      linear: (x) => {
        const y = tf.add(matMul(x, weightT), tf.mul(matMul(matMul(x, aT), bT), scaling)) as tf.Tensor2D
        return bias ? tf.add(y, bias) : y
      },
      lowRank,
      deltaWeight: async () => lowRankProduct(await lowRank(), m, n),
      stored: async () => {
        const factors = await readFactors()
        return {
          settings: { rank, alpha: options.alpha ?? rank },
          tensors: [
            { name: 'lora_A', shape: [rank, n], values: factors.a },
            { name: 'lora_B', shape: [m, rank], values: factors.b }
          ]
        }
      },
      dispose: () => {
        for (const t of [weightT, aT, bT]) t.dispose()
        bias?.dispose()
      }
    }
  },
  async restore(stored, weights) {
    const { name, outFeatures: m, inFeatures: n } = weights.target
    const rank = stored.settings.rank
    if (rank === undefined) throw new Error(`${name}: the adapter does not give the LoRA rank`)
    const a = storedTensor(stored, 'lora_A', name)
    const b = storedTensor(stored, 'lora_B', name)
    if (a.length !== rank * n || b.length !== m * rank) throw new Error(`${name}: the adapter's LoRA factors do not fit a ${m}×${n} weight at rank ${rank}`)
    return loraFactors(Float32Array.from(a), Float32Array.from(b), rank, (stored.settings.alpha ?? rank) / rank)
  }
}

/** PEFT's lora_A [r, in] from our Aᵀ [in, r]. */
function peftA(aT: ArrayLike<number>, n: number, rank: number): Float32Array {
  const out = new Float32Array(rank * n)
  for (let c = 0; c < n; c++) for (let j = 0; j < rank; j++) out[j * n + c] = aT[c * rank + j]!
  return out
}

/** PEFT's lora_B [out, r] from our Bᵀ [r, out]. */
function peftB(bT: ArrayLike<number>, rank: number, m: number): Float32Array {
  const out = new Float32Array(m * rank)
  for (let j = 0; j < rank; j++) for (let i = 0; i < m; i++) out[i * rank + j] = bT[j * m + i]!
  return out
}

/** ΔW = (alpha / r)·B·A as factors, the scaling folded into B. */
function loraFactors(a: Float32Array, b: Float32Array, rank: number, scaling: number): LowRank {
  return { rank, b: Float64Array.from(b, (v) => scaling * v), a: Float64Array.from(a) }
}

/** FNV-1a of a name, so each target draws its own A from the one seed. */
function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h
}
