import * as tf from '@tensorflow/tfjs'
import { matMul, plainLinear } from '../ops'
import type { LinearFn } from '../types'
import { CheckpointWeights } from '../weights'

/**
 * A ViT's weights (see CheckpointWeights). With `trainAll`, each keeps the checkpoint's shape (the patch
 * kernel stays [hidden, channels, p, p]).
 */
export class VitWeights extends CheckpointWeights {
  /**
   * y = x Wᵀ + b for a weight stored as `storedShape` whose leading axis is the output ([out, in] for
   * nn.Linear; [out, channels, p, p] for the patch kernel, which is then an [out, channels·p·p] matrix).
   * Frozen, Wᵀ is laid out once; with trainAll, W keeps its stored shape and is reshaped in the pass.
   */
  async linear(weightName: string, biasName: string | undefined, storedShape: readonly number[], purpose: string): Promise<LinearFn> {
    const outFeatures = storedShape[0]!
    const inFeatures = storedShape.slice(1).reduce((a, b) => a * b, 1)
    const bias = biasName === undefined ? undefined : ((await this.read(biasName, [outFeatures], purpose)) as tf.Tensor1D)
    if (this.trainAll) {
      const weight = await this.read(weightName, storedShape, purpose)
      return (x) => {
        const y = matMul(x, tf.transpose(weight.reshape([outFeatures, inFeatures])))
        return (bias ? tf.add(y, bias) : y) as tf.Tensor2D
      }
    }
    const values = await this.values(weightName, storedShape, purpose)
    const weightT = this.keep(tf.tidy(() => tf.transpose(tf.tensor2d(values, [outFeatures, inFeatures]))))
    return plainLinear(weightT as tf.Tensor2D, bias)
  }
}
