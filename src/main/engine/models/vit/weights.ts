import * as tf from '@tensorflow/tfjs'
import type { TensorSource } from '../../io'
import { matMul, plainLinear, readFloat32 } from '../ops'
import type { LinearFn } from '../types'

/**
 * Reads a ViT's weights out of a checkpoint and owns every tensor it makes, so a failed build or
 * `dispose()` frees them all. Frozen weights are plain tensors laid out once for the forward pass; with
 * `trainAll` each is a variable in the checkpoint's own layout and shape (the patch kernel stays
 * [hidden, channels, p, p]), listed with its tensor name so full fine-tuning exports name for name.
 */
export class VitWeights {
  readonly baseVariables: tf.Variable[] = []
  readonly baseTensors: string[] = []
  private readonly owned: tf.Tensor[] = []
  private readonly shapes: ReadonlyMap<string, readonly number[]>

  constructor(
    readonly source: TensorSource,
    readonly trainAll: boolean
  ) {
    this.shapes = new Map(source.tensors.map((t) => [t.name, t.shape]))
  }

  shapeOf(name: string): readonly number[] | undefined {
    return this.shapes.get(name)
  }

  /** Whether the checkpoint holds `name` with exactly this shape. */
  fits(name: string, shape: readonly number[]): boolean {
    const found = this.shapes.get(name)
    return found !== undefined && sameShape(found, shape)
  }

  /** A tensor of the expected shape: frozen, or with trainAll a variable. */
  async tensor(name: string, shape: readonly number[], purpose: string): Promise<tf.Tensor> {
    const values = await this.values(name, shape, purpose)
    if (!this.trainAll) return this.keep(tf.tensor(values, [...shape], 'float32'))
    const variable = variableOf(values, shape)
    this.baseVariables.push(variable)
    this.baseTensors.push(name)
    return this.keep(variable)
  }

  /**
   * y = x Wᵀ + b for a weight stored as `storedShape` whose leading axis is the output ([out, in] for
   * nn.Linear; [out, channels, p, p] for the patch kernel, which is then an [out, channels·p·p] matrix).
   * Frozen, Wᵀ is laid out once; with trainAll, W keeps its stored shape and is reshaped in the pass.
   */
  async linear(weightName: string, biasName: string | undefined, storedShape: readonly number[], purpose: string): Promise<LinearFn> {
    const outFeatures = storedShape[0]!
    const inFeatures = storedShape.slice(1).reduce((a, b) => a * b, 1)
    const bias = biasName === undefined ? undefined : ((await this.tensor(biasName, [outFeatures], purpose)) as tf.Tensor1D)
    if (this.trainAll) {
      const weight = await this.tensor(weightName, storedShape, purpose)
      return (x) => {
        const y = matMul(x, tf.transpose(weight.reshape([outFeatures, inFeatures])))
        return (bias ? tf.add(y, bias) : y) as tf.Tensor2D
      }
    }
    const values = await this.values(weightName, storedShape, purpose)
    const weightT = this.keep(tf.tidy(() => tf.transpose(tf.tensor2d(values, [outFeatures, inFeatures]))))
    return plainLinear(weightT as tf.Tensor2D, bias)
  }

  /** A tensor's values, after checking it is there with the expected shape. */
  private async values(name: string, shape: readonly number[], purpose: string): Promise<Float32Array> {
    const found = this.shapes.get(name)
    if (!found) throw new Error(`${this.source.source}: no tensor ${name} (needed for ${purpose})`)
    if (!sameShape(found, shape)) {
      throw new Error(`${this.source.source}: tensor ${name} has shape [${found.join(', ')}], expected [${shape.join(', ')}] (${purpose})`)
    }
    return readFloat32(this.source, name)
  }

  private keep<T extends tf.Tensor>(tensor: T): T {
    this.owned.push(tensor)
    return tensor
  }

  dispose(): void {
    for (const tensor of this.owned) tensor.dispose()
    this.owned.length = 0
    this.baseVariables.length = 0
    this.baseTensors.length = 0
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i])
}

/** A trainable variable holding `values`; the tensor it starts from is freed at once. */
export function variableOf(values: Float32Array, shape: readonly number[]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, [...shape], 'float32'), true))
}
