import * as tf from '@tensorflow/tfjs'
import type { TensorSource } from '../../io'
import { matMul, plainLinear, readFloat32 } from '../ops'
import type { AdaptableLinear, LinearFn } from '../types'

/**
 * Reads GPT-2's weights out of a checkpoint and owns every tensor it makes, so a failed build or
 * `dispose()` frees them all. Frozen weights are plain tensors; with `trainAll` every weight is a variable
 * in the checkpoint's own layout (Conv1D stays [in, out], c_attn stays fused), listed with its tensor name
 * so full fine-tuning exports name for name.
 */
export class Gpt2Weights {
  readonly baseVariables: tf.Variable[] = []
  readonly baseTensors: string[] = []
  private readonly owned: tf.Tensor[] = []
  private readonly shapes: ReadonlyMap<string, readonly number[]>
  /** Fused c_attn variables (trainAll), shared by the q, k and v linears cut from them. */
  private readonly fused = new Map<string, { weight: tf.Tensor2D; bias: tf.Tensor1D }>()
  private lastFused?: { name: string; weight: Float32Array; bias: Float32Array }

  constructor(
    readonly source: TensorSource,
    readonly trainAll: boolean
  ) {
    this.shapes = new Map(source.tensors.map((t) => [t.name, t.shape]))
  }

  shapeOf(name: string): readonly number[] | undefined {
    return this.shapes.get(name)
  }

  /** A tensor's values, after checking it is there with the expected shape. */
  async values(name: string, shape: readonly number[], purpose: string): Promise<Float32Array> {
    const found = this.shapeOf(name)
    if (!found) throw new Error(`${this.source.source}: no tensor ${name} (needed for ${purpose})`)
    if (found.length !== shape.length || found.some((size, i) => size !== shape[i])) {
      throw new Error(`${this.source.source}: tensor ${name} has shape [${found.join(', ')}], expected [${shape.join(', ')}] (${purpose})`)
    }
    return readFloat32(this.source, name)
  }

  /** A base weight: frozen, or (with trainAll) a variable exported as `name`. */
  async read(name: string, shape: readonly number[], purpose: string): Promise<tf.Tensor> {
    return this.base(await this.values(name, shape, purpose), shape, name)
  }

  private base(values: Float32Array, shape: readonly number[], name: string): tf.Tensor {
    if (!this.trainAll) return this.keep(tf.tensor(values, [...shape], 'float32'))
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, [...shape], 'float32'), true))
    this.baseVariables.push(variable)
    this.baseTensors.push(name)
    return this.keep(variable)
  }

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

  /** A tensor this loader frees with the model (a head's variables are the model's to free, not this). */
  keep<T extends tf.Tensor>(tensor: T): T {
    this.owned.push(tensor)
    return tensor
  }

  dispose(): void {
    for (const tensor of this.owned) tensor.dispose()
    this.owned.length = 0
    this.fused.clear()
    this.lastFused = undefined
  }

  /** Loading is over: drop the values kept for the next q/k/v read. */
  loaded(): void {
    this.lastFused = undefined
  }
}
