import * as tf from '@tensorflow/tfjs'
import { matMul, plainLinear } from '../ops'
import type { AdaptableLinear, LinearFn } from '../types'
import { CheckpointWeights } from '../weights'

/**
 * GPT-2's weights (see CheckpointWeights). With `trainAll`, Conv1D stays [in, out] and c_attn stays fused,
 * as exported.
 */
export class Gpt2Weights extends CheckpointWeights {
  /** Fused c_attn variables (trainAll), shared by the q, k and v linears cut from them. */
  private readonly fused = new Map<string, { weight: tf.Tensor2D; bias: tf.Tensor1D }>()
  private lastFused?: { name: string; weight: Float32Array; bias: Float32Array }

  /**
   * y = x Wᵀ + b for a Conv1D target. Conv1D stores Wᵀ ([in, out]) already, the layout the matmul wants.
   * Frozen, a fused c_attn is cut into its q, k and v blocks once; with trainAll the fused variable is
   * kept whole (that is what is exported) and each linear slices its columns as it runs.
   */
  async linear(target: AdaptableLinear): Promise<LinearFn> {
    const { weightTensor, biasTensor, inFeatures, outFeatures, name } = target
    if (!biasTensor) throw new Error(`${name}: a GPT-2 Conv1D always has a bias`)
    if (!target.slice) {
      const weight = (await this.read(weightTensor, [inFeatures, outFeatures], name)) as tf.Tensor2D
      return plainLinear(weight, (await this.read(biasTensor, [outFeatures], name)) as tf.Tensor1D)
    }
    const [start, end] = target.slice
    if (end - start !== outFeatures) throw new Error(`${name}: slice [${start}, ${end}) does not hold ${outFeatures} outputs`)
    const total = this.shapeOf(weightTensor)?.[1] ?? end
    if (this.trainAll) {
      const fused = await this.fusedVariables(weightTensor, biasTensor, inFeatures, total, name)
      return (x) => tf.add(matMul(x, fused.weight.slice([0, start], [inFeatures, outFeatures])), fused.bias.slice([start], [outFeatures])) as tf.Tensor2D
    }
    const { weight, bias } = await this.fusedValues(weightTensor, biasTensor, inFeatures, total, name)
    const block = new Float32Array(inFeatures * outFeatures)
    for (let i = 0; i < inFeatures; i++) block.set(weight.subarray(i * total + start, i * total + end), i * outFeatures)
    const weightT = this.keep(tf.tensor2d(block, [inFeatures, outFeatures]))
    return plainLinear(weightT, this.keep(tf.tensor1d(bias.slice(start, end))))
  }

  /** q, k and v are read one after another: the fused tensor is read once for the three. */
  private async fusedValues(weightTensor: string, biasTensor: string, inFeatures: number, total: number, purpose: string): Promise<{ weight: Float32Array; bias: Float32Array }> {
    if (this.lastFused?.name !== weightTensor) {
      const weight = await this.values(weightTensor, [inFeatures, total], purpose)
      const bias = await this.values(biasTensor, [total], purpose)
      this.lastFused = { name: weightTensor, weight, bias }
    }
    return this.lastFused
  }

  private async fusedVariables(weightTensor: string, biasTensor: string, inFeatures: number, total: number, purpose: string): Promise<{ weight: tf.Tensor2D; bias: tf.Tensor1D }> {
    const known = this.fused.get(weightTensor)
    if (known) return known
    const weight = (await this.read(weightTensor, [inFeatures, total], purpose)) as tf.Tensor2D
    const bias = (await this.read(biasTensor, [total], purpose)) as tf.Tensor1D
    const fused = { weight, bias }
    this.fused.set(weightTensor, fused)
    return fused
  }

  override dispose(): void {
    super.dispose()
    this.fused.clear()
    this.lastFused = undefined
  }

  /** Loading is over: drop the values kept for the next q/k/v read. */
  loaded(): void {
    this.lastFused = undefined
  }
}
