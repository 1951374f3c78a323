import * as tf from '@tensorflow/tfjs'
import type { DecoderSettings } from './settings'

/**
 * Rotary position embeddings as transformers 4.44 computes them for Llama, Mistral and Qwen2, in float32
 * step for step: the inverse frequencies 1 / θ^(2i/d) (then the rope_scaling kind's change), the angle
 * position · frequency as one float32 product, cos and sin of it. Each JS step is rounded to float32 with
 * Math.fround where torch rounds, so the tables match torch's to the last bit or so even at long positions
 * (an angle computed in float64 would differ from torch's by up to position × 2⁻²⁴ radians).
 */
const f = Math.fround

/** The head_dim / 2 inverse frequencies, after rope_scaling. */
export function inverseFrequencies(settings: Pick<DecoderSettings, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float32Array {
  const dim = settings.headDim
  const base = f(settings.ropeTheta)
  const inv = new Float32Array(dim / 2)
  for (let i = 0; i < dim / 2; i++) inv[i] = f(1 / f(Math.pow(base, f((2 * i) / dim))))
  const scaling = settings.ropeScaling
  if (scaling.type === 'linear') {
    for (let i = 0; i < inv.length; i++) inv[i] = f(inv[i]! / f(scaling.factor))
  } else if (scaling.type === 'llama3') {
    const factor = f(scaling.factor)
    const low = f(scaling.lowFreqFactor)
    const high = f(scaling.highFreqFactor)
    const old = f(scaling.originalMaxPositions)
    const lowWavelength = f(scaling.originalMaxPositions / scaling.lowFreqFactor)
    const highWavelength = f(scaling.originalMaxPositions / scaling.highFreqFactor)
    for (let i = 0; i < inv.length; i++) {
      const freq = inv[i]!
      const wavelength = f(f(2 * Math.PI) / freq)
      const scaled = wavelength > lowWavelength ? f(freq / factor) : freq
      const smooth = f(f(f(old / wavelength) - low) / f(high - low))
      const smoothed = f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled))
      const medium = !(wavelength < highWavelength) && !(wavelength > lowWavelength)
      inv[i] = medium ? smoothed : scaled
    }
  }
  return inv
}

/**
 * cos and sin tables [length, head_dim] for positions start..start+length−1 (both halves hold the same angles,
 * as torch.cat((freqs, freqs))). `start` is where cached decoding continues: the angle is still one float32
 * product of the absolute position, as transformers takes it from cache_position.
 */
export function rotaryTables(inv: Float32Array, length: number, start = 0): { cos: Float32Array; sin: Float32Array } {
  const half = inv.length
  const dim = 2 * half
  const cos = new Float32Array(length * dim)
  const sin = new Float32Array(length * dim)
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f((start + p) * inv[i]!)
      const c = Math.cos(angle)
      const s = Math.sin(angle)
      cos[p * dim + i] = c
      cos[p * dim + half + i] = c
      sin[p * dim + i] = s
      sin[p * dim + half + i] = s
    }
  }
  return { cos, sin }
}

/**
 * The rotation, for any sequence length. The tables are kept as arrays per length (a few lengths occur in a
 * run: the batches' padded lengths) and made into tensors [length, 1, head_dim] in each pass, inside the
 * caller's tidy or gradient, so the model holds no tensor of its own here.
 */
export class RotaryEmbedding {
  private readonly inv: Float32Array
  private readonly tables = new Map<number, { cos: Float32Array; sin: Float32Array }>()
  private static readonly cacheLimit = 16

  constructor(settings: Pick<DecoderSettings, 'headDim' | 'ropeTheta' | 'ropeScaling'>) {
    this.inv = inverseFrequencies(settings)
  }

  private table(length: number, start: number): { cos: tf.Tensor3D; sin: tf.Tensor3D } {
    // Cached decoding asks for one new position at a time: those tables are tiny and never asked for twice.
    let found = start === 0 ? this.tables.get(length) : rotaryTables(this.inv, length, start)
    if (!found) {
      if (this.tables.size >= RotaryEmbedding.cacheLimit) this.tables.clear()
      found = rotaryTables(this.inv, length)
      this.tables.set(length, found)
    }
    const dim = 2 * this.inv.length
    return { cos: tf.tensor3d(found.cos, [length, 1, dim]), sin: tf.tensor3d(found.sin, [length, 1, dim]) }
  }

  /**
   * x [batch, length, heads·head_dim] rotated: x·cos + rotate_half(x)·sin per head, where rotate_half(x) is
   * (−x₂, x₁) for the halves x₁, x₂ of each head (transformers' apply_rotary_pos_emb). The rows are at
   * positions start, start + 1, … (start > 0 when decoding continues from a key/value cache).
   */
  apply(x: tf.Tensor3D, heads: number, start = 0): tf.Tensor3D {
    const [batch, length, width] = x.shape
    const dim = width / heads
    const half = dim / 2
    const { cos, sin } = this.table(length, start)
    const perHead = x.reshape([batch, length, heads, dim]) as tf.Tensor4D
    const first = tf.slice(perHead, [0, 0, 0, 0], [batch, length, heads, half])
    const second = tf.slice(perHead, [0, 0, 0, half], [batch, length, heads, half])
    const rotated = tf.concat([tf.neg(second), first], 3)
    return tf.add(tf.mul(perHead, cos), tf.mul(rotated, sin)).reshape([batch, length, width]) as tf.Tensor3D
  }
}
